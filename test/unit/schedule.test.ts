import { describe, expect, it } from "vitest";
import { canAcquire } from "../../src/agent/lease.js";
import { delayAfter, Schedule } from "../../src/agent/schedule.js";
import { formatRevision, nextConditions, parseDuration } from "../../src/model/gitsync.js";
import { headerOf, inventoryOf, staleEntries } from "../../src/sync/inventory.js";
import { teamScopeProblems } from "../../src/policies/tenant-scope.js";
import { remoteBaseProblems } from "../../src/build/closure.js";

const fixed = { jitter: 0.1, backoffBaseMs: 2000, random: () => 0.5 };

describe("schedule", () => {
  it("runs new GitSyncs at once, then on their interval", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/x", 1]]), 1000);
    expect(s.take(1000, 4)).toEqual(["a/x"]);
    expect(s.take(1000, 4)).toEqual([]); // running
    s.finished("a/x", true, "1m", 2000);
    expect(s.take(2000 + 59_999, 4)).toEqual([]);
    expect(s.take(2000 + 60_000, 4)).toEqual(["a/x"]);
  });

  it("backs off exponentially after failures, capped at the interval", () => {
    expect([1, 2, 3, 4, 10].map((n) => delayAfter(60_000, n, fixed))).toEqual([2000, 4000, 8000, 16000, 60000]);
    expect(delayAfter(60_000, 0, fixed)).toBe(60_000);
  });

  it("jitter stays within ±10%", () => {
    expect(delayAfter(60_000, 0, { ...fixed, random: () => 0 })).toBe(54_000);
    expect(delayAfter(60_000, 0, { ...fixed, random: () => 1 })).toBe(66_000);
  });

  it("a changed generation or a webhook makes it due now; removed ones leave", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/x", 1], ["b/y", 1]]), 0);
    s.take(0, 4);
    s.finished("a/x", true, "1h", 0);
    s.finished("b/y", true, "1h", 0);
    s.sync(new Map([["a/x", 2]]), 10);
    expect(s.get("b/y")).toBeUndefined();
    expect(s.take(10, 4)).toEqual(["a/x"]);
    s.finished("a/x", true, "1h", 10);
    expect(s.trigger("a/x", 20)).toBe(true);
    expect(s.take(20, 4)).toEqual(["a/x"]);
    expect(s.trigger("nope/none", 20)).toBe(false);
  });

  it("respects the concurrency limit", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/1", 1], ["a/2", 1], ["a/3", 1]]), 0);
    expect(s.take(0, 2)).toHaveLength(2);
    expect(s.runningCount()).toBe(2);
  });
});

describe("leases", () => {
  const now = Date.parse("2026-01-01T00:00:30Z");
  it("free, expired or our own lease can be taken; a live one of another cannot", () => {
    expect(canAcquire(undefined, "me", now)).toBe(true);
    expect(canAcquire({ holderIdentity: "" }, "me", now)).toBe(true);
    expect(canAcquire({ holderIdentity: "me", renewTime: "2026-01-01T00:00:29Z", leaseDurationSeconds: 15 }, "me", now)).toBe(true);
    expect(canAcquire({ holderIdentity: "other", renewTime: "2026-01-01T00:00:20Z", leaseDurationSeconds: 15 }, "me", now)).toBe(false);
    expect(canAcquire({ holderIdentity: "other", renewTime: "2026-01-01T00:00:10Z", leaseDurationSeconds: 15 }, "me", now)).toBe(true);
  });
});

describe("GitSync helpers", () => {
  it("parse durations", () => {
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(() => parseDuration("soon")).toThrow();
    expect(() => parseDuration("1m garbage")).toThrow();
  });

  it("format revisions like Flux", () => {
    expect(formatRevision({ branch: "main" }, "abc")).toBe("main@sha1:abc");
    expect(formatRevision({ tag: "v1" }, "abc")).toBe("v1@sha1:abc");
    expect(formatRevision({ commit: "abc" }, "abc")).toBe("sha1:abc");
    expect(formatRevision(undefined, "abc")).toBe("main@sha1:abc");
  });

  it("keep lastTransitionTime while a condition's status holds, and mark build errors Stalled", () => {
    const first = nextConditions(undefined, { status: "False", reason: "BuildFailed", message: "x" }, 1, "t1");
    expect(first.map((c) => [c.type, c.status])).toEqual([["Ready", "False"], ["Stalled", "True"]]);
    const second = nextConditions(first, { status: "False", reason: "GitOperationFailed", message: "y" }, 1, "t2");
    expect(second).toHaveLength(1);
    expect(second[0]?.lastTransitionTime).toBe("t1");
    expect(nextConditions(second, { status: "True", reason: "ReconciliationSucceeded", message: "z" }, 2, "t3")[0]?.lastTransitionTime).toBe("t3");
  });

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

  it("lint names every remote base and every out-of-scope object", () => {
    expect(remoteBaseProblems("k.yaml", "resources:\n  - ./app\n  - https://example.com/x.yaml\n  - github.com/acme/repo//base\n")).toHaveLength(2);
    expect(remoteBaseProblems("k.yaml", "resources: [./app, ../base]\n")).toEqual([]);
    const scope = (o: { kind: string }) => (o.kind === "ClusterRole" ? "cluster" : o.kind === "Widget" ? "unknown" : "namespaced");
    const problems = teamScopeProblems(
      [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ok", namespace: "t" } },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "spy", namespace: "u" } },
        { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "grab" } },
        { apiVersion: "x/v1", kind: "Widget", metadata: { name: "w" } },
      ],
      "t",
      scope,
    );
    expect(problems).toEqual([
      "ConfigMap/u/spy is in namespace u: a team repo may only hold objects in namespace t",
      "ClusterRole/grab is cluster-scoped: a team repo may only hold objects in namespace t",
      "Widget/w: the cluster does not serve Widget in x/v1",
    ]);
  });
});
