// Recording a reconcile's outcome on the GitSync: its status subresource and an Event,
// with any credentials in a URL the message quotes (git's errors do) redacted.

import type { KubeAccess } from "../cluster/access.js";
import { type Header, RestClient } from "../cluster/rest.js";
import type { KubeObject } from "../model/object.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync, type GitSyncStatus, type InventoryEntry, nextConditions } from "../model/gitsync.js";
import { INLINE_MAX_BYTES, InventoryDropped, type StoredInventory, storeInventory } from "../model/inventory-store.js";
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
    ...(outcome.inventory === undefined ? {} : { inventory: storeInventory(outcome.inventory, inlineMaxBytes()) }),
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

/**
 * JSON size up to which an inventory stays in Flux's readable form (inventory-store.ts);
 * TENANTRY_INVENTORY_INLINE_BYTES changes it (tests use it to store a small one compressed).
 */
function inlineMaxBytes(): number {
  const n = Number.parseInt(process.env.TENANTRY_INVENTORY_INLINE_BYTES ?? "", 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : INLINE_MAX_BYTES;
}

/** Records `entries` as the inventory before an apply (see ReconcileDeps.recordPending); InventoryTooLarge when it cannot be. */
export async function recordPendingInventory(agent: KubeAccess, gs: GitSync, entries: readonly InventoryEntry[]): Promise<void> {
  const header = { apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace } };
  const inventory = storeInventory(entries, inlineMaxBytes());
  kept(inventory, await RestClient.forConfig(agent).patchStatus(header, { inventory }));
}

/** Once a compressed inventory is kept, the readable one it replaces is deleted (storeInventory leaves it for that check). */
async function dropReadable(client: RestClient, header: Header, written: StoredInventory, live: KubeObject): Promise<void> {
  if (typeof written.compressed !== "string") return;
  if (((live as Partial<GitSync>).status?.inventory?.entries ?? null) === null) return;
  await client.patchStatus(header, { inventory: { entries: null } });
}

/** Throws InventoryDropped when the API server did not keep a compressed inventory written to it. */
function kept(written: StoredInventory, live: KubeObject): void {
  if (typeof written.compressed !== "string") return;
  if ((live as Partial<GitSync>).status?.inventory?.compressed !== written.compressed) throw new InventoryDropped();
}

/** Writes the status and an Event; `beforeWrite` (the agent's lease check) may stop it between the two. */
export async function recordOutcome(agent: KubeAccess, gs: GitSync, outcome: Outcome, now = new Date(), beforeWrite?: () => void): Promise<GitSyncStatus> {
  const client = RestClient.forConfig(agent);
  const status = nextStatus(gs, outcome, now);
  const header = { apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace } };
  beforeWrite?.();
  const live = await client.patchStatus(header, status);
  if (status.inventory !== undefined) {
    kept(status.inventory, live);
    await dropReadable(client, header, status.inventory, live);
  }
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
