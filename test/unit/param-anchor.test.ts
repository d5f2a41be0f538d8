// The param anchor (cluster/common/admission-policies/param-anchor.yaml), pure: what `init`
// renders for each policy and sync engine, that the one binding covers every policy tenantry
// binds with a paramRef (the API server keeps one param informer per paramKind), and that a
// plan flags its removal with the reason. test/cluster/param-anchor.test.ts proves on a real
// API server that it keeps later teams' parameters seen.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { renderInit } from "../../src/generate/init.js";
import type { PolicyEngine, SyncEngine } from "../../src/model/constants.js";
import type { KubeObject } from "../../src/model/object.js";
import { resolveTeamSpec } from "../../src/model/team-spec.js";
import { packageRoot } from "../../src/paths.js";
import { buildPlan } from "../../src/plan/plan.js";
import { PARAM_ANCHOR } from "../../src/plan/risks.js";
import { renderTeamOverlay } from "../../src/render/repos.js";
import { loadTemplateDir } from "../../src/repo/templates.js";

const t = {
  partials: loadTemplateDir(join(packageRoot, "templates"), true),
  cluster: loadTemplateDir(join(packageRoot, "cluster-template")),
  overlay: loadTemplateDir(join(packageRoot, "team-template", "overlay")),
};
const versions = { tenantry: "0.0.0-test", kustomize: "v5.0.0", gatekeeper: "v3.0.0" };
const DIR = "cluster/common/admission-policies";

interface Binding extends KubeObject {
  spec: {
    policyName: string;
    validationActions: string[];
    paramRef?: { name?: string; namespace?: string; parameterNotFoundAction?: string };
    matchResources: { namespaceSelector: { matchExpressions: { key: string; operator: string }[] } };
  };
}
interface Policy extends KubeObject {
  spec: { paramKind?: { apiVersion: string; kind: string }; matchConstraints: { resourceRules: { resources: string[] }[] } };
}

function render(policyEngine: PolicyEngine, engine: SyncEngine = "tenantry") {
  return renderInit(t, { clusterName: "prod", gitUrl: "ssh://git@git.example.com/acme/admin.git", policyEngine, engine }, versions, engine === "flux" ? "# components\n" : null);
}

function resources(tree: ReadonlyMap<string, string>, path: string): string[] {
  return (parse(tree.get(path) ?? "") as { resources?: string[] }).resources ?? [];
}

function docs(text: string | undefined): KubeObject[] {
  return parseAllDocuments(text ?? "").map((d) => d.toJS() as KubeObject);
}

/** Every ValidatingAdmissionPolicy of cluster/common/admission-policies/, by name. */
function policies(tree: ReadonlyMap<string, string>): Map<string, Policy> {
  const found = [...tree].filter(([p]) => p.startsWith(`${DIR}/`) && !p.endsWith("kustomization.yaml")).flatMap(([, text]) => docs(text));
  return new Map(found.filter((o) => o.kind === "ValidatingAdmissionPolicy").map((o) => [o.metadata.name, o as Policy]));
}

