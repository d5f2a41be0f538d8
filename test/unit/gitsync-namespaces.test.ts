// A team GitSync's extra namespaces (issue 20): spec.namespaces as the reconciler and
// `tenantry validate` judge it (model/gitsync.ts, validate/gitsync-rules.ts), the lint's scope
// over them (policies/tenant-scope.ts) and the inventory entries a dropped namespace leaves
// (sync/inventory.ts).

import { describe, expect, it } from "vitest";
import { applyNamespacesOf, type GitSync, namespacesProblems, namespacesRefusal, STALLING_REASONS, NAMESPACES_REFUSED } from "../../src/model/gitsync.js";
import type { KubeObject } from "../../src/model/object.js";
import { defaultNamespace, teamScopeProblems } from "../../src/policies/tenant-scope.js";
import { outsideNamespaces } from "../../src/sync/inventory.js";
import { gitSyncPlacementProblems } from "../../src/validate/gitsync-rules.js";

function gitSync(namespace: string, spec: Partial<GitSync["spec"]>): GitSync {
  return { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "shop", namespace }, spec: { url: "file:///r", interval: "1m", ...spec } };
}

const cm = (name: string, namespace?: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: namespace === undefined ? { name } : { name, namespace } });
const scope = (o: KubeObject): "cluster" | "namespaced" => (o.kind === "ClusterRole" ? "cluster" : "namespaced");

describe("spec.namespaces: where a team GitSync may apply besides its own namespace", () => {
  it("a team's GitSync lists its extra namespaces <team>-<name>: home first, then those", () => {
    const gs = gitSync("shop", { namespaces: ["shop-api", "shop-web"], serviceAccountName: "shop" });
    expect(namespacesRefusal(gs)).toBeUndefined();
    expect(applyNamespacesOf(gs)).toEqual(["shop", "shop-api", "shop-web"]);
    expect(applyNamespacesOf(gitSync("shop", {}))).toEqual(["shop"]);
    expect(gitSyncPlacementProblems(gs)).toEqual([]);
  });

  it("refused in tenantry-system and with kubeConfig", () => {
    expect(namespacesProblems("tenantry-system", false, ["tenantry-system-x"])).toEqual([
      "spec.namespaces: a GitSync in tenantry-system may not list namespaces (the admin's applies cluster-wide, a controlplane team's into its targetNamespace): remove spec.namespaces",
    ]);
    expect(namespacesRefusal(gitSync("shop", { namespaces: ["shop-api"], kubeConfig: { secretRef: { name: "kc" } } }))).toBe(
      "spec.namespaces: a GitSync with spec.kubeConfig applies into one namespace of another API server: remove spec.namespaces",
    );
  });

  it("each a DNS label named <namespace>-<name>, not -system, not the home, none twice", () => {
    expect(namespacesProblems("shop", false, ["Shop-API", "other", "shop", "shop-kube-system", "shop-api", "shop-api"])).toEqual([
      'spec.namespaces entry "Shop-API" is not a DNS-1123 label: use lowercase letters, digits and \'-\', starting and ending with a letter or digit',
      "spec.namespaces lists other: a team's extra namespaces are named shop-<name> (tenantry create-team --namespaces): remove it",
      "spec.namespaces lists shop, the GitSync's own namespace, which it always applies into: remove it",
      "spec.namespaces lists shop-kube-system: it is a reserved namespace (default, tenantry, kube-*, *-system): remove it",
      "spec.namespaces lists shop-api more than once: list each once",
    ]);
    // Another team's home is not <team>-<name>: refused before RBAC would be asked.
    expect(namespacesProblems("shop", false, ["bank"])).toHaveLength(1);
    // A GitSync in namespace kube may not reach kube-public (or any kube-*) this way.
    expect(namespacesProblems("kube", false, ["kube-public"])).toEqual(["spec.namespaces lists kube-public: it is a reserved namespace (default, tenantry, kube-*, *-system): remove it"]);
  });

  it("validate says the same before a push, also of a malformed list", () => {
    const o = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "shop", namespace: "shop" }, spec });
    expect(gitSyncPlacementProblems(o({ namespaces: ["bank"] }))).toEqual(["spec.namespaces lists bank: a team's extra namespaces are named shop-<name> (tenantry create-team --namespaces): remove it"]);
    expect(gitSyncPlacementProblems(o({ namespaces: "shop-api" }))).toEqual(["spec.namespaces must be a list of namespace names"]);
    expect(gitSyncPlacementProblems({ ...o({ namespaces: ["shop-api"] }), metadata: { name: "admin", namespace: "tenantry-system" } })).toHaveLength(1);
  });

  it("a refused spec.namespaces stalls the GitSync (the input is wrong)", () => {
    expect(STALLING_REASONS.has(NAMESPACES_REFUSED)).toBe(true);
  });
});

describe("the lint over a team's namespaces", () => {
  const allowed = ["shop", "shop-api", "shop-web"];

  it("accepts objects in the home or any listed namespace; those without one go home", () => {
    const objects = defaultNamespace([cm("a"), cm("b", "shop-api"), cm("c", "shop-web")], "shop", scope);
    expect(objects.map((o) => o.metadata.namespace)).toEqual(["shop", "shop-api", "shop-web"]);
    expect(teamScopeProblems(objects, "shop", scope, allowed)).toEqual([]);
  });

  it("names every object in any other namespace, and cluster-scoped ones", () => {
    const objects = [cm("ok", "shop-api"), cm("spy", "bank"), cm("near", "shop-db"), { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "grab" } }];
    expect(teamScopeProblems(objects, "shop", scope, allowed)).toEqual([
      "ConfigMap/bank/spy is in namespace bank: a team repo may only hold objects in its namespaces shop, shop-api, shop-web",
      "ConfigMap/shop-db/near is in namespace shop-db: a team repo may only hold objects in its namespaces shop, shop-api, shop-web",
      "ClusterRole/grab is cluster-scoped: a team repo may only hold objects in its namespaces shop, shop-api, shop-web",
    ]);
  });

  it("with only its home namespace, says what it always said", () => {
    expect(teamScopeProblems([cm("spy", "bank")], "shop", scope, ["shop"])).toEqual(["ConfigMap/bank/spy is in namespace bank: a team repo may only hold objects in namespace shop"]);
  });
});

describe("inventory entries of a namespace spec.namespaces no longer lists", () => {
  it("are the namespaced entries outside the team's namespaces", () => {
    const entries = [
      { id: "shop_a__ConfigMap", v: "v1" },
      { id: "shop-api_b__ConfigMap", v: "v1" },
      { id: "shop-old_c__ConfigMap", v: "v1" },
      { id: "_x_rbac.authorization.k8s.io_ClusterRole", v: "rbac.authorization.k8s.io/v1" },
    ];
    expect(outsideNamespaces(entries, ["shop", "shop-api"])).toEqual([{ id: "shop-old_c__ConfigMap", v: "v1" }]);
  });
});
