// The pure side of `tenantry import`: the layout parsers, the small kustomize they read with,
// and the last check against the new tenantry.yaml. Source trees are built in memory (or read
// from the fixtures); nothing is written.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import type { ClusterConfig } from "../../src/model/cluster-config.js";
import { finishImport, fluxGitUrl, forEngine } from "../../src/import/finish.js";
import { parseFluxV1, parseFluxdArgs } from "../../src/import/flux-v1.js";
import { parseFlux2 } from "../../src/import/flux2.js";
import { applyJsonOp, loadKustomization, strategicMerge } from "../../src/import/kustomize.js";
import { readSourceTree } from "../../src/import/read.js";
import type { ParsedSource, ReportItem } from "../../src/import/report.js";
import { durationSeconds, type SourceTree } from "../../src/import/source.js";

const fixtures = join(import.meta.dirname, "..", "fixtures", "import");
const flux2Upstream = readSourceTree(join(fixtures, "flux2-multi-tenancy", "upstream", "input"));
const fluxV1Upstream = readSourceTree(join(fixtures, "flux-v1", "upstream", "input"));
const opts = { defaultTier: "small", teamName: "tenant" as const };

const config = { name: "c", engine: "tenantry", defaultTier: "small", tiers: { small: {} }, teamRepoPattern: null, defaultRegistries: [] } as unknown as ClusterConfig;

function with_(tree: SourceTree, changes: Record<string, string>): SourceTree {
  return new Map([...tree, ...Object.entries(changes)]);
}

function find(items: readonly ReportItem[], verdict: ReportItem["verdict"], subject: RegExp): ReportItem | undefined {
  return items.find((i) => i.verdict === verdict && subject.test(i.subject));
}

function problemOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.join("\n");
    throw e;
  }
  throw new Error("no ValidationError");
}

