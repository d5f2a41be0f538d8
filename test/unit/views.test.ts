import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { listableKinds, listPath, preferredGroupVersions, resourceTree, treeRows } from "../../src/views/resources.js";
import { fullestQuota, humanDuration, type QuotaObject, shortRevision, statusCells, statusRows } from "../../src/views/status.js";
import { podRows, podUsage, quotaRows, quotaUsage } from "../../src/views/usage.js";
import { watchLoop } from "../../src/views/watch.js";
import type { GitSync } from "../../src/model/gitsync.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

function quota(namespace: string, hard: Record<string, string>, used: Record<string, string>, name = "tenantry-quota"): QuotaObject {
  return { apiVersion: "v1", kind: "ResourceQuota", metadata: { name, namespace }, status: { hard, used } };
}

function gitSync(namespace: string, name: string, status?: GitSync["status"]): GitSync {
  return { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name, namespace }, spec: { url: "https://git.example.com/x.git", interval: "1m" }, ...(status === undefined ? {} : { status }) };
}

describe("status", () => {
  it.each([
    [`main@sha1:${SHA}`, "main@0123456"],
    [`v1.2.0@sha1:${SHA}`, "v1.2.0@0123456"],
    [`sha1:${SHA}`, "0123456"],
    ["something-else", "something-else"],
  ])("shortens revision %s", (revision, short) => {
    expect(shortRevision(revision)).toBe(short);
  });

  it.each([
    [0, "0s"],
    [45_000, "45s"],
    [119_000, "119s"],
    [200_000, "3m20s"],
    [300_000, "5m"],
    [45 * 60_000, "45m"],
    [(5 * 60 + 30) * 60_000, "5h30m"],
    [20 * 3_600_000, "20h"],
    [(3 * 24 + 4) * 3_600_000, "3d4h"],
    [40 * 86_400_000, "40d"],
    [800 * 86_400_000, "2y"],
    [-5000, "0s"],
  ])("says %d ms ago as %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it("picks the fullest quota resource, skipping zero hard limits and the one-quota guard", () => {
    const q = quota("a", { pods: "20", "requests.cpu": "2", "services.nodeports": "0", resourcequotas: "1" }, { pods: "3", "requests.cpu": "100m", "services.nodeports": "0", resourcequotas: "1" });
    expect(fullestQuota([q])).toEqual({ quota: "tenantry-quota", resource: "pods", used: "3", hard: "20", percent: expect.closeTo(15, 9) as number });
    expect(fullestQuota([])).toBeNull();
  });

  it("makes one row per GitSync, quota only for team namespaces", () => {
    const now = new Date("2025-01-01T12:00:00Z");
    const rows = statusRows(
      [
        gitSync("team-a", "team-a", {
          lastAppliedRevision: `main@sha1:${SHA}`,
          inventory: { entries: [{ id: "team-a_web_apps_Deployment", v: "apps/v1" }, { id: "team-a_web__Service", v: "v1" }] },
          conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: "applied", lastTransitionTime: "2025-01-01T11:55:00Z" }],
        }),
        gitSync("tenantry-system", "admin", { conditions: [{ type: "Ready", status: "False", reason: "BuildFailed", message: "boom", lastTransitionTime: "2025-01-01T11:59:30Z" }] }),
        gitSync("team-b", "new"),
      ],
      [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: { "tenantry.dev/team": "team-a" } } },
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b", labels: { "tenantry.dev/team": "team-b" } } },
      ],
      [quota("team-a", { pods: "20", "limits.memory": "8Gi" }, { pods: "3", "limits.memory": "2Gi" }), quota("tenantry-system", { pods: "10" }, { pods: "9" })],
      now,
    );
    expect(rows.map(statusCells)).toEqual([
      { namespace: "team-a", name: "team-a", team: "team-a", ready: "True", reason: "ReconciliationSucceeded", revision: "main@0123456", age: "5m", objects: "2", quota: "limits.memory 25%" },
      { namespace: "team-b", name: "new", team: "team-b", ready: "Unknown", reason: "NeverReconciled", revision: "-", age: "-", objects: "-", quota: "-" },
      { namespace: "tenantry-system", name: "admin", team: "-", ready: "False", reason: "BuildFailed", revision: "-", age: "30s", objects: "-", quota: "-" },
    ]);
    expect(rows[0]?.lastAppliedRevision).toBe(`main@sha1:${SHA}`);
  });
});

