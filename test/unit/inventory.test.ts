// Inventories (src/sync/inventory.ts): ids as Flux writes them, and what a prune removes.

import { describe, expect, it } from "vitest";
import { headerOf, inventoryOf, staleEntries } from "../../src/sync/inventory.js";

describe("inventory", () => {
  it("inventories round-trip and prune only what left", () => {
    const objs = [
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "t" } },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "t" } },
    ];
    const inv = inventoryOf(objs);
    expect(inv.map((e) => e.id)).toEqual(["_t__Namespace", "t_web_apps_Deployment"]);
    expect(headerOf(inv[1] ?? { id: "", v: "" })).toEqual({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "t" } });
    expect(staleEntries(inv, inventoryOf(objs.slice(1)))).toEqual([inv[1]]);
  });
});