describe("flux2-multi-tenancy", () => {
  it("maps upstream's dev-team, staging: repo, branch, the shorter interval, the staging path (not kept)", () => {
    const p = parseFlux2(flux2Upstream, { ...opts, env: "staging" });
    expect(p.env).toBe("staging");
    expect(p.adminGitUrl).toBe("ssh://git@github.com/mecsys/flux2-multi-tenancy");
    expect(p.teams).toEqual([
      { tenant: "dev-team", team: "dev-team", namespace: "apps", repoUrl: "https://github.com/fluxcd/flux2-multi-tenancy", branch: "dev-team", path: "./staging", interval: "1m", file: "tenants/base/dev-team/sync.yaml" },
    ]);
    expect(find(p.items, "unmapped", /path \.\/staging/)?.detail).toMatch(/root of the team's branch/);
    expect(find(p.items, "tightened", /RoleBinding apps\/dev-team-reconciler -> ClusterRole cluster-admin/)?.detail).toMatch(/tenantry:team-admin/);
    expect(find(p.items, "tightened", /^no Pod Security$/)?.detail).toMatch(/restricted/);
    expect(find(p.items, "tightened", /^no ResourceQuota$/)?.detail).toMatch(/tier small/);
    expect(find(p.items, "unmapped", /^Namespace apps$/)?.detail).toMatch(/becomes namespace dev-team/);
    expect(find(p.items, "unmapped", /Kustomization flux-system\/policies/)?.file).toBe("clusters/staging/policies.yaml");
    // The lockdown flags map, and so does the tenants sync.
    expect(find(p.items, "mapped", /--no-cross-namespace-refs=true/)).toBeDefined();
    expect(find(p.items, "mapped", /Kustomization flux-system\/tenants/)).toBeDefined();
  });

  it("reads the production overlay's path from its JSON 6902 patch", () => {
    const p = parseFlux2(flux2Upstream, { ...opts, env: "production" });
    expect(p.teams[0]?.path).toBe("./production");
  });

  it("--team-name namespace keeps the tenant's namespace", () => {
    const p = parseFlux2(flux2Upstream, { ...opts, env: "staging", teamName: "namespace" });
    expect(p.teams.map((t) => t.team)).toEqual(["apps"]);
    expect(find(p.items, "mapped", /^Namespace apps$/)).toBeDefined();
  });

  it("refuses to guess an environment, and names the ones there are", () => {
    expect(problemOf(() => parseFlux2(flux2Upstream, opts))).toMatch(/several environments \(production, staging\)/);
    expect(problemOf(() => parseFlux2(new Map([["README.md", ""]]), opts))).toMatch(/tenants\/base\/ is missing/);
  });

  it("reports extra objects, Helm releases, cross-namespace refs, second namespaces, other grants and people", () => {
    const tree = with_(flux2Upstream, {
      "tenants/base/dev-team/kustomization.yaml": "resources: [rbac.yaml, sync.yaml, extra.yaml]\n",
      "tenants/base/dev-team/extra.yaml": [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps-data}",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: redis, namespace: apps}",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: apps}",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: dev-team-auth, namespace: apps}",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: viewers, namespace: apps}\nroleRef: {kind: ClusterRole, name: view}\nsubjects: [{kind: Group, name: devs}]",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: dev-team-nodes}\nroleRef: {kind: ClusterRole, name: node-reader}\nsubjects: [{kind: User, name: alice}]",
      ].join("\n---\n"),
      "tenants/base/dev-team/sync.yaml": (flux2Upstream.get("tenants/base/dev-team/sync.yaml") ?? "").replace("    name: dev-team\n  prune", "    name: dev-team\n    namespace: flux-system\n  prune"),
    });
    const p = parseFlux2(tree, { ...opts, env: "staging" });
    expect(find(p.items, "unmapped", /^Namespace apps-data$/)?.detail).toMatch(/second namespace/);
    expect(find(p.items, "unmapped", /^HelmRelease apps\/redis$/)?.detail).toMatch(/Helm/);
    expect(find(p.items, "unmapped", /^ConfigMap apps\/settings$/)?.detail).toMatch(/extra object.*--extension ConfigMap\/dev-team\/settings/);
    expect(find(p.items, "unmapped", /^Secret apps\/dev-team-auth$/)?.detail).toMatch(/keys create dev-team/);
    expect(find(p.items, "unmapped", /RoleBinding apps\/viewers -> ClusterRole view/)).toBeDefined();
    expect(find(p.items, "unmapped", /subject Group devs/)?.detail).toMatch(/tenantry:team:dev-team/);
    expect(find(p.items, "unmapped", /ClusterRoleBinding dev-team-nodes/)?.detail).toMatch(/cluster-wide grant/);
    // A sourceRef into another namespace: named, and the tenant is not imported.
    expect(find(p.items, "unmapped", /sourceRef\.namespace flux-system/)?.detail).toMatch(/cross-namespace/);
    expect(p.teams).toEqual([]);
  });

  it("a malformed file is one problem naming it", () => {
    const tree = with_(flux2Upstream, { "tenants/base/dev-team/rbac.yaml": "kind: [\n" });
    expect(problemOf(() => parseFlux2(tree, { ...opts, env: "staging" }))).toMatch(/^tenants\/base\/dev-team\/rbac\.yaml: malformed YAML \(.*\): fix the file$/);
  });
});