describe("the param anchor in cluster/common", () => {
  it.each([
    ["vap", "tenantry"],
    ["both", "tenantry"],
    ["both", "flux"],
  ] as const)("policyEngine %s, engine %s: listed and rendered, selecting no namespace, with a valid paramRef that never denies", (policyEngine, engine) => {
    const { tree } = render(policyEngine, engine);
    expect(resources(tree, "cluster/common/kustomization.yaml")).toContain("admission-policies");
    expect(resources(tree, `${DIR}/kustomization.yaml`)).toContain("param-anchor.yaml");
    const [anchor, ...more] = docs(tree.get(`${DIR}/param-anchor.yaml`)) as Binding[];
    expect(more).toEqual([]);
    expect(anchor).toMatchObject({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: PARAM_ANCHOR, labels: { "app.kubernetes.io/managed-by": "tenantry" } },
      spec: {
        validationActions: ["Deny"],
        paramRef: { name: PARAM_ANCHOR, namespace: "tenantry-system", parameterNotFoundAction: "Allow" },
        matchResources: { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "DoesNotExist" }] } },
      },
    });
    expect(Object.keys(anchor?.spec.matchResources ?? {})).toEqual(["namespaceSelector"]);
    // Its policy exists (a binding to a missing policy keeps no informer) and takes ConfigMaps;
    // it matches only namespaced objects (a namespaceSelector never skips a cluster-scoped one).
    const policy = policies(tree).get(anchor?.spec.policyName ?? "");
    expect(policy?.spec.paramKind).toEqual({ apiVersion: "v1", kind: "ConfigMap" });
    expect(policy?.spec.matchConstraints.resourceRules.flatMap((r) => r.resources).sort()).toEqual(["pods", "pods/ephemeralcontainers"]);
  });

  it("policyEngine gatekeeper: cluster/common does not list admission-policies, so no anchor is applied", () => {
    const { tree } = render("gatekeeper");
    expect(resources(tree, "cluster/common/kustomization.yaml")).not.toContain("admission-policies");
  });

  it("one anchor covers every policy a team binds with a paramRef: they all take the anchor's paramKind (the API server's informers are per paramKind)", () => {
    const { tree, config } = render("both");
    const all = policies(tree);
    const anchorPolicy = (docs(tree.get(`${DIR}/param-anchor.yaml`))[0] as Binding).spec.policyName;
    const kinds = new Set([...all.values()].flatMap((p) => (p.spec.paramKind === undefined ? [] : [JSON.stringify(p.spec.paramKind)])));
    expect([...kinds]).toEqual([JSON.stringify(all.get(anchorPolicy)?.spec.paramKind)]);
    const team = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git", nodePool: "pool=web" }, null, config);
    const overlay = renderTeamOverlay(t, config, team, versions);
    const bound = docs(overlay.get("cluster/web/admission-policies.yaml")).filter((o) => o.kind === "ValidatingAdmissionPolicyBinding") as Binding[];
    const withParams = bound.filter((b) => b.spec.paramRef !== undefined).map((b) => b.spec.policyName);
    expect(withParams.sort()).toEqual(["tenantry-allowed-registries", "tenantry-node-pool"]);
    for (const name of withParams) expect(all.get(name)?.spec.paramKind, name).toEqual(all.get(anchorPolicy)?.spec.paramKind);
  });
});

describe("plan: the param anchor", () => {
  const { tree } = render("both");
  const anchor = docs(tree.get(`${DIR}/param-anchor.yaml`))[0] as KubeObject;
  const side = (objects: KubeObject[], ref: string) => ({ ref, commit: ref.padEnd(40, "0"), teams: ["web"], objects: objects.map((object) => ({ object, file: `${DIR}/param-anchor.yaml` })) });

  it("adding it is a cluster-wide change with no risk flag", () => {
    const p = buildPlan(side([], "a"), side([anchor], "b"));
    expect(p.changes.map((c) => [c.action, c.object, c.scope])).toEqual([["added", `ValidatingAdmissionPolicyBinding/${PARAM_ANCHOR}`, "cluster-wide"]]);
    expect(p.risks).toEqual([]);
  });

  it("removing it is flagged policy-loosened, saying what the API server then loses", () => {
    const p = buildPlan(side([anchor], "a"), side([], "b"));
    const flagged = p.risks.find((r) => r.kind === "policy-loosened")?.objects;
    expect(flagged).toHaveLength(1);
    expect(flagged?.[0]?.object).toBe(`ValidatingAdmissionPolicyBinding/${PARAM_ANCHOR}`);
    expect(flagged?.[0]?.reasons[0]).toMatch(/^removed: once no team has a binding, the API server stops watching the parameter ConfigMaps until it restarts; .*kubernetes\/kubernetes#130887/);
  });
});
