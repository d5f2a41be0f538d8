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

/**
 * Entries of namespaced objects outside `namespaces` (a team GitSync's home and extra ones):
 * what a team GitSync applied into a namespace its spec.namespaces no longer lists.
 */
export function outsideNamespaces(entries: readonly InventoryEntry[], namespaces: readonly string[]): InventoryEntry[] {
  const allowed = new Set(namespaces);
  return entries.filter((e) => {
    const namespace = e.id.split("_")[0] ?? "";
    return namespace !== "" && !allowed.has(namespace);
  });
}
