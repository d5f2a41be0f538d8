// The prune guard (src/sync/team-guard.ts): a team that vanished from Git without a tombstone
// keeps every admin object (namespace, quota, limits, network policies, bindings, GitSync,
// constraints and policy bindings outside its namespace, its policy parameters in
// tenantry-system); a team with one goes entirely; other stale objects are never held; the
// live team label, when known, decides whose an object is. A team on its own control plane
// is held by its KubeFlex ControlPlane the same way (deleting it tears down its API server).

import { describe, expect, it } from "vitest";
import type { InventoryEntry } from "../../src/model/gitsync.js";
import { type KubeObject, objectId } from "../../src/model/object.js";
import { formatTombstones, teamTombstone, type Tombstone, TOMBSTONES_CONFIGMAP } from "../../src/model/tombstones.js";
import { inventoryOf, staleEntries } from "../../src/sync/inventory.js";
import { guardRender, guardTeamDeletions, TEAM_DELETION_NOT_REQUESTED } from "../../src/sync/team-guard.js";

function obj(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
  return { apiVersion, kind, metadata: namespace === undefined ? { name } : { name, namespace } };
}

/** What a team overlay renders, in kind and place (the 23 objects of create-team's default). */
function team(t: string): KubeObject[] {
  return [
    obj("v1", "Namespace", t),
    obj("v1", "ServiceAccount", t, t),
    obj("rbac.authorization.k8s.io/v1", "RoleBinding", "tenantry:team-admin", t),
    obj("rbac.authorization.k8s.io/v1", "RoleBinding", "tenantry:team-agent", t),
    obj("v1", "ResourceQuota", "tenantry-quota", t),
    obj("v1", "LimitRange", "tenantry-limits", t),
    obj("networking.k8s.io/v1", "NetworkPolicy", "tenantry-default-deny", t),
    obj("networking.k8s.io/v1", "NetworkPolicy", "tenantry-allow-dns", t),
    obj("constraints.gatekeeper.sh/v1beta1", "TenantryAllowedRegistries", `${t}-registries`),
    obj("constraints.gatekeeper.sh/v1beta1", "TenantryAdminOwned", `${t}-admin-owned`),
    obj("v1", "ConfigMap", `${t}-policy`, "tenantry-system"),
    obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", `${t}-registries`),
    obj("tenantry.dev/v1alpha1", "GitSync", t, t),
    obj("apps/v1", "Deployment", "tenantry-agent", t),
  ];
}

/** What a controlplane team's overlay renders on the host: its ControlPlane, the baseline hook, its GitSync in tenantry-system. */
function cpTeam(t: string): KubeObject[] {
  return [
    obj("tenancy.kflex.kubestellar.org/v1alpha1", "ControlPlane", t),
    obj("tenancy.kflex.kubestellar.org/v1alpha1", "PostCreateHook", `${t}-baseline`),
    obj("tenantry.dev/v1alpha1", "GitSync", t, "tenantry-system"),
  ];
}

const common: KubeObject[] = [
  obj("v1", "Namespace", "tenantry-system"),
  obj("rbac.authorization.k8s.io/v1", "ClusterRole", "tenantry:team-admin"),
  obj("apps/v1", "Deployment", "tenantry-agent", "tenantry-system"),
];

function tombstonesConfigMap(list: readonly Tombstone[]): KubeObject {
  return { ...obj("v1", "ConfigMap", TOMBSTONES_CONFIGMAP, "tenantry-system"), data: { "tombstones.yaml": formatTombstones(list) } };
}

const ids = (entries: readonly InventoryEntry[]): string[] => entries.map((e) => e.id).sort();
const now = new Date("2024-05-01T12:00:00Z");