describe("flux-v1 multi-tenancy", () => {
  it("maps both teams from their flux-patch.yaml over base/flux", () => {
    const p = parseFluxV1(fluxV1Upstream, opts);
    expect(p.adminGitUrl).toBe("git@github.com:org/dev-cluster");
    expect(p.teams).toEqual(
      ["team1", "team2"].map((t) => ({ tenant: t, team: t, namespace: t, repoUrl: `git@github.com:org/dev-${t}`, branch: "master", path: "./", interval: "5m", file: `cluster/${t}/flux-patch.yaml` })),
    );
    expect(find(p.items, "unmapped", /--manifest-generation/)?.tenant).toBe("team1");
    expect(find(p.items, "tightened", /PodSecurityPolicy default-psp-team1 \(privileged, host namespaces\)/)?.detail).toMatch(/restricted/);
    expect(find(p.items, "tightened", /RoleBinding team1\/flux -> Role flux \(every verb on every resource\)/)).toBeDefined();
    expect(find(p.items, "tightened", /ClusterRoleBinding flux-team1 -> ClusterRole flux-readonly/)).toBeDefined();
    expect(find(p.items, "unmapped", /CustomResourceDefinition helmreleases\.flux\.weave\.works/)?.file).toBe("cluster/common/crds.yaml");
  });

  it("reads --git-path, a second allowed namespace and image automation as not mapped", () => {
    const patch = (fluxV1Upstream.get("cluster/team1/flux-patch.yaml") ?? "").replace(
      "            - --git-branch=master\n",
      "            - --git-branch=main\n            - --git-path=workloads\n            - --k8s-allow-namespace=team1,shared\n            - --registry-poll-interval=1m\n            - --git-poll-interval=1m\n",
    );
    const p = parseFluxV1(with_(fluxV1Upstream, { "cluster/team1/flux-patch.yaml": patch }), opts);
    const team1 = p.teams.find((t) => t.tenant === "team1");
    expect(team1).toMatchObject({ branch: "main", path: "workloads", interval: "1m" });
    expect(find(p.items, "unmapped", /--git-path=workloads/)).toBeDefined();
    expect(find(p.items, "unmapped", /--k8s-allow-namespace=shared/)?.detail).toMatch(/second namespace/);
    expect(find(p.items, "unmapped", /--registry-poll-interval/)?.detail).toMatch(/image automation/);
  });

  it("needs cluster/kustomization.yaml", () => {
    expect(problemOf(() => parseFluxV1(flux2Upstream, opts))).toMatch(/cluster\/kustomization\.yaml is missing/);
  });

  it("parses fluxd flags", () => {
    expect([...parseFluxdArgs(["--git-url=git@h:o/r", "--git-readonly", "plain", 3]).flags]).toEqual([
      ["git-url", "git@h:o/r"],
      ["git-readonly", "true"],
    ]);
  });
});

describe("the small kustomize", () => {
  it("strategic merge: maps merged, named lists merged by name, null deletes, other lists replaced", () => {
    const base = { spec: { containers: [{ name: "flux", args: ["a"], image: "x" }, { name: "side" }], drop: 1, keep: [1, 2] } };
    const patch = { spec: { containers: [{ name: "flux", args: ["b", "c"] }], drop: null, keep: [3] } };
    expect(strategicMerge(base, patch)).toEqual({ spec: { containers: [{ name: "flux", args: ["b", "c"], image: "x" }, { name: "side" }], keep: [3] } });
  });

  it("JSON 6902: add (also appending with -), replace, remove; anything else refused", () => {
    const doc = { spec: { args: ["a"] } } as Record<string, unknown>;
    expect(applyJsonOp(doc, { op: "add", path: "/spec/args/-", value: "b" })).toBe(true);
    expect(applyJsonOp(doc, { op: "add", path: "/spec/path", value: "./x" })).toBe(true);
    expect(applyJsonOp(doc, { op: "replace", path: "/spec/args/0", value: "z" })).toBe(true);
    expect(applyJsonOp(doc, { op: "remove", path: "/spec/path" })).toBe(true);
    expect(applyJsonOp(doc, { op: "move", from: "/a", path: "/b" })).toBe(false);
    expect(doc).toEqual({ spec: { args: ["z", "b"] } });
  });

  it("sets the namespace on namespaced objects only, after the patches; reports a remote base", () => {
    const tree = new Map([
      ["k/kustomization.yaml", "namespace: team\nresources: [a.yaml, https://github.com/org/repo//base?ref=v1]\npatchesStrategicMerge: [p.yaml]\nconfigMapGenerator: [{name: cm}]\n"],
      ["k/a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n"],
      ["k/p.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, labels: {x: y}}\n"],
    ]);
    const l = loadKustomization(tree, "k", null);
    expect(l.objects.map((o) => [o.file, o.obj])).toEqual([
      ["k/a.yaml", { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } }],
      ["k/p.yaml", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa", namespace: "team", labels: { x: "y" } } }],
    ]);
    expect(l.items.map((i) => i.subject)).toEqual(["remote base https://github.com/org/repo//base?ref=v1"]);
    expect(l.generators).toEqual([{ file: "k/kustomization.yaml", field: "configMapGenerator", name: "cm" }]);
  });

  it("refuses resources outside the tree and loops", () => {
    expect(problemOf(() => loadKustomization(new Map([["k/kustomization.yaml", "resources: [../../etc]\n"]]), "k", null))).toMatch(/points outside the repo/);
    expect(problemOf(() => loadKustomization(new Map([["k/kustomization.yaml", "resources: [.]\n"]]), "k", null))).toMatch(/nest more than 16 deep/);
  });

  it("durations", () => {
    expect(durationSeconds("1m0s")).toBe(60);
    expect(durationSeconds("1h30m")).toBe(5400);
    expect(durationSeconds("soon")).toBe(0);
  });
});

