// The inventory: which objects a GitSync applied, as Flux records it. Pure.

import { type KubeObject, objectId } from "../model/object.js";
import type { InventoryEntry } from "../model/gitsync.js";

export { headerOf } from "../model/gitsync.js";

export function inventoryOf(objects: readonly KubeObject[]): InventoryEntry[] {
  return objects.map((o) => ({ id: objectId(o), v: o.apiVersion })).sort((a, b) => a.id.localeCompare(b.id));
}

/** Entries in `previous` that are not in `current`: the objects to prune. */
export function staleEntries(previous: readonly InventoryEntry[], current: readonly InventoryEntry[]): InventoryEntry[] {
  const now = new Set(current.map((e) => e.id));
  return previous.filter((e) => !now.has(e.id));
}
