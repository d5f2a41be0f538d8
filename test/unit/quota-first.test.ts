// When the reconciler may prune before an apply succeeded (src/sync/quota-first.ts).

import { describe, expect, it } from "vitest";
import { countedResource, countLimits, refusedCounts } from "../../src/sync/quota-first.js";

const quota = (namespace: string | undefined, limited: string) => ({
  object: "ConfigMap x",
  namespace,
  refusal: { code: 403, reason: "Forbidden", message: `configmaps "x" is forbidden: exceeded quota: tight, requested: configmaps=1, used: configmaps=12, limited: ${limited}` },
});

describe("quota-first", () => {
  it("knows object-count quotas, and only those", () => {
    expect(countedResource("configmaps")).toEqual({ plural: "configmaps", group: "" });
    expect(countedResource("count/deployments.apps")).toEqual({ plural: "deployments", group: "apps" });
    expect(countedResource("count/widgets.example.com")).toEqual({ plural: "widgets", group: "example.com" });
    expect(countedResource("count/secrets")).toEqual({ plural: "secrets", group: "" });
    for (const other of ["requests.cpu", "limits.memory", "requests.storage", "services.nodeports", "services.loadbalancers", "cpu"]) expect(countedResource(other)).toBeUndefined();
  });

  it("reads the limits a refusal names; any non-count limit disqualifies it", () => {
    expect(countLimits(quota("ns", "configmaps=12").refusal.message)).toEqual(new Map([["configmaps", 12]]));
    expect(countLimits(quota("ns", "configmaps=12,count/secrets=3").refusal.message)).toEqual(new Map([["configmaps", 12], ["count/secrets", 3]]));
    expect(countLimits(quota("ns", "configmaps=12,requests.cpu=1").refusal.message)).toBeUndefined();
    expect(countLimits("exceeded quota: tight")).toBeUndefined();
  });

  it("applies only when every refusal is a count quota's, of a namespaced object", () => {
    expect(refusedCounts([quota("a", "configmaps=12"), quota("b", "count/secrets=2")])).toEqual([
      { namespace: "a", resource: "configmaps" },
      { namespace: "b", resource: "count/secrets" },
    ]);
    const invalid = { object: "ConfigMap bad", namespace: "a", refusal: { code: 422, reason: "Invalid", message: "invalid key" } };
    expect(refusedCounts([quota("a", "configmaps=12"), invalid])).toBeUndefined();
    const forbidden = { object: "Role r", namespace: "a", refusal: { code: 403, reason: "Forbidden", message: "cannot create roles" } };
    expect(refusedCounts([forbidden])).toBeUndefined();
    expect(refusedCounts([quota(undefined, "configmaps=12")])).toBeUndefined();
    expect(refusedCounts([quota("a", "requests.memory=1Gi")])).toBeUndefined();
    expect(refusedCounts([])).toBeUndefined();
  });
});
