// How a GitSync's status holds its inventory (src/model/inventory-store.ts): Flux's readable
// entries while small, brotli-compressed beyond, never over the status's share of etcd's limit.

import { randomBytes } from "node:crypto";
import { brotliCompressSync, constants } from "node:zlib";
import { describe, expect, it } from "vitest";
import { COMPRESSED_MAX_BYTES, INLINE_MAX_BYTES, TEAM_INFLATED_MAX_BYTES, inventoryCount, inventoryEntries, InventoryTooLarge, storeInventory } from "../../src/model/inventory-store.js";
import type { InventoryEntry } from "../../src/model/gitsync.js";
import { nextStatus } from "../../src/sync/gitsync-status.js";
import type { GitSync } from "../../src/model/gitsync.js";

/** The 23 entries of one team overlay, as an admin repo's inventory holds them. */
function teamEntries(team: string): InventoryEntry[] {
  const kinds = [
    ["v1", "Namespace", ""], ["v1", "ServiceAccount", team], ["v1", "ResourceQuota", team], ["v1", "LimitRange", team], ["v1", "ConfigMap", team],
    ["rbac.authorization.k8s.io/v1", "RoleBinding", team], ["rbac.authorization.k8s.io/v1", "Role", team], ["networking.k8s.io/v1", "NetworkPolicy", team],
    ["tenantry.dev/v1alpha1", "GitSync", team], ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", ""],
  ] as const;
  return kinds.flatMap(([v, kind, ns], i) =>
    Array.from({ length: i < 3 ? 3 : 2 }, (_, k) => {
      const group = v.includes("/") ? v.split("/")[0] : "";
      return { id: `${ns}_${team}-${kind.toLowerCase()}-${k}_${group}_${kind}`, v };
    }),
  ).slice(0, 23);
}

const adminInventory = (teams: number): InventoryEntry[] =>
  Array.from({ length: teams }, (_, i) => teamEntries(`team${String(i + 1).padStart(4, "0")}`)).flat().sort((a, b) => a.id.localeCompare(b.id));

describe("inventory store", () => {
  it("a small inventory stays in Flux's readable form, the compressed fields cleared", () => {
    const entries = adminInventory(2);
    const stored = storeInventory(entries);
    expect(stored).toEqual({ entries, compressed: null, count: null });
    expect(inventoryEntries(stored)).toEqual(entries);
    expect(inventoryCount(stored)).toBe(46);
  });

  it("5000 teams' inventory (11 MB of JSON) is stored compressed far under etcd's limit and reads back whole", () => {
    const entries = adminInventory(5000);
    expect(JSON.stringify(entries).length).toBeGreaterThan(1.5 * 1024 * 1024);
    const stored = storeInventory(entries);
    expect(stored.entries).toBeUndefined();
    expect(stored.count).toBe(entries.length);
    expect(stored.compressed?.length).toBeLessThan(COMPRESSED_MAX_BYTES / 2);
    expect(inventoryEntries(stored)).toEqual(entries);
    expect(inventoryCount(stored)).toBe(entries.length);
  });

  it("the form switches at the inline limit (which a caller may lower)", () => {
    const entries = adminInventory(60);
    expect(Buffer.byteLength(JSON.stringify(entries))).toBeLessThan(INLINE_MAX_BYTES);
    expect(storeInventory(entries).entries).toEqual(entries);
    expect(storeInventory(entries, 0).compressed).toEqual(expect.any(String));
    expect(inventoryEntries(storeInventory(entries, 0))).toEqual(entries);
  });

  it("an inventory that does not fit even compressed is refused, naming the fix", () => {
    // Random names do not compress: about 1.5 MB of base64.
    const entries = Array.from({ length: 50_000 }, () => ({ id: `t_${randomBytes(20).toString("hex")}__ConfigMap`, v: "v1" }));
    expect(() => storeInventory(entries)).toThrow(InventoryTooLarge);
    expect(() => storeInventory(entries)).toThrow(/inventory of 50000 objects .* split the repo into several GitSyncs/);
  });

  it("an unreadable compressed inventory throws a clear error; a bomb is not inflated past its bound", () => {
    expect(() => inventoryEntries({ compressed: "not brotli at all" })).toThrow(/the compressed inventory cannot be read/);
    const notEntries = brotliCompressSync(JSON.stringify([{ id: 1 }])).toString("base64");
    expect(() => inventoryEntries({ compressed: notEntries, count: 1 })).toThrow(/not a list of \{id, v\} entries/);
    // 80 MB of spaces compress to about 20 KB (fits the status); inflating stops at 64 MiB.
    const bomb = brotliCompressSync(Buffer.alloc(80 * 1024 * 1024, 0x20), { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }).toString("base64");
    expect(bomb.length).toBeLessThan(COMPRESSED_MAX_BYTES);
    expect(() => inventoryEntries({ compressed: bomb, count: 1 })).toThrow(/cannot be read/);
  });

  it("a team namespace's GitSync (whose status the team's own agent may write) inflates at most 4 MiB: a bomb there is unreadable, not a shared agent's memory", () => {
    // 6 MB of valid entries, compressed far under the status's share of etcd.
    const entries = Array.from({ length: 120_000 }, (_, i) => ({ id: `t_cm-${String(i)}__ConfigMap`, v: "v1" }));
    const stored = storeInventory(entries, 0);
    expect(Buffer.byteLength(JSON.stringify(entries))).toBeGreaterThan(TEAM_INFLATED_MAX_BYTES);
    expect(inventoryEntries(stored)).toHaveLength(120_000);
    expect(() => inventoryEntries(stored, TEAM_INFLATED_MAX_BYTES)).toThrow(/the compressed inventory cannot be read/);
  });

  it("an absent or empty inventory reads as none", () => {
    expect(inventoryEntries(undefined)).toEqual([]);
    expect(inventoryEntries({ entries: null, compressed: null })).toEqual([]);
    expect(inventoryCount(undefined)).toBeNull();
  });

  it("nextStatus writes a large inventory compressed, leaving the readable form for the writer to delete once it sees the compressed one kept", () => {
    const gs = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: "tenantry-system", generation: 1 }, spec: { url: "x", path: "." }, status: { inventory: { entries: adminInventory(1) } } } as unknown as GitSync;
    const entries = adminInventory(1000);
    const status = nextStatus(gs, { ready: true, reason: "ReconciliationSucceeded", message: "ok", applied: entries.length, pruned: 0, revision: "main@sha1:abc", inventory: entries }, new Date(0));
    expect(status.inventory?.entries).toBeUndefined();
    expect(status.inventory?.count).toBe(23_000);
    expect(inventoryEntries(status.inventory)).toEqual(entries);
  });
});
