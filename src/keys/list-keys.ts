// `tenantry keys list`: every deploy key in the cluster (the Secrets tenantry labelled),
// plus the admin repo's teams that have none yet, with what the reconciler last fetched.

import type { KubeAccess } from "../cluster/access.js";
import { FLUX_NAMESPACE } from "../model/constants.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import { readGitSync } from "./key-usage.js";
import { parsePublicKey, publicKeyOf } from "../model/ssh-key.js";
import { ANNOTATION, type KeySecret, KeyStore } from "./secret.js";
import { ADMIN_LABEL, keyTarget } from "./target.js";

export interface KeyRow {
  readonly team: string;
  readonly secret: string;
  readonly fingerprint: string | null;
  readonly created: string | null;
  /** `github:acme/team1`, `ssh:/…/authorized_keys`, or null. */
  readonly registered: string | null;
  /** Set while a rotation waits for the reconciler: the key being replaced. */
  readonly rotatingFrom: string | null;
  readonly lastFetch: {
    /** The revision of the last successful fetch. */
    readonly revision: string | null;
    /** The key it used. */
    readonly keyFingerprint: string | null;
    readonly ready: string | null;
  } | null;
}

function fingerprintOf(s: KeySecret): string | null {
  if (s.identity === undefined) return null;
  try {
    return parsePublicKey(s.identityPub ?? publicKeyOf(s.identity))?.fingerprint ?? null;
  } catch {
    return null;
  }
}

/** Rows for every deploy-key Secret, and for `teams` (from the admin repo) without one. */
export async function listKeys(kc: KubeAccess, teams: readonly string[] = []): Promise<KeyRow[]> {
  const store = new KeyStore(kc);
  const secrets = await store.list();
  const byLabel = new Map<string, KeySecret>();
  // The teams whose key lives in tenantry-system: those on their own control plane.
  const remote = new Set<string>();
  for (const s of secrets) {
    const admin = (s.namespace === SYSTEM_NAMESPACE && s.name === "admin-deploy-key") || (s.namespace === FLUX_NAMESPACE && s.name === FLUX_NAMESPACE);
    const controlPlaneTeam = !admin && s.namespace === SYSTEM_NAMESPACE ? /^(.+)-deploy-key$/.exec(s.name)?.[1] : undefined;
    if (controlPlaneTeam !== undefined) remote.add(controlPlaneTeam);
    const label = admin ? ADMIN_LABEL : (controlPlaneTeam ?? (s.name === `${s.namespace}-deploy-key` ? s.namespace : null));
    if (label !== null) byLabel.set(label, s.secret);
  }
  const labels = [...new Set([...byLabel.keys(), ...teams])].sort((a, b) => (a === ADMIN_LABEL ? -1 : b === ADMIN_LABEL ? 1 : a.localeCompare(b)));
  const rows: KeyRow[] = [];
  for (const label of labels) {
    const target = keyTarget(label === ADMIN_LABEL ? null : label, undefined, remote.has(label) ? "controlplane" : undefined);
    const s = byLabel.get(label);
    const gs = await readGitSync(kc, target);
    const ready = gs?.status?.conditions?.find((c) => c.type === "Ready");
    const a = s?.annotations ?? {};
    rows.push({
      team: label,
      secret: `${target.namespace}/${target.secretName}`,
      fingerprint: s === undefined ? null : fingerprintOf(s),
      created: a[ANNOTATION.created] ?? null,
      registered: a[ANNOTATION.registered] === "" ? null : (a[ANNOTATION.registered] ?? null),
      rotatingFrom: a[ANNOTATION.rotatingFrom] ?? null,
      lastFetch:
        gs === null
          ? null
          : { revision: gs.status?.lastAttemptedRevision ?? null, keyFingerprint: gs.status?.keyFingerprint ?? null, ready: ready === undefined ? null : `${ready.status} ${ready.reason}` },
    });
  }
  return rows;
}

/** The LAST FETCH cell: the revision, and whether it was fetched with the current key. */
export function lastFetchCell(r: KeyRow): string {
  if (r.lastFetch === null) return "no GitSync";
  const { revision, keyFingerprint } = r.lastFetch;
  if (revision === null) return "never";
  const rev = revision.replace(/sha1:([0-9a-f]{7})[0-9a-f]+$/, "$1");
  if (keyFingerprint === null) return `${rev} (no key)`;
  if (keyFingerprint === r.fingerprint) return `${rev} (this key)`;
  if (keyFingerprint === r.rotatingFrom) return `${rev} (previous key)`;
  return `${rev} (other key ${keyFingerprint})`;
}
