// The inventory: which objects a GitSync applied, as Flux records it. Pure.

import { groupOf, type KubeObject, objectId } from "../model/object.js";
import type { InventoryEntry } from "../model/gitsync.js";

export function inventoryOf(objects: readonly KubeObject[]): InventoryEntry[] {
  return objects.map((o) => ({ id: objectId(o), v: o.apiVersion })).sort((a, b) => a.id.localeCompare(b.id));
}

/** Entries in `previous` that are not in `current`: the objects to prune. */
export function staleEntries(previous: readonly InventoryEntry[], current: readonly InventoryEntry[]): InventoryEntry[] {
  const now = new Set(current.map((e) => e.id));
  return previous.filter((e) => !now.has(e.id));
}

/** The object header an inventory entry names. */
export function headerOf(e: InventoryEntry): { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } {
  const [namespace = "", name = "", group = "", kind = ""] = e.id.split("_");
  if (groupOf(e.v) !== group) throw new Error(`inventory entry ${e.id} does not match apiVersion ${e.v}`);
  return { apiVersion: e.v, kind, metadata: namespace === "" ? { name } : { name, namespace } };
}
