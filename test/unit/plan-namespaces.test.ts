// The plan of a change of a team's extra namespaces (issue 20), pure, on create-team's own
// render: a namespace removed without its tombstone is flagged like a removed team (the
// reconciler holds it), with its tombstone it names what goes; a namespace added raises no
// quota flag (the others' parts shrink), no loosened policy (the bindings name one more
// namespace), and is no removed team; a binding that stops naming a namespace is loosened.

import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/model/object.js";
import { resolveTeamSpec } from "../../src/model/team-spec.js";
import { formatTombstones, type Tombstone } from "../../src/model/tombstones.js";
import { buildPlan, type Plan, type PlanSide } from "../../src/plan/plan.js";
import { renderTeamOverlay } from "../../src/render/repos.js";
import { templateSets, testConfig, testVersions } from "../helpers/render.js";

const t = templateSets;
const versions = testVersions;
const config = testConfig;

function overlay(namespaces: string[]): KubeObject[] {
  const spec = resolveTeamSpec("shop", { repoUrl: "ssh://git@git.example.com/acme/shop.git", namespaces }, null, config);
  return [...renderTeamOverlay(t, config, spec, versions)]
    .filter(([p]) => !p.endsWith("/team.yaml") && !p.endsWith("/kustomization.yaml"))
    .flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJS() as KubeObject));
}

function tombstones(list: Tombstone[]): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "tenantry-tombstones", namespace: "tenantry-system", labels: { "app.kubernetes.io/managed-by": "tenantry" } }, data: { "tombstones.yaml": formatTombstones(list) } };
}

function side(objects: KubeObject[], ref: string): PlanSide {
  return { ref, commit: (ref === "base" ? "a" : "b").repeat(40), teams: ["shop"], objects: objects.map((object) => ({ object, file: null })) };
}

function reasons(p: Plan, kind: string): Record<string, readonly string[]> {
  return Object.fromEntries((p.risks.find((r) => r.kind === kind)?.objects ?? []).map((o) => [o.object, o.reasons]));
}

describe("plan: a team's extra namespaces", () => {
  it("flags a namespace removed without a tombstone like a removed team, naming the fix", () => {
    const p = buildPlan(side(overlay(["api", "web"]), "base"), side(overlay(["api"]), "head"));
    expect(reasons(p, "team-removed")).toEqual({
      "Namespace/shop-web": [
        "namespace shop-web of team shop removed without a tombstone: the reconciler keeps it, its 8 objects and everything else in it, and reports TeamDeletionNotRequested; to delete it, run tenantry create-team shop --namespaces with the namespaces that stay (it records the tombstone)",
      ],
    });
    expect(p.teams.removed).toEqual([]);
  });

  it("with its tombstone, says what goes", () => {
    const stone = { kind: "Namespace", name: "shop-web", deletedAt: "2026-12-03T02:00:00Z", by: "alice@acme.dev" };
    const p = buildPlan(side(overlay(["api", "web"]), "base"), side([...overlay(["api"]), tombstones([stone])], "head"));
    expect(reasons(p, "team-removed")["Namespace/shop-web"]).toEqual([
      "namespace shop-web of team shop removed (tombstone in cluster/teams/tombstones/tombstones.yaml by alice@acme.dev at 2026-12-03T02:00:00Z): its 8 objects will be pruned, and with its Namespace everything else in namespace shop-web",
    ]);
    // What goes with the namespace is not flagged again object by object.
    expect(Object.keys(reasons(p, "quota-raised")).filter((o) => o.includes("shop-web"))).toEqual([]);
  });

  it("adding a namespace removes nothing and raises no quota: the others' parts shrink", () => {
    const p = buildPlan(side(overlay(["api"]), "base"), side(overlay(["api", "web"]), "head"));
    expect(reasons(p, "team-removed")).toEqual({});
    expect(reasons(p, "quota-raised")).toEqual({});
    expect(p.changes.filter((c) => c.action === "added").map((c) => c.object)).toContain("Namespace/shop-web");
    // The policy bindings and constraints judge one more namespace: not a loosened policy. The
    // team's own admin-owned policy learns one more namespace's ServiceAccounts (stricter), which
    // the detector cannot judge: it asks for a review of that condition, and only of that.
    expect(reasons(p, "policy-loosened")).toEqual({ "ValidatingAdmissionPolicy/shop-admin-owned": ["spec.matchConditions changed: review the diff"] });
    // The new RoleBindings and the traffic among the team's namespaces are for review.
    expect(Object.keys(reasons(p, "rbac-widened"))).toEqual(["RoleBinding/shop-web/tenantry:team-admin", "RoleBinding/shop-web/tenantry:team-agent"]);
  });

  it("a policy binding that stops naming a namespace is loosened, naming it; from one namespace to many is not", () => {
    const removed = buildPlan(side(overlay(["api", "web"]), "base"), side(overlay(["api"]), "head"));
    expect(reasons(removed, "policy-loosened")["ValidatingAdmissionPolicyBinding/shop-resources"]).toEqual(["no longer applies in namespaces shop-web"]);
    const grown = buildPlan(side(overlay([]), "base"), side(overlay(["api"]), "head"));
    expect(reasons(grown, "policy-loosened")).toEqual({});
  });
});
