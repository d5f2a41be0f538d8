// The plan of a team moving between a namespace and its own control plane (issue 19), pure:
// the move is one flag naming what goes (after its tombstone only) and that the workloads are
// not moved; the home it leaves is not flagged object by object as loosened policy; a deleted
// controlplane team names its ControlPlane; a controlplane team's GitSync in tenantry-system is
// not "cluster scope".

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { formatTombstones, type Tombstone } from "../../src/model/tombstones.js";
import { buildPlan, type Plan, type PlanSide } from "../../src/plan/plan.js";

const MANAGED = { "app.kubernetes.io/managed-by": "tenantry" };
const labels = (team: string): Record<string, string> => ({ ...MANAGED, "tenantry.dev/team": team });

function side(objects: KubeObject[], teams: string[], ref: string): PlanSide {
  return { ref, commit: (ref === "base" ? "a" : "b").repeat(40), teams, objects: objects.map((object) => ({ object, file: null })) };
}

function reasons(p: Plan, kind: string): Record<string, readonly string[]> {
  return Object.fromEntries((p.risks.find((r) => r.kind === kind)?.objects ?? []).map((o) => [o.object, o.reasons]));
}

/** A namespace team's home on the host (the parts the plan judges). */
function namespaceHome(team: string): KubeObject[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: team, labels: { ...labels(team), "pod-security.kubernetes.io/enforce": "restricted" } } },
    { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: team, labels: labels(team) }, spec: { hard: { pods: "20" } } },
    { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "tenantry-allow-dns", namespace: team, labels: labels(team) }, spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }] }] } },
    { apiVersion: "constraints.gatekeeper.sh/v1beta1", kind: "TenantryRequiredResources", metadata: { name: `${team}-resources`, labels: labels(team) }, spec: { match: { namespaces: [team] } } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${team}-policy`, namespace: "tenantry-system", labels: labels(team) }, data: { registries: "ghcr.io/\n" } },
    { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team, labels: labels(team) }, spec: { serviceAccountName: team } },
  ];
}

/** A controlplane team's overlay. */
function controlPlaneHome(team: string): KubeObject[] {
  return [
    { apiVersion: "tenancy.kflex.kubestellar.org/v1alpha1", kind: "ControlPlane", metadata: { name: team, labels: labels(team) }, spec: { type: "k8s", backend: "shared" } },
    { apiVersion: "tenancy.kflex.kubestellar.org/v1alpha1", kind: "PostCreateHook", metadata: { name: `${team}-baseline`, labels: labels(team) }, spec: { templates: [] } },
    {
      apiVersion: "tenantry.dev/v1alpha1",
      kind: "GitSync",
      metadata: { name: team, namespace: "tenantry-system", labels: labels(team) },
      spec: { serviceAccountName: team, targetNamespace: team, kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: `${team}-system`, key: "kubeconfig-incluster" } } },
    },
  ];
}

function tombstones(list: Tombstone[]): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "tenantry-tombstones", namespace: "tenantry-system", labels: { ...MANAGED } }, data: { "tombstones.yaml": formatTombstones(list) } };
}

const when = { deletedAt: "2026-12-03T02:00:00Z", by: "alice@acme.dev" };

describe("plan: a team's move onto its own control plane", () => {
  it("is one flag: the namespace goes after its tombstone, the workloads are not moved, the key is made again", () => {
    const p = buildPlan(side([...namespaceHome("web")], ["web"], "base"), side([...controlPlaneHome("web"), tombstones([{ kind: "Namespace", name: "web", ...when }])], ["web"], "head"));
    const moved = reasons(p, "isolation-changed");
    expect(Object.keys(moved)).toEqual(["Namespace/web"]);
    const [why] = moved["Namespace/web"] ?? [];
    expect(why).toMatch(/^team web moves from namespace web onto its own control plane \(ControlPlane web\): namespace web of this cluster and everything in it .* is deleted after the push \(tombstone Namespace web by alice@acme.dev at 2026-12-03T02:00:00Z\)/);
    expect(why).toContain("the team's workloads and data are not moved");
    expect(why).toContain("tenantry keys create web");
    // The home it leaves is not news object by object, nor the team's GitSync in tenantry-system.
    expect(reasons(p, "policy-loosened")).toEqual({});
    expect(reasons(p, "quota-raised")).toEqual({});
    expect(reasons(p, "network-loosened")).toEqual({});
    expect(reasons(p, "foreign-gitsync")).toEqual({});
    expect(p.teams).toEqual({ added: [], removed: [] });
    // The tombstone reaches the team it records.
    expect(p.changes.find((c) => c.object === "ConfigMap/tenantry-system/tenantry-tombstones")?.teams).toEqual(["web"]);
  });

  it("without a tombstone says the namespace is kept beside the new control plane", () => {
    const p = buildPlan(side(namespaceHome("web"), ["web"], "base"), side(controlPlaneHome("web"), ["web"], "head"));
    expect(reasons(p, "isolation-changed")["Namespace/web"]?.[0]).toMatch(/without a tombstone the reconciler keeps namespace web of this cluster and everything in it .*run tenantry create-team web --isolation controlplane/);
  });

  it("and back: the ControlPlane goes after its tombstone, the namespace's policies are not flagged as new openings", () => {
    const p = buildPlan(side(controlPlaneHome("web"), ["web"], "base"), side([...namespaceHome("web"), tombstones([{ kind: "ControlPlane", name: "web", ...when }])], ["web"], "head"));
    const moved = reasons(p, "isolation-changed");
    expect(Object.keys(moved)).toEqual(["ControlPlane/web"]);
    expect(moved["ControlPlane/web"]?.[0]).toMatch(/^team web moves from its own control plane back to namespace web of this cluster: ControlPlane web is deleted after the push \(tombstone ControlPlane web .*KubeFlex tears down its API server/);
  });

  it("a team merely renamed its objects is no move; teams added or removed are not moves", () => {
    const p = buildPlan(side(namespaceHome("web"), ["web"], "base"), side([...namespaceHome("web"), ...controlPlaneHome("web")], ["web"], "head"));
    expect(reasons(p, "isolation-changed")).toEqual({});
    const added = buildPlan(side([], [], "base"), side(controlPlaneHome("web"), ["web"], "head"));
    expect(reasons(added, "isolation-changed")).toEqual({});
  });
});

describe("plan: a controlplane team removed", () => {
  it("names its ControlPlane, kept without a tombstone, torn down with one", () => {
    const kept = buildPlan(side(controlPlaneHome("web"), ["web"], "base"), side([], [], "head"));
    expect(reasons(kept, "team-removed")["Namespace/web"]?.[0]).toMatch(/^team web removed without a tombstone: the reconciler keeps its 3 objects and ControlPlane web/);
    const deleted = buildPlan(side(controlPlaneHome("web"), ["web"], "base"), side([tombstones([{ kind: "Team", name: "web", ...when }])], [], "head"));
    expect(reasons(deleted, "team-removed")["Namespace/web"]?.[0]).toMatch(/^team web deleted .*with ControlPlane web KubeFlex tears down its API server/);
  });
});

describe("plan: GitSyncs in tenantry-system", () => {
  it("flags one applying on this cluster, not a controlplane team's", () => {
    const local = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "web", namespace: "tenantry-system", labels: labels("web") }, spec: { serviceAccountName: "web" } };
    const p = buildPlan(side([], ["web"], "base"), side([local, ...controlPlaneHome("web").slice(0, 2)], ["web"], "head"));
    expect(Object.keys(reasons(p, "foreign-gitsync"))).toEqual(["GitSync/tenantry-system/web"]);
  });

  it("flags a kubeConfig of another shape: another Secret, another identity", () => {
    const gs = controlPlaneHome("web")[2] as KubeObject & { spec: Record<string, unknown> };
    const spec = gs.spec;
    const hostAdmin = { ...gs, spec: { ...spec, kubeConfig: { secretRef: { name: "host-admin", namespace: "kube-system" } } } } as KubeObject;
    const otherIdentity = { ...gs, spec: { ...spec, targetNamespace: "kube-system", serviceAccountName: "default" } } as KubeObject;
    for (const o of [hostAdmin, otherIdentity]) {
      const p = buildPlan(side([], ["web"], "base"), side([o], ["web"], "head"));
      expect(reasons(p, "foreign-gitsync")["GitSync/tenantry-system/web"]?.[0]).toMatch(/applies into the API server of the kubeconfig in Secret .* not the shape create-team renders/);
    }
  });
});
