// `tenantry sync`: finds the GitSyncs to reconcile, runs each once and records the outcome.

import type { KubeAccess } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal, unreachable } from "../cluster/api-errors.js";
import { ExitCode, TenantryError } from "../errors.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync } from "../model/gitsync.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import { reconcile } from "./reconcile.js";
import { recordOutcome, recordPendingInventory } from "./gitsync-status.js";

export type SyncTarget =
  | { readonly kind: "gitsyncs"; readonly namespace?: string | undefined; readonly name?: string | undefined }
  | { readonly kind: "adhoc"; readonly url: string; readonly branch: string; readonly path: string; readonly team?: string | undefined };

export interface SyncResult {
  readonly id: string;
  readonly ready: boolean;
  readonly reason: string;
  readonly message: string;
}

async function targets(client: RestClient, t: Extract<SyncTarget, { kind: "gitsyncs" }>): Promise<GitSync[]> {
  if (t.name !== undefined && t.namespace !== undefined) {
    try {
      return [(await client.readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: t.name, namespace: t.namespace } })) as GitSync];
    } catch (e) {
      if (apiRefusal(e)?.code === 404) throw new TenantryError(`GitSync ${t.namespace}/${t.name} not found: kubectl get gitsyncs -A lists them`, ExitCode.invalid);
      throw e;
    }
  }
  return (await client.listObjects(GITSYNC_API_VERSION, GITSYNC_KIND, t.namespace)).items as GitSync[];
}

/**
 * The extra namespaces of team `team` (issue 20): what its own GitSync `<team>/<team>` lists, so
 * an ad hoc `--as-team` sync holds the repo to the same namespaces; none when it has no GitSync.
 */
async function teamExtraNamespaces(client: RestClient, team: string): Promise<string[]> {
  try {
    const gs = (await client.readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: team, namespace: team } })) as GitSync;
    return [...(gs.spec.namespaces ?? [])];
  } catch (e) {
    const code = apiRefusal(e)?.code;
    if (code === 404 || code === 403) return []; // none, or not readable: the home namespace only
    throw e;
  }
}

export async function runSync(kc: KubeAccess, target: SyncTarget): Promise<SyncResult[]> {
  const client = RestClient.forConfig(kc);
  const server = kc.cluster.server;
  try {
    if (target.kind === "adhoc") {
      const namespaces = target.team === undefined ? [] : await teamExtraNamespaces(client, target.team);
      const gs: GitSync = {
        apiVersion: GITSYNC_API_VERSION,
        kind: GITSYNC_KIND,
        metadata: { name: "adhoc", namespace: target.team ?? SYSTEM_NAMESPACE },
        spec: {
          url: target.url,
          ref: { branch: target.branch },
          path: target.path,
          interval: "1m",
          prune: false,
          ...(target.team === undefined ? {} : { serviceAccountName: target.team }),
          ...(namespaces.length === 0 ? {} : { namespaces }),
        },
      };
      const o = await reconcile(gs, { agent: kc });
      return [{ id: target.url, ready: o.ready, reason: o.reason, message: o.message }];
    }
    const results: SyncResult[] = [];
    for (const gs of await targets(client, target)) {
      const id = `${gs.metadata.namespace}/${gs.metadata.name}`;
      if (gs.spec.suspend === true) {
        results.push({ id, ready: true, reason: "Suspended", message: "spec.suspend is true; skipped" });
        continue;
      }
      const outcome = await reconcile(gs, { agent: kc, recordPending: (entries) => recordPendingInventory(kc, gs, entries) });
      await recordOutcome(kc, gs, outcome);
      results.push({ id, ready: outcome.ready, reason: outcome.reason, message: outcome.message });
    }
    return results;
  } catch (e) {
    throw unreachable(e, server) ?? e;
  }
}