describe("finishing against tenantry.yaml", () => {
  const parsed = (teams: ParsedSource["teams"]): ParsedSource => ({ layout: "flux-v1", env: null, adminGitUrl: null, teams, items: [] });
  const team = (tenant: string, over: Partial<ParsedSource["teams"][number]> = {}): ParsedSource["teams"][number] => ({
    tenant,
    team: tenant,
    namespace: tenant,
    repoUrl: `https://git.example/${tenant}.git`,
    branch: "main",
    path: "./",
    interval: "1m",
    file: `cluster/${tenant}/flux-patch.yaml`,
    ...over,
  });

  it("leaves out (and reports) a tenant whose name is no team name, never renaming it", () => {
    const done = finishImport(parsed([team("Team_1"), team("default"), team("ok")]), config);
    expect(done.teams.map((t) => t.team)).toEqual(["ok"]);
    expect(done.items.map((i) => [i.verdict, i.subject])).toEqual([
      ["unmapped", "tenant Team_1 -> team Team_1"],
      ["unmapped", "tenant default -> team default"],
    ]);
    expect(done.items[0]?.detail).toMatch(/not a DNS-1123 label.*tenantry does not rename it/);
  });

  it("leaves out a second tenant becoming the same team, and a team create-team would refuse", () => {
    const done = finishImport(parsed([team("a"), team("b", { team: "a" }), team("c", { repoUrl: "ftp://x/y" }), team("d", { interval: "soon" })]), config);
    expect(done.teams.map((t) => t.tenant)).toEqual(["a"]);
    expect(done.items.map((i) => i.detail)).toEqual([
      "not imported: tenant a already becomes team a",
      expect.stringMatching(/not a Git URL tenantry can fetch/),
      expect.stringMatching(/is not a duration/),
    ]);
  });

  it("writes git@host:path as ssh:// for Flux, and says so", () => {
    expect(fluxGitUrl("git@github.com:org/dev-team1")).toBe("ssh://git@github.com/org/dev-team1");
    expect(fluxGitUrl("https://github.com/org/x")).toBe("https://github.com/org/x");
    const flux = forEngine(parsed([team("a", { repoUrl: "git@github.com:org/a" })]), "flux");
    expect(flux.teams[0]?.repoUrl).toBe("ssh://git@github.com/org/a");
    expect(flux.items[0]?.detail).toMatch(/the same repo, in the form Flux fetches/);
    expect(forEngine(parsed([team("a", { repoUrl: "git@github.com:org/a" })]), "tenantry").teams[0]?.repoUrl).toBe("git@github.com:org/a");
  });
});