describe("resources", () => {
  const core = {
    groupVersion: "v1",
    resources: [
      { name: "pods", kind: "Pod", namespaced: true, verbs: ["get", "list", "create"] },
      { name: "pods/log", kind: "Pod", namespaced: true, verbs: ["get"] },
      { name: "events", kind: "Event", namespaced: true, verbs: ["list"] },
      { name: "namespaces", kind: "Namespace", namespaced: false, verbs: ["list"] },
      { name: "bindings", kind: "Binding", namespaced: true, verbs: ["create"] },
      { name: "services", kind: "Service", namespaced: true, verbs: ["list"] },
    ],
  };
  const groups = {
    groups: [
      { name: "apps", preferredVersion: { groupVersion: "apps/v1" }, versions: [{ groupVersion: "apps/v1" }] },
      { name: "autoscaling", preferredVersion: { groupVersion: "autoscaling/v2" }, versions: [{ groupVersion: "autoscaling/v2" }, { groupVersion: "autoscaling/v1" }] },
      { name: "metrics.k8s.io", preferredVersion: { groupVersion: "metrics.k8s.io/v1beta1" }, versions: [{ groupVersion: "metrics.k8s.io/v1beta1" }] },
    ],
  };

  it("discovers each group's preferred version, without metrics", () => {
    expect(preferredGroupVersions(groups)).toEqual(["apps/v1", "autoscaling/v2"]);
  });

  it("lists namespaced, listable kinds without subresources and events", () => {
    const kinds = listableKinds([
      core,
      { groupVersion: "apps/v1", resources: [{ name: "deployments", kind: "Deployment", namespaced: true, verbs: ["list"] }, { name: "deployments/scale", kind: "Scale", namespaced: true, verbs: ["get"] }] },
      { groupVersion: "events.k8s.io/v1", resources: [{ name: "events", kind: "Event", namespaced: true, verbs: ["list"] }] },
    ]);
    expect(kinds).toEqual([
      { apiVersion: "v1", kind: "Pod", resource: "pods" },
      { apiVersion: "v1", kind: "Service", resource: "services" },
      { apiVersion: "apps/v1", kind: "Deployment", resource: "deployments" },
    ]);
    expect(listPath(kinds[0] ?? expect.fail(), "t")).toBe("/api/v1/namespaces/t/pods");
    expect(listPath(kinds[2] ?? expect.fail(), "t")).toBe("/apis/apps/v1/namespaces/t/deployments");
  });

  const o = (apiVersion: string, kind: string, name: string, extra: Partial<KubeObject> & { uid?: string; owner?: string; labels?: Record<string, string> } = {}): KubeObject => {
    const { uid, owner, labels, ...rest } = extra;
    return {
      apiVersion,
      kind,
      metadata: { name, namespace: "t", uid: uid ?? `${kind}-${name}`, ...(owner === undefined ? {} : { ownerReferences: [{ uid: owner, controller: true }] }), ...(labels === undefined ? {} : { labels }) },
      ...rest,
    };
  };

  it("builds ownership trees, services over their slices, grouped by kind", () => {
    const objects = [
      o("v1", "Pod", "web-abc-1", { owner: "ReplicaSet-web-abc", status: { phase: "Pending" } }),
      o("v1", "ConfigMap", "settings"),
      o("discovery.k8s.io/v1", "EndpointSlice", "web-x1", { labels: { "kubernetes.io/service-name": "web" }, endpoints: [] }),
      o("apps/v1", "ReplicaSet", "web-abc", { owner: "Deployment-web", spec: { replicas: 1 }, status: {} }),
      o("v1", "Endpoints", "web"),
      o("v1", "Service", "web", { spec: { type: "ClusterIP", clusterIP: "10.0.0.7" } }),
      o("apps/v1", "Deployment", "web", { spec: { replicas: 1 }, status: { readyReplicas: 0 } }),
      o("v1", "Pod", "orphan", { owner: "gone" }),
    ];
    const groups = resourceTree(objects);
    expect(groups.map((g) => g.kind)).toEqual(["Deployment", "Pod", "Service", "ConfigMap"]);
    expect(treeRows(groups)).toEqual([
      { resource: "Deployment/web", status: "0/1 ready" },
      { resource: "└─ ReplicaSet/web-abc", status: "0/1 ready" },
      { resource: "   └─ Pod/web-abc-1", status: "Pending" },
      { resource: "Pod/orphan", status: "" },
      { resource: "Service/web", status: "ClusterIP 10.0.0.7" },
      { resource: "├─ Endpoints/web", status: "" },
      { resource: "└─ EndpointSlice/web-x1", status: "0 endpoints" },
      { resource: "ConfigMap/settings", status: "" },
    ]);
  });

  it("shows objects of an ownership cycle instead of losing them", () => {
    const groups = resourceTree([o("v1", "ConfigMap", "a", { uid: "A", owner: "B" }), o("v1", "ConfigMap", "b", { uid: "B", owner: "A" })]);
    expect(treeRows(groups).map((r) => r.resource)).toEqual(["ConfigMap/a", "└─ ConfigMap/b"]);
  });
});

