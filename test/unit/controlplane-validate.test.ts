// validate's rules for a team on its own control plane (issue 19), pure: where a GitSync may
// apply (a kubeconfig Secret of another namespace and a targetNamespace only in tenantry-system),
// and the tenant-scope lint letting a team overlay hold its ControlPlane <team> and its GitSync
// tenantry-system/<team> (only one that applies into another API server, as the team).

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { gitSyncPlacementProblems } from "../../src/validate/gitsync-rules.js";
import { tenantScopeProblems } from "../../src/validate/lint.js";

const labels = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "web" };

function gitSync(namespace: string, spec: Record<string, unknown>, name = "web"): KubeObject {
  return { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name, namespace, labels }, spec };
}

const remote = { kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: "web-system", key: "kubeconfig-incluster" } }, targetNamespace: "web", serviceAccountName: "web" };

describe("where a GitSync may apply", () => {
  it("in tenantry-system: a kubeconfig Secret of any namespace, and a targetNamespace with it", () => {
    expect(gitSyncPlacementProblems(gitSync("tenantry-system", remote))).toEqual([]);
    expect(gitSyncPlacementProblems(gitSync("tenantry-system", { targetNamespace: "web" }))).toEqual(["spec.targetNamespace needs spec.kubeConfig: on this cluster a team's sync lives in the team's namespace"]);
    // Without a ServiceAccount it would apply there as the kubeconfig's admin, unlinted: as the reconciler refuses it.
    expect(gitSyncPlacementProblems(gitSync("tenantry-system", { kubeConfig: remote.kubeConfig, targetNamespace: "web" }))).toEqual([
      "spec.kubeConfig needs spec.serviceAccountName in tenantry-system: without it the GitSync would apply into that API server as the kubeconfig's user (its admin), unchecked; set serviceAccountName and targetNamespace",
    ]);
  });

  it("elsewhere: only a Secret of its own namespace, never a targetNamespace", () => {
    expect(gitSyncPlacementProblems(gitSync("web", { kubeConfig: { secretRef: { name: "kc" } } }))).toEqual([]);
    expect(gitSyncPlacementProblems(gitSync("web", { kubeConfig: { secretRef: { name: "kc", namespace: "web" } } }))).toEqual([]);
    expect(gitSyncPlacementProblems(gitSync("web", remote))).toEqual([
      "spec.kubeConfig.secretRef.namespace is web-system: a GitSync outside tenantry-system may only read a kubeconfig Secret of its own namespace web",
      "spec.targetNamespace: only a GitSync in tenantry-system may apply into another namespace; a GitSync in web applies into web",
    ]);
  });

  it("says nothing of other kinds", () => {
    expect(gitSyncPlacementProblems({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "web" }, spec: remote })).toEqual([]);
  });
});

describe("the tenant-scope lint of a controlplane team's overlay", () => {
  const at = (object: KubeObject) => ({ object, file: "cluster/web/x.yaml", overlay: "cluster/web", team: "web" });
  const scope = (o: KubeObject) => (o.metadata.namespace === undefined ? "cluster" : "namespaced");
  const controlPlane = { apiVersion: "tenancy.kflex.kubestellar.org/v1alpha1", kind: "ControlPlane", metadata: { name: "web", labels } } as KubeObject;

  it("lets it hold its ControlPlane and its remote GitSync in tenantry-system", () => {
    expect(tenantScopeProblems([at(controlPlane), at(gitSync("tenantry-system", remote))], scope)).toEqual([]);
  });

  it("refuses another team's ControlPlane, and a GitSync in tenantry-system that would apply on this cluster, as another, or with another kubeconfig", () => {
    const messages = tenantScopeProblems(
      [
        at({ ...controlPlane, metadata: { ...controlPlane.metadata, name: "other" } }),
        at(gitSync("tenantry-system", { serviceAccountName: "admin" })),
        at(gitSync("tenantry-system", { ...remote, kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: "kube-system" } } })),
      ],
      scope,
    ).map((p) => p.message);
    expect(messages).toEqual([
      'cluster-scoped, and its name does not start with "web-": a team overlay holds only its namespace\'s objects and cluster-scoped objects named web-…; put shared objects in cluster/common/',
      "a team's GitSync in tenantry-system must apply into the team's own API server (spec.kubeConfig): on this cluster it would apply with tenantry-system's rights",
      "a team's GitSync in tenantry-system applies as the team: set spec.serviceAccountName: web",
      "a team's GitSync in tenantry-system applies into the team's namespace: set spec.targetNamespace: web",
      "a team's GitSync in tenantry-system reads the kubeconfig KubeFlex writes for its ControlPlane: set spec.kubeConfig.secretRef to name admin-kubeconfig, namespace web-system",
    ]);
  });
});