describe("guardTeamDeletions", () => {
  const previous = inventoryOf([...common, ...team("team1"), ...team("team2")]);

  it("nothing vanished: nothing held, no reason", () => {
    const g = guardTeamDeletions({ previous, rendered: [...common, ...team("team1"), ...team("team2")], tombstones: [] });
    expect(g).toEqual({ keep: [], teams: [], reason: null, message: null });
  });

  it("a team gone without a tombstone keeps every one of its objects, inside its namespace and out; the other team is untouched", () => {
    const rendered = [...common, ...team("team1")];
    const g = guardTeamDeletions({ previous, rendered, tombstones: [] });
    expect(g.teams).toEqual(["team2"]);
    expect(g.reason).toBe(TEAM_DELETION_NOT_REQUESTED);
    expect(ids(g.keep)).toEqual(ids(inventoryOf(team("team2"))));
    // Every stale object is held: nothing of team2 is pruned.
    expect(ids(staleEntries(previous, inventoryOf(rendered)))).toEqual(ids(g.keep));
    expect(g.message).toBe(
      "team team2 vanished from Git without a tombstone: 14 of its objects (its namespace and admin objects) are kept, not pruned; delete a team with tenantry delete-team team2, or restore its line in cluster/teams/kustomization.yaml",
    );
  });

  it("a team gone with its tombstone (kind Team) is pruned entirely", () => {
    const g = guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [teamTombstone("team2", now, "a@acme.dev")] });
    expect(g).toEqual({ keep: [], teams: [], reason: null, message: null });
  });

  it("a Namespace tombstone also lets the namespace go; a tombstone of another team, kind or namespace does not", () => {
    expect(guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [{ kind: "Namespace", name: "team2", deletedAt: "2024-05-01T12:00:00Z", by: "a" }] }).teams).toEqual([]);
    for (const t of [teamTombstone("team1", now, "a"), { kind: "Deployment", name: "team2", deletedAt: "2024-05-01T12:00:00Z", by: "a" }, { kind: "Namespace", namespace: "x", name: "team2", deletedAt: "2024-05-01T12:00:00Z", by: "a" }]) {
      expect(guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [t] }).teams).toEqual(["team2"]);
    }
  });

  it("two teams gone, one with a tombstone: only the other is held, and the message names it", () => {
    const prev = inventoryOf([...common, ...team("team1"), ...team("team2"), ...team("team3")]);
    const g = guardTeamDeletions({ previous: prev, rendered: [...common, ...team("team1")], tombstones: [teamTombstone("team3", now, "a")] });
    expect(g.teams).toEqual(["team2"]);
    expect(ids(g.keep)).toEqual(ids(inventoryOf(team("team2"))));
  });

  it("two teams gone without tombstones: both held, both named", () => {
    const g = guardTeamDeletions({ previous, rendered: common, tombstones: [] });
    expect(g.teams).toEqual(["team1", "team2"]);
    expect(ids(g.keep)).toEqual(ids(inventoryOf([...team("team1"), ...team("team2")])));
    expect(g.message).toMatch(/^teams team1, team2 vanished from Git without a tombstone: 28 of their objects \(their namespaces and admin objects\) are kept/);
  });

  it("a namespace named <team>-<name> of a team still rendered: the message says how to remove an extra namespace", () => {
    const ns = (name: string, team: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "tenantry.dev/team": team } } });
    const g = guardTeamDeletions({ previous: inventoryOf([...common, ns("shop", "shop"), ns("shop-web", "shop")]), rendered: [...common, ns("shop", "shop")], tombstones: [] });
    expect(g.teams).toEqual(["shop-web"]);
    expect(g.message).toMatch(/; shop-web may be an extra namespace of team shop: remove it with tenantry create-team shop --namespaces <the others>, which records its tombstone$/);
    // Its Namespace tombstone (what create-team writes) releases it.
    expect(guardTeamDeletions({ previous: inventoryOf([...common, ns("shop", "shop"), ns("shop-web", "shop")]), rendered: [...common, ns("shop", "shop")], tombstones: [{ kind: "Namespace", name: "shop-web", deletedAt: "2024-05-01T12:00:00Z", by: "a" }] }).teams).toEqual([]);
  });

  it("a team's object removed from its overlay (the namespace stays) is pruned as usual", () => {
    const rendered = [...common, ...team("team1"), ...team("team2").filter((o) => o.kind !== "LimitRange")];
    expect(guardTeamDeletions({ previous, rendered, tombstones: [] }).keep).toEqual([]);
  });

  it("stale cluster-wide objects of no team are never held, even while a team is", () => {
    const prev = inventoryOf([...common, obj("rbac.authorization.k8s.io/v1", "ClusterRole", "old-shared"), ...team("team2")]);
    const g = guardTeamDeletions({ previous: prev, rendered: common, tombstones: [] });
    expect(g.keep.map((e) => e.id)).not.toContain(objectId(obj("rbac.authorization.k8s.io/v1", "ClusterRole", "old-shared")));
    expect(g.keep).toHaveLength(14);
  });

  it("names are judged by prefix only when the live labels are unknown: a's objects named a-b-… are kept with team a unless labelled for team a-b", () => {
    const prev = inventoryOf([...common, ...team("a"), ...team("a-b")]);
    const tomb = [teamTombstone("a-b", now, "x")];
    const guessed = guardTeamDeletions({ previous: prev, rendered: common, tombstones: tomb });
    expect(guessed.teams).toEqual(["a"]);
    // Without labels, a-b's cluster-scoped objects look like a's (kept: the safe side)...
    expect(guessed.keep.map((e) => e.id)).toContain(objectId(obj("constraints.gatekeeper.sh/v1beta1", "TenantryAllowedRegistries", "a-b-registries")));
    // ...with the live labels, each object goes with its own team.
    const labels = new Map(inventoryOf([...team("a"), ...team("a-b")]).map((e) => [e.id, { "tenantry.dev/team": e.id.includes("a-b") ? "a-b" : "a", "app.kubernetes.io/managed-by": "tenantry" }]));
    const known = guardTeamDeletions({ previous: prev, rendered: common, tombstones: tomb, liveLabels: labels });
    expect(ids(known.keep)).toEqual(ids(inventoryOf(team("a"))));
  });

  it("a stale Namespace known to be no team's (our label, no team label) is not held; an unknown one is", () => {
    const prev = inventoryOf([...common, obj("v1", "Namespace", "scratch")]);
    const id = objectId(obj("v1", "Namespace", "scratch"));
    expect(guardTeamDeletions({ previous: prev, rendered: common, tombstones: [] }).teams).toEqual(["scratch"]);
    expect(guardTeamDeletions({ previous: prev, rendered: common, tombstones: [], liveLabels: new Map([[id, { "app.kubernetes.io/managed-by": "tenantry" }]]) }).teams).toEqual([]);
  });

  it("unreadable tombstones count as none, and the message says why", () => {
    const g = guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [], tombstoneProblems: ["entry 1: kind is missing"] });
    expect(g.teams).toEqual(["team2"]);
    expect(g.message).toContain("(the revision's tombstones could not be read: entry 1: kind is missing)");
  });
});