describe("usage", () => {
  it("reports every quota resource as the API server does, with a percentage", () => {
    const usage = quotaUsage([quota("t", { pods: "20", "requests.memory": "4Gi", "services.nodeports": "0" }, { pods: "10", "requests.memory": "64Mi" })]);
    expect(usage).toEqual([
      {
        name: "tenantry-quota",
        resources: [
          { resource: "pods", used: "10", hard: "20", percent: 50 },
          { resource: "requests.memory", used: "64Mi", hard: "4Gi", percent: 1.56 },
          { resource: "services.nodeports", used: "0", hard: "0", percent: null },
        ],
      },
    ]);
    expect(quotaRows(usage).map((r) => r.usage)).toEqual(["[#####.....] 50%", "[..........] 1%", "-"]);
  });

  it("sums pod metrics over containers", () => {
    const pods = podUsage([
      { apiVersion: "metrics.k8s.io/v1beta1", kind: "PodMetrics", metadata: { name: "web" }, containers: [{ name: "a", usage: { cpu: "1500000n", memory: "10Mi" } }, { name: "b", usage: { cpu: "10m", memory: "20480Ki" } }] },
    ]);
    expect(podRows(pods)).toEqual([{ pod: "web", cpu: "12m", memory: "30Mi" }]);
  });
});

describe("watch", () => {
  it("renders until the signal fires, and only the first render's error ends it", async () => {
    const stop = new AbortController();
    const frames: string[] = [];
    let n = 0;
    const count = await watchLoop(
      () => {
        n++;
        if (n === 2) return Promise.reject(new Error("flaky"));
        if (n === 3) stop.abort();
        return Promise.resolve(`frame ${n}`);
      },
      { intervalMs: 1, signal: stop.signal, write: (f) => frames.push(f), describeError: (e) => `error: ${(e as Error).message}` },
    );
    expect(frames).toEqual(["frame 1", "error: flaky"]);
    expect(count).toBe(2);
    await expect(watchLoop(() => Promise.reject(new Error("down")), { intervalMs: 1, signal: new AbortController().signal, write: () => undefined, describeError: String })).rejects.toThrow("down");
  });
});
