// What the reconciler reports about a deploy key: the GitSync that reads with it, and
// whether its last successful fetch used a given key (status.keyFingerprint).

import type { KubeAccess } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal } from "../cluster/api-errors.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync } from "../model/gitsync.js";
import { clusterError } from "./secret.js";
import type { KeyTarget } from "./target.js";

export async function readGitSync(kc: KubeAccess, target: KeyTarget): Promise<GitSync | null> {
  const { namespace, name } = target.gitSync;
  try {
    return (await RestClient.forConfig(kc).readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name, namespace } })) as GitSync;
  } catch (e) {
    if (apiRefusal(e)?.code === 404) return null;
    throw clusterError(e, kc, `read GitSync ${namespace}/${name}`);
  }
}

/** `Ready=False: GitOperationFailed: …`, for messages. */
export function readySummary(gs: GitSync | null): string {
  if (gs === null) return "the GitSync does not exist";
  const ready = gs.status?.conditions?.find((c) => c.type === "Ready");
  return ready === undefined ? "not reconciled yet" : `Ready=${ready.status}: ${ready.reason}: ${ready.message}`;
}

/** Polls until the GitSync reports a successful fetch with `fingerprint`; the last GitSync seen otherwise. */
export async function waitForFetchWith(kc: KubeAccess, target: KeyTarget, fingerprint: string, timeoutMs: number, pollMs = 1000): Promise<{ ok: boolean; gs: GitSync | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gs = await readGitSync(kc, target);
    if (gs?.status?.keyFingerprint === fingerprint) return { ok: true, gs };
    if (Date.now() >= deadline) return { ok: false, gs };
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
  }
}
