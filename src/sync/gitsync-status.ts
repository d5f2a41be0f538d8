// Recording a reconcile's outcome on the GitSync: its status subresource and an Event,
// with any credentials in a URL the message quotes (git's errors do) redacted.

import type { KubeAccess } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync, type GitSyncStatus, type InventoryEntry, nextConditions } from "../model/gitsync.js";
import { redactUrlCredentials } from "../model/safe-text.js";
import type { Outcome } from "./reconcile.js";

/** Pure: the status after `outcome`. A failed run keeps the last applied revision and inventory. */
export function nextStatus(gs: GitSync, outcome: Outcome, now: Date): GitSyncStatus {
  // The inventory is left out unless this run settled it: a failed run keeps whatever is
  // recorded (the last good one, or the pending one written before an apply).
  // requestedAt belongs to the replicas that ask (a stale copy must not overwrite a new request).
  const previous = { ...gs.status };
  delete previous.inventory;
  delete previous.requestedAt;
  const status: GitSyncStatus = {
    ...previous,
    ...(gs.metadata.generation === undefined ? {} : { observedGeneration: gs.metadata.generation }),
    ...(outcome.revision === undefined ? {} : { lastAttemptedRevision: outcome.revision }),
    ...(outcome.ready && outcome.revision !== undefined ? { lastAppliedRevision: outcome.revision } : {}),
    ...(outcome.inventory === undefined ? {} : { inventory: { entries: outcome.inventory } }),
    ...(outcome.keyFingerprint === undefined ? {} : { keyFingerprint: outcome.keyFingerprint }),
    conditions: nextConditions(
      gs.status?.conditions,
      { status: outcome.ready ? "True" : "False", reason: outcome.reason, message: redactUrlCredentials(outcome.message) },
      gs.metadata.generation,
      now.toISOString().replace(/\.\d+Z$/, "Z"),
    ),
  };
  return status;
}

/** Records `entries` as the inventory before an apply (see ReconcileDeps.recordPending). */
export async function recordPendingInventory(agent: KubeAccess, gs: GitSync, entries: readonly InventoryEntry[]): Promise<void> {
  const header = { apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace } };
  await RestClient.forConfig(agent).patchStatus(header, { inventory: { entries } });
}

/** Writes the status and an Event; `beforeWrite` (the agent's lease check) may stop it between the two. */
export async function recordOutcome(agent: KubeAccess, gs: GitSync, outcome: Outcome, now = new Date(), beforeWrite?: () => void): Promise<GitSyncStatus> {
  const client = RestClient.forConfig(agent);
  const status = nextStatus(gs, outcome, now);
  const header = { apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace } };
  beforeWrite?.();
  await client.patchStatus(header, status);
  beforeWrite?.();
  const time = now.toISOString();
  await client
    .createObject({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${gs.metadata.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 8)}`, namespace: gs.metadata.namespace },
      involvedObject: { apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, name: gs.metadata.name, namespace: gs.metadata.namespace, uid: gs.metadata.uid },
      reason: outcome.reason,
      message: redactUrlCredentials(outcome.message).slice(0, 1024),
      type: outcome.ready ? "Normal" : "Warning",
      source: { component: "tenantry-agent" },
      reportingComponent: "tenantry-agent",
      reportingInstance: "tenantry-agent",
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    })
    // An Event is a courtesy: failing to record one must not fail the reconcile.
    .catch(() => undefined);
  return status;
}
