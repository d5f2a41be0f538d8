// The tenant-scope lint of a team's render (src/policies/tenant-scope.ts).

import { describe, expect, it } from "vitest";
import { teamScopeProblems } from "../../src/policies/tenant-scope.js";

describe("teamScopeProblems", () => {
  it("names every out-of-scope object", () => {
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