describe("guardRender", () => {
  const previous = inventoryOf([...common, ...team("team1"), ...team("team2")]);

  it("reads the tombstones from the rendered ConfigMap", () => {
    const withTomb = [...common, ...team("team1"), tombstonesConfigMap([teamTombstone("team2", now, "a@acme.dev")])];
    expect(guardRender(previous, withTomb).keep).toEqual([]);
    expect(guardRender(previous, [...common, ...team("team1"), tombstonesConfigMap([])]).teams).toEqual(["team2"]);
  });

  it("a malformed tombstones ConfigMap holds the team and says so", () => {
    const broken = { ...obj("v1", "ConfigMap", TOMBSTONES_CONFIGMAP, "tenantry-system"), data: { "tombstones.yaml": "- kind: Team\n  name: team2\n" } };
    const g = guardRender(previous, [...common, ...team("team1"), broken]);
    expect(g.teams).toEqual(["team2"]);
    expect(g.message).toMatch(/could not be read: ConfigMap tenantry-system\/tenantry-tombstones: entry 1: deletedAt is missing; .*entry 1: by is missing/);
  });
});

describe("a team on its own control plane", () => {
  const previous = inventoryOf([...common, ...team("team1"), ...cpTeam("cp1")]);
  const tomb = (kind: string, name: string): Tombstone => ({ kind, name, deletedAt: "2024-05-01T12:00:00Z", by: "a" });

  it("its ControlPlane gone without a tombstone holds the ControlPlane, its baseline hook and its GitSync; the message says control plane", () => {
    const g = guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [] });
    expect(g.teams).toEqual(["cp1"]);
    expect(g.reason).toBe(TEAM_DELETION_NOT_REQUESTED);
    expect(ids(g.keep)).toEqual(ids(inventoryOf(cpTeam("cp1"))));
    expect(g.message).toBe(
      "team cp1 vanished from Git without a tombstone: 3 of its objects (its control plane and admin objects) are kept, not pruned; delete a team with tenantry delete-team cp1, or restore its line in cluster/teams/kustomization.yaml",
    );
  });

  it("a Team or ControlPlane tombstone releases it; a Namespace tombstone, another team's or a namespaced one does not", () => {
    for (const t of [teamTombstone("cp1", now, "a"), tomb("ControlPlane", "cp1")]) {
      expect(guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [t] }).keep, t.kind).toEqual([]);
    }
    for (const t of [tomb("Namespace", "cp1"), tomb("ControlPlane", "team1"), { ...tomb("ControlPlane", "cp1"), namespace: "x" }]) {
      expect(guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [t] }).teams, JSON.stringify(t)).toEqual(["cp1"]);
    }
  });

  it("a ControlPlane tombstone does not release a team's namespace (a team that moves back keeps its new namespace's history apart)", () => {
    expect(guardTeamDeletions({ previous, rendered: [...common, ...cpTeam("cp1")], tombstones: [tomb("ControlPlane", "team1")] }).teams).toEqual(["team1"]);
  });

  it("a team that moved onto a control plane (its namespace replaced by a ControlPlane): the Namespace tombstone lets the namespace go; without it the namespace is held", () => {
    const moved = [...common, ...cpTeam("team1"), ...cpTeam("cp1")];
    expect(guardTeamDeletions({ previous, rendered: moved, tombstones: [tomb("Namespace", "team1")] }).keep).toEqual([]);
    const held = guardTeamDeletions({ previous, rendered: moved, tombstones: [] });
    expect(held.teams).toEqual(["team1"]);
    expect(ids(held.keep)).toEqual(ids(staleEntries(previous, inventoryOf(moved))));
  });

  it("a team that moved back to a namespace: without a ControlPlane tombstone its control plane is held, with one it goes", () => {
    const back = [...common, ...team("team1"), ...team("cp1")];
    const held = guardTeamDeletions({ previous, rendered: back, tombstones: [] });
    expect(held.teams).toEqual(["cp1"]);
    expect(ids(held.keep)).toEqual(ids(staleEntries(previous, inventoryOf(back))));
    expect(guardTeamDeletions({ previous, rendered: back, tombstones: [tomb("ControlPlane", "cp1")] }).keep).toEqual([]);
  });

  it("a namespace team and a controlplane team gone at once: both held, the message names both kinds", () => {
    const g = guardTeamDeletions({ previous, rendered: common, tombstones: [] });
    expect(g.teams).toEqual(["cp1", "team1"]);
    expect(g.message).toMatch(/^teams cp1, team1 vanished from Git without a tombstone: 17 of their objects \(their namespaces, control planes and admin objects\) are kept/);
  });

  it("a ControlPlane of another API group, or known by its live labels to be no team's, is not held", () => {
    const other = obj("example.com/v1", "ControlPlane", "x");
    expect(guardTeamDeletions({ previous: inventoryOf([...common, other]), rendered: common, tombstones: [] }).teams).toEqual([]);
    const id = objectId(obj("tenancy.kflex.kubestellar.org/v1alpha1", "ControlPlane", "cp1"));
    const labels = new Map([[id, { "app.kubernetes.io/managed-by": "tenantry" }]]);
    expect(guardTeamDeletions({ previous, rendered: [...common, ...team("team1")], tombstones: [], liveLabels: labels }).teams).toEqual([]);
  });

  it("guardRender reads a ControlPlane tombstone from the rendered ConfigMap", () => {
    expect(guardRender(previous, [...common, ...team("team1"), tombstonesConfigMap([tomb("ControlPlane", "cp1")])]).keep).toEqual([]);
  });
});
