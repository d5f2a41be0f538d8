// The deploy-key Secret: the only place a private key is ever stored. Keys `identity`
// (OpenSSH private key), `identity.pub` and `known_hosts` (what sync/source.ts reads), and
// annotations recording the key's fingerprint, when it was made and where it is registered.
// Writes are optimistic (replace with the resourceVersion read), so two runs cannot
// silently overwrite each other.

import type { KubeAccess } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal, unreachable } from "../cluster/api-errors.js";
import { ExitCode, TenantryError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import type { KeyTarget } from "./target.js";
import { MANAGED_BY_LABEL, TEAM_LABEL } from "../model/labels.js";

export const ANNOTATION = {
  fingerprint: "tenantry.dev/fingerprint",
  created: "tenantry.dev/created",
  /** `<host>:<repo>` (github, gitlab, gitea) or `ssh:<authorized_keys file>`; empty when not registered. */
  registered: "tenantry.dev/registered",
  /** The API URL of the registration, when not the host's default. */
  apiUrl: "tenantry.dev/registered-api-url",
  /** The repo path of an `ssh` registration. */
  repoPath: "tenantry.dev/registered-repo-path",
  /** Set while a rotation waits for the reconciler: the key being replaced. */
  rotatingFrom: "tenantry.dev/rotating-from",
} as const;

export const DEPLOY_KEY_LABEL = "tenantry.dev/deploy-key";

export interface KeySecret {
  readonly identity?: string | undefined;
  readonly identityPub?: string | undefined;
  readonly knownHosts?: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
  /** Set when read from the cluster: the write replaces exactly this version. */
  readonly resourceVersion?: string | undefined;
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

const decode = (v: string | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8"));
const encode = (v: string): string => Buffer.from(v, "utf8").toString("base64");

/** Pure: the Secret object for `content`. */
export function secretObject(target: KeyTarget, content: KeySecret): KubeObject {
  const data: Record<string, string> = {};
  if (content.identity !== undefined) data.identity = encode(content.identity);
  if (content.identityPub !== undefined) data["identity.pub"] = encode(content.identityPub);
  if (content.knownHosts !== undefined) data.known_hosts = encode(content.knownHosts);
  const o: SecretObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: target.secretName,
      namespace: target.namespace,
      labels: {
        [MANAGED_BY_LABEL]: "tenantry",
        [DEPLOY_KEY_LABEL]: "true",
        ...(target.team === null ? {} : { [TEAM_LABEL]: target.team }),
      },
      annotations: { ...content.annotations },
      ...(content.resourceVersion === undefined ? {} : { resourceVersion: content.resourceVersion }),
    },
    type: "Opaque",
    data,
  };
  return o;
}

export function fromSecretObject(o: KubeObject): KeySecret {
  const s = o as SecretObject;
  const data = s.data ?? {};
  return {
    identity: decode(data.identity),
    identityPub: decode(data["identity.pub"]),
    knownHosts: decode(data.known_hosts),
    annotations: s.metadata.annotations ?? {},
    resourceVersion: (s.metadata as { resourceVersion?: string }).resourceVersion,
  };
}

function where(target: KeyTarget): string {
  return `Secret ${target.namespace}/${target.secretName}`;
}

/** Turns an API server error into one line with a fix. */
export function clusterError(e: unknown, kc: KubeAccess, what: string): unknown {
  const server = kc.cluster.server;
  const down = unreachable(e, server);
  if (down !== undefined) return down;
  const r = apiRefusal(e);
  if (r === undefined) return e;
  if (r.code === 401 || r.code === 403) return new TenantryError(`the API server refused to ${what} (${r.code}: ${r.message}): use a kubeconfig allowed to manage Secrets there (--kubeconfig)`, ExitCode.external);
  if (r.code === 409) return new TenantryError(`${what}: it changed while tenantry was writing it (409): run the command again`, ExitCode.external);
  return new TenantryError(`cannot ${what} (${r.code}: ${r.message})`, ExitCode.external);
}

export class KeyStore {
  private readonly client: RestClient;
  constructor(readonly kc: KubeAccess) {
    this.client = RestClient.forConfig(kc);
  }

  async read(target: KeyTarget): Promise<KeySecret | null> {
    try {
      return fromSecretObject(await this.client.readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: target.secretName, namespace: target.namespace } }));
    } catch (e) {
      if (apiRefusal(e)?.code === 404) return null;
      throw clusterError(e, this.kc, `read ${where(target)}`);
    }
  }

  /** Creates the Secret, or replaces the version `content.resourceVersion` names. */
  async write(target: KeyTarget, content: KeySecret): Promise<KeySecret> {
    const o = secretObject(target, content);
    try {
      const written = content.resourceVersion === undefined ? await this.client.createObject(o) : await this.client.replaceObject(o);
      return fromSecretObject(written);
    } catch (e) {
      const r = apiRefusal(e);
      if (r?.code === 404 && content.resourceVersion === undefined) {
        const fix = target.team === null ? "apply cluster/common first" : `sync the admin repo first (tenantry sync --namespace tenantry-system --name admin)`;
        throw new TenantryError(`namespace ${target.namespace} does not exist in the cluster: ${fix}`, ExitCode.external);
      }
      if (r?.code === 409 && content.resourceVersion === undefined) {
        throw new TenantryError(`${where(target)} was created by someone else meanwhile (409): run the command again`, ExitCode.external);
      }
      throw clusterError(e, this.kc, `write ${where(target)}`);
    }
  }

  /** Lists every deploy-key Secret tenantry wrote, in every namespace. */
  async list(): Promise<{ namespace: string; name: string; secret: KeySecret }[]> {
    try {
      const list = await this.client.listObjects("v1", "Secret", undefined, `${DEPLOY_KEY_LABEL}=true`);
      return list.items.map((o) => ({ namespace: o.metadata.namespace ?? "", name: o.metadata.name, secret: fromSecretObject(o) }));
    } catch (e) {
      throw clusterError(e, this.kc, "list the deploy-key Secrets");
    }
  }
}
