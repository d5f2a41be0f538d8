// How a GitSync's status holds its inventory. Pure (compression is CPU only).
//
// While it is small, Flux's shape: `inventory.entries`, one `{id, v}` per object, readable
// with kubectl. An admin repo's inventory grows with its teams (23 objects a team: 2.3 MB of
// JSON at 1000 teams, 11 MB at 5000) and etcd refuses any object over 1.5 MiB, so beyond
// INLINE_MAX_BYTES the same entries are kept as brotli-compressed JSON in `compressed`
// (base64) with their `count`: about 200 KB at 5000 teams. Writing the readable form deletes
// the compressed one (null in a JSON merge patch); writing the compressed one leaves the
// readable one until the API server is seen to keep it (gitsync-status.ts), then deletes it.

import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import { TenantryError } from "../errors.js";

/** One object a GitSync applied, as Flux records it. */
export interface InventoryEntry {
  /** `<namespace>_<name>_<group>_<kind>` */
  readonly id: string;
  /** apiVersion */
  readonly v: string;
}

/** The inventory as the status holds it: one of the two forms (null clears the other in a merge patch). */
export interface StoredInventory {
  readonly entries?: readonly InventoryEntry[] | null;
  /** base64 of the brotli-compressed JSON array of entries. */
  readonly compressed?: string | null;
  /** How many entries `compressed` holds (for views that only count). */
  readonly count?: number | null;
}

/** JSON size up to which the inventory stays in Flux's readable shape (about 1300 objects). */
export const INLINE_MAX_BYTES = 128 * 1024;
/** The most a compressed inventory may take in the status: well under etcd's 1.5 MiB request limit with the rest of the object. */
export const COMPRESSED_MAX_BYTES = 1024 * 1024;
/**
 * A compressed inventory never inflates beyond this: 64 MiB for a GitSync in tenantry-system
 * (only the agent and admins write its status; 5000 teams' inventory is 11 MB), 4 MiB (about
 * 40 000 entries, what etcd let a plain one hold) elsewhere, where the team's own agent may
 * write its status, so a team's bomb cannot take the shared agent's memory.
 */
export const INFLATED_MAX_BYTES = 64 * 1024 * 1024;
export const TEAM_INFLATED_MAX_BYTES = 4 * 1024 * 1024;
/** Quality 5: 11 MB of entries compress in about 70 ms to 150 KB; 11 (the default) takes 20 s for 20% less. */
const QUALITY = 5;

/** The inventory could not be recorded: the run must stop before it applies anything. */
export abstract class InventoryNotStored extends TenantryError {
  abstract readonly reason: string;
}

/** The inventory is too large for the status even compressed: the repo should be split. */
export class InventoryTooLarge extends InventoryNotStored {
  readonly reason = "InventoryTooLarge";
  constructor(
    readonly count: number,
    readonly bytes: number,
  ) {
    super(
      `the inventory of ${count} objects takes ${bytes} bytes compressed, over the ${COMPRESSED_MAX_BYTES} a GitSync's status may hold (etcd's request limit is 1.5 MiB); split the repo into several GitSyncs`,
    );
  }
}

/**
 * The API server dropped a compressed inventory: the GitSync CRD on the cluster predates the
 * field (an admin repo's cluster/common from before it), and the next run would forget what
 * to prune.
 */
export class InventoryDropped extends InventoryNotStored {
  readonly reason = "InventoryDropped";
  constructor() {
    super("the API server dropped status.inventory.compressed: the GitSync CRD in cluster/common predates it; take cluster/common/gitsync-crd.yaml from `tenantry init` of this version and push it");
  }
}

/** The status form of `entries`: Flux's while its JSON is at most `inlineMax` bytes, compressed beyond. */
export function storeInventory(entries: readonly InventoryEntry[], inlineMax = INLINE_MAX_BYTES): StoredInventory {
  const json = JSON.stringify(entries);
  if (Buffer.byteLength(json) <= inlineMax) return { entries, compressed: null, count: null };
  const compressed = brotliCompressSync(json, { params: { [constants.BROTLI_PARAM_QUALITY]: QUALITY, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } }).toString("base64");
  if (compressed.length > COMPRESSED_MAX_BYTES) throw new InventoryTooLarge(entries.length, compressed.length);
  // `entries` is left as it is: a CRD that predates `compressed` drops it, and the readable
  // form must survive that write (the caller deletes it once the compressed one is kept).
  return { compressed, count: entries.length };
}

/** The entries of a stored inventory, whichever form it has; an unreadable compressed one throws. */
export function inventoryEntries(stored: StoredInventory | null | undefined, inflatedMax = INFLATED_MAX_BYTES): readonly InventoryEntry[] {
  if (stored === null || stored === undefined) return [];
  if (typeof stored.compressed === "string" && stored.compressed !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(brotliDecompressSync(Buffer.from(stored.compressed, "base64"), { maxOutputLength: inflatedMax }).toString("utf8"));
    } catch (e) {
      throw new Error(`the compressed inventory cannot be read (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!Array.isArray(parsed) || !parsed.every(isEntry)) throw new Error("the compressed inventory is not a list of {id, v} entries");
    return parsed;
  }
  return stored.entries ?? [];
}

/** How many entries a stored inventory has, without inflating it. */
export function inventoryCount(stored: { readonly entries?: readonly unknown[] | null; readonly compressed?: string | null; readonly count?: number | null } | null | undefined): number | null {
  if (stored === null || stored === undefined) return null;
  if (typeof stored.compressed === "string" && stored.compressed !== "") return typeof stored.count === "number" ? stored.count : null;
  return stored.entries?.length ?? null;
}

function isEntry(e: unknown): e is InventoryEntry {
  return typeof e === "object" && e !== null && typeof (e as InventoryEntry).id === "string" && typeof (e as InventoryEntry).v === "string";
}
