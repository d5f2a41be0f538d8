// Secret <team>-sops-age in the team's namespace: the only place a team's age identities are
// stored. Its keys end in `.agekey` (the shape Flux's kustomize-controller reads, so the same
// Secret serves both engines): `age.agekey` first, a rotation adds `age-<n>.agekey`. The
// reconciler reads every such key (sync/reconcile.ts) and hands them to the build service.

import type { KubeAccess } from "../cluster/access.js";
import { apiRefusal } from "../cluster/api-errors.js";
import { RestClient } from "../cluster/rest.js";
import { ExitCode, TenantryError } from "../errors.js";
import { MANAGED_BY_LABEL, SYNC_NAMESPACE_LABEL, TEAM_LABEL } from "../model/labels.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import type { KubeObject } from "../model/object.js";
import { clusterError } from "../keys/secret.js";

export const AGE_KEY_LABEL = "tenantry.dev/sops-age";

/** The Secret's name for `team` (in namespace `team`). */
export const ageSecretName = (team: string): string => `${team}-sops-age`;

/** The first identity's key; later ones are age-2.agekey, age-3.agekey, … */
export const FIRST_AGE_KEY = "age.agekey";

export interface AgeSecret {
  /** Key name → identity text (AGE-SECRET-KEY-1…), in key order. */
  readonly identities: ReadonlyMap<string, string>;
  readonly resourceVersion?: string | undefined;
  /** Read from the cluster: whether it carries tenantry's admin-owned label. */
  readonly labeled?: boolean;
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

/** Pure: the Secret object holding `identities` for `team`. */
export function ageSecretObject(team: string, secret: AgeSecret): KubeObject {
  const o: SecretObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: ageSecretName(team),
      namespace: team,
      // The admin's, like what the admin repo puts in the namespace: tenantry-admin-owned keeps
      // the team's identities from changing or deleting it (they may read it: reencrypt does).
      labels: { [MANAGED_BY_LABEL]: "tenantry", [TEAM_LABEL]: team, [AGE_KEY_LABEL]: "true", [SYNC_NAMESPACE_LABEL]: SYSTEM_NAMESPACE },
      ...(secret.resourceVersion === undefined ? {} : { resourceVersion: secret.resourceVersion }),
    },
    type: "Opaque",
    data: Object.fromEntries([...secret.identities].map(([k, v]) => [k, Buffer.from(`${v.trim()}\n`, "utf8").toString("base64")])),
  };
  return o;
}

/** The identities of a Secret read from the cluster: its keys ending in .agekey, in key order. */
export function fromAgeSecretObject(o: KubeObject): AgeSecret {
  const data = (o as SecretObject).data ?? {};
  const keys = Object.keys(data)
    .filter((k) => k.endsWith(".agekey"))
    .sort(byKeyNumber);
  return {
    identities: new Map(keys.map((k) => [k, Buffer.from(data[k] ?? "", "base64").toString("utf8").trim()])),
    resourceVersion: (o.metadata as { resourceVersion?: string }).resourceVersion,
    labeled: o.metadata.labels?.[SYNC_NAMESPACE_LABEL] === SYSTEM_NAMESPACE && o.metadata.labels[AGE_KEY_LABEL] === "true",
  };
}

/** age.agekey, then age-2.agekey, age-3.agekey, … (numbers compared as numbers), then any other. */
function byKeyNumber(a: string, b: string): number {
  const n = (k: string): number => (k === FIRST_AGE_KEY ? 1 : Number(/^age-(\d+)\.agekey$/.exec(k)?.[1] ?? Number.MAX_SAFE_INTEGER));
  return n(a) - n(b) || a.localeCompare(b);
}

/** The key a new identity goes under: age.agekey for the first, else age-<n+1>.agekey. */
export function nextAgeKey(secret: AgeSecret): string {
  if (secret.identities.size === 0) return FIRST_AGE_KEY;
  let n = secret.identities.size + 1;
  while (secret.identities.has(`age-${String(n)}.agekey`)) n++;
  return `age-${String(n)}.agekey`;
}

/** Reads and writes a team's age Secret; errors are one line naming the Secret and the fix. */
export class AgeSecretStore {
  private readonly client: RestClient;
  constructor(readonly kc: KubeAccess) {
    this.client = RestClient.forConfig(kc);
  }

  async read(team: string): Promise<AgeSecret | null> {
    try {
      return fromAgeSecretObject(await this.client.readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: ageSecretName(team), namespace: team } }));
    } catch (e) {
      if (apiRefusal(e)?.code === 404) return null;
      throw clusterError(e, this.kc, `read Secret ${team}/${ageSecretName(team)}`);
    }
  }

  /** Creates the Secret, or replaces exactly the version `secret.resourceVersion` names. */
  async write(team: string, secret: AgeSecret): Promise<void> {
    const o = ageSecretObject(team, secret);
    const where = `Secret ${team}/${ageSecretName(team)}`;
    try {
      if (secret.resourceVersion === undefined) await this.client.createObject(o);
      else await this.client.replaceObject(o);
    } catch (e) {
      const r = apiRefusal(e);
      if (r?.code === 404 && secret.resourceVersion === undefined) {
        throw new TenantryError(`namespace ${team} does not exist in the cluster: push the admin repo with team ${team} and let it sync first (tenantry sync --namespace tenantry-system --name admin)`, ExitCode.external);
      }
      if (r?.code === 409) throw new TenantryError(`${where} changed while tenantry was writing it (409): run the command again`, ExitCode.external);
      throw clusterError(e, this.kc, `write ${where}`);
    }
  }
}
