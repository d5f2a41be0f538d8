// A team's extra namespaces in its overlay (issue 20), pure: a three-namespace team gets in
// every namespace the Namespace, RoleBindings, its part of the quota, LimitRange and network
// policies; the parts add up to at most the tier; the policies let in the team's own namespaces
// (and what --allow-from names) only; constraints, policy bindings and the GitSync cover them
// all; a split that leaves a namespace nothing is refused; a namespace that goes leaves a
// Namespace tombstone, and one that comes back drops it.

import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { namespaceMove, peersOf } from "../../src/generate/team.js";
import type { ClusterConfig } from "../../src/model/cluster-config.js";
import { quantityValue } from "../../src/model/quantity.js";
import { resolveTeamSpec, type TeamOptions, teamSpecProblems } from "../../src/model/team-spec.js";
import { renderTeamOverlay } from "../../src/render/repos.js";
import type { KubeObject } from "../../src/model/object.js";
import { quotaTotalProblems } from "../../src/validate/quota-total.js";
import { tenantScopeProblems } from "../../src/validate/lint.js";
import { templateSets, testConfig, testVersions } from "../helpers/render.js";

const t = templateSets;
const versions = testVersions;
const config = testConfig;

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

function spec(team: string, opts: TeamOptions, cfg: ClusterConfig = config) {
  return resolveTeamSpec(team, { repoUrl: `ssh://git@git.example.com/acme/${team}.git`, ...opts }, null, cfg);
}

function objects(tree: ReadonlyMap<string, string>): Obj[] {
  return [...tree]
    .filter(([p]) => p.endsWith(".yaml") && !p.endsWith("/team.yaml") && !p.endsWith("/kustomization.yaml"))
    .flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJS() as Obj));
}

const shop = spec("shop", { namespaces: ["api", "web"], nodePool: "pool=shop" });
const all = ["shop", "shop-api", "shop-web"];
const rendered = objects(renderTeamOverlay(t, config, shop, versions));
const inNs = (kind: string, ns: string) => rendered.filter((o) => o.kind === kind && o.metadata.namespace === ns).map((o) => o.metadata.name);

describe("a three-namespace team's overlay", () => {
  it("has in every namespace its Namespace, RoleBindings, quota, LimitRange and network policies", () => {
    for (const ns of all) {
      const namespace = rendered.find((o) => o.kind === "Namespace" && o.metadata.name === ns);
      expect(namespace, ns).toBeDefined();
      expect(inNs("RoleBinding", ns).sort()).toEqual(["tenantry:team-admin", "tenantry:team-agent"]);
      expect(inNs("ResourceQuota", ns)).toEqual(["tenantry-quota"]);
      expect(inNs("LimitRange", ns)).toEqual(["tenantry-limits"]);
      expect(inNs("NetworkPolicy", ns)).toEqual(expect.arrayContaining(["tenantry-default-deny", "tenantry-allow-same-namespace", "tenantry-allow-team-namespaces", "tenantry-allow-dns"]));
    }
    // The ServiceAccount, GitSync and agent stay in the home namespace, as do the agent's egress.
    expect(rendered.filter((o) => ["ServiceAccount", "GitSync", "Deployment"].includes(o.kind)).map((o) => o.metadata.namespace)).toEqual(["shop", "shop", "shop"]);
    expect(rendered.filter((o) => o.metadata.name === "tenantry-allow-agent-egress").map((o) => o.metadata.namespace)).toEqual(["shop"]);
  });

  it("gives every Namespace the home one's labels and annotations (Pod Security, team, node selector)", () => {
    const namespaces = rendered.filter((o) => o.kind === "Namespace");
    expect(namespaces.map((o) => o.metadata.name)).toEqual(all);
    for (const ns of namespaces) {
      expect(ns.metadata.labels).toEqual(namespaces[0]?.metadata.labels);
      expect(ns.metadata.annotations).toEqual({ "scheduler.alpha.kubernetes.io/node-selector": "pool=shop" });
    }
    expect(namespaces[0]?.metadata.labels).toMatchObject({ "tenantry.dev/team": "shop", "pod-security.kubernetes.io/enforce": "restricted" });
  });

  it("binds the team's ServiceAccount and group of the home namespace in each", () => {
    for (const b of rendered.filter((o) => o.kind === "RoleBinding")) {
      expect((b.subjects as { name: string; namespace?: string }[])[0]).toEqual({ kind: "ServiceAccount", name: "shop", namespace: "shop" });
    }
  });

  it("divides the tier among the namespaces so that the team's total never exceeds it", () => {
    const tier = config.tiers.small?.quota ?? {};
    const quotas = rendered.filter((o) => o.kind === "ResourceQuota").map((o) => (o.spec as { hard: Record<string, string> }).hard);
    expect(quotas).toHaveLength(3);
    for (const [key, value] of Object.entries(tier)) {
      const sum = quotas.reduce((a, q) => a + (quantityValue(q[key]) ?? NaN), 0);
      expect(sum, key).toBeLessThanOrEqual(quantityValue(value) ?? 0);
      if ((quantityValue(value) ?? 0) > 0) expect(sum, key).toBeGreaterThan(0);
    }
  });

  it("lets in the team's own namespaces only: no policy selects a namespace beyond them, kube-system's DNS and --allow-from", () => {
    const allow = rendered.filter((o) => o.metadata.name === "tenantry-allow-team-namespaces");
    expect(allow).toHaveLength(3);
    for (const p of allow) {
      const selector = { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: all }] } };
      expect(p.spec).toMatchObject({ podSelector: {}, ingress: [{ from: [selector] }], egress: [{ to: [selector] }] });
    }
    const selected = rendered
      .filter((o) => o.kind === "NetworkPolicy")
      .flatMap((o) => JSON.stringify(o.spec).match(/"values":\[[^\]]*\]|"kubernetes.io\/metadata.name":"[^"]*"/g) ?? []);
    expect([...new Set(selected)].sort()).toEqual(['"kubernetes.io/metadata.name":"kube-system"', `"values":${JSON.stringify(all)}`]);
  });

  it("--allow-from another team lets in all of its namespaces; a one-namespace team or a plain namespace as before", () => {
    const web = spec("web", { allowFrom: ["shop", "team1", "ingress-nginx"] });
    const out = objects(renderTeamOverlay(t, config, web, versions, peersOf([shop, spec("team1", {})])));
    const from = (name: string) => (out.find((o) => o.metadata.name === `tenantry-allow-from-${name}`)?.spec as { ingress: { from: unknown[] }[] }).ingress[0]?.from[0];
    expect(from("shop")).toEqual({ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: all }] } });
    expect(from("team1")).toEqual({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "team1" } } });
    expect(from("ingress-nginx")).toEqual({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } });
    // And shop's own --allow-from reaches each of its namespaces.
    const shopFrom = objects(renderTeamOverlay(t, config, { ...shop, allowFrom: ["web"] }, versions));
    expect(shopFrom.filter((o) => o.metadata.name === "tenantry-allow-from-web").map((o) => o.metadata.namespace)).toEqual(all);
  });

  it("covers every namespace with the Gatekeeper constraints and the policy bindings", () => {
    const constraints = rendered.filter((o) => o.kind.startsWith("Tenantry"));
    expect(constraints.length).toBeGreaterThan(5);
    for (const c of constraints) expect((c.spec as { match: { namespaces: string[] } }).match.namespaces, c.kind).toEqual(all);
    const bindings = rendered.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding" && o.metadata.name !== "shop-admin-owned");
    expect(bindings.length).toBeGreaterThan(3);
    for (const b of bindings) {
      expect((b.spec as { matchResources: unknown }).matchResources, b.metadata.name).toEqual({ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: all }] } });
    }
  });

  it("keeps the admin's objects in every namespace of the team from every identity of the team (the shared policy knows a team by the request's namespace)", () => {
    const policy = rendered.find((o) => o.kind === "ValidatingAdmissionPolicy" && o.metadata.name === "shop-admin-owned");
    expect(JSON.stringify(policy?.spec)).toContain("g in ['system:serviceaccounts:shop', 'system:serviceaccounts:shop-api', 'system:serviceaccounts:shop-web', 'tenantry:team:shop']");
    const binding = rendered.find((o) => o.kind === "ValidatingAdmissionPolicyBinding" && o.metadata.name === "shop-admin-owned");
    expect(binding?.spec).toEqual({
      policyName: "shop-admin-owned",
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["shop", "shop-api", "shop-web"] }] } },
    });
    expect(renderTeamOverlay(t, config, spec("one", {}), versions).has("cluster/one/admin-owned.yaml")).toBe(false);
  });

  it("lists the extra namespaces (full names) in the GitSync, and nothing for a one-namespace team", () => {
    expect(rendered.find((o) => o.kind === "GitSync")?.spec?.namespaces).toEqual(["shop-api", "shop-web"]);
    const one = objects(renderTeamOverlay(t, config, spec("one", {}), versions));
    expect(one.find((o) => o.kind === "GitSync")?.spec).not.toHaveProperty("namespaces");
    expect(one.filter((o) => o.kind === "Namespace")).toHaveLength(1);
    expect(one.some((o) => o.metadata.name === "tenantry-allow-team-namespaces")).toBe(false);
  });
});

describe("the quota split in create-team's checks", () => {
  it("refuses a split that leaves a namespace none of a resource, naming it", () => {
    const small = config.tiers.small;
    if (small === undefined) throw new Error("init renders tier small");
    const tiny: ClusterConfig = { ...config, tiers: { ...config.tiers, tiny: { ...small, quota: { ...small.quota, pods: "2" } } } };
    const s = { ...shop, tier: "tiny" };
    expect(teamSpecProblems(s, tiny)).toEqual(all.map((ns) => `--namespaces: pods 2 split among 3 namespaces leaves ${ns} none: pick a bigger tier, fewer namespaces, or give it more weight in tenantry.yaml's spec.namespaceQuota`));
    expect(() => spec("shop", { namespaces: ["api", "web"], tier: "tiny" }, tiny)).toThrow(/leaves shop-web none/);
  });

  it("follows a weighted rule from tenantry.yaml", () => {
    const weighted: ClusterConfig = { ...config, namespaceQuota: { split: "weighted", weights: { home: 1, api: 3 } } };
    const out = objects(renderTeamOverlay(t, weighted, spec("shop", { namespaces: ["api"] }, weighted), versions));
    const pods = out.filter((o) => o.kind === "ResourceQuota").map((o) => [o.metadata.namespace, (o.spec as { hard: Record<string, string> }).hard.pods]);
    expect(pods).toEqual([
      ["shop", "5"],
      ["shop-api", "15"],
    ]);
  });
});

describe("namespaceMove: the tombstones of a change of namespaces", () => {
  const who = { now: new Date("2026-01-02T03:04:05.678Z"), by: "alice@acme.dev" };
  it("records a Namespace tombstone for one that goes, none for one that comes, and drops it when it comes back", () => {
    const before = spec("shop", { namespaces: ["api", "web"] });
    const after = spec("shop", { namespaces: ["api", "db"] });
    const m = namespaceMove("shop", before, after, [], who);
    expect(m.removed).toEqual([{ kind: "Namespace", name: "shop-web", deletedAt: "2026-01-02T03:04:05Z", by: "alice@acme.dev" }]);
    expect(m.added).toEqual(["shop-db"]);
    expect(m.tombstones).toEqual(m.removed);
    const back = namespaceMove("shop", after, before, m.tombstones, who);
    expect(back.tombstones).toEqual([{ kind: "Namespace", name: "shop-db", deletedAt: "2026-01-02T03:04:05Z", by: "alice@acme.dev" }]);
    expect(back.added).toEqual(["shop-web"]);
  });

  it("returns the same list when nothing changes", () => {
    const list = [{ kind: "Team", name: "old", deletedAt: "2026-01-01T00:00:00Z", by: "bob" }];
    expect(namespaceMove("shop", shop, shop, list, who).tombstones).toBe(list);
  });
});

describe("validate: a multi-namespace team's overlay", () => {
  const located = rendered.map((o) => ({ object: o as unknown as KubeObject, file: "cluster/shop/x.yaml", overlay: "cluster/shop", team: "shop" }));

  it("passes the quota total and the tenant-scope lint as rendered", () => {
    expect(quotaTotalProblems(located, shop, config)).toEqual([]);
    const scope = (o: KubeObject) => (["Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"].includes(o.kind) || o.kind.startsWith("Tenantry") ? ("cluster" as const) : ("namespaced" as const));
    expect(tenantScopeProblems(located, scope, () => all)).toEqual([]);
    // Without the team's extra namespaces, the lint refuses them: the namespaces make them the team's.
    expect(tenantScopeProblems(located, scope).map((p) => p.message)).toContain("the overlay of team shop may only hold its own Namespace shop");
  });

  it("refuses quotas raised by hand beyond the tier, and a namespace left without one", () => {
    const raised = located.map((l) =>
      l.object.kind === "ResourceQuota" && l.object.metadata.namespace === "shop-api" ? { ...l, object: { ...l.object, spec: { hard: { ...(l.object as unknown as { spec: { hard: object } }).spec.hard, pods: "20" } } } } : l,
    );
    expect(quotaTotalProblems(raised, shop, config).map((p) => p.message)).toEqual([
      "the ResourceQuotas of team shop add up to more pods than tier small allows (20): the tier is the team's total over its namespaces; run tenantry create-team shop to render them again",
    ]);
    const dropped = located.filter((l) => !(l.object.kind === "ResourceQuota" && l.object.metadata.namespace === "shop-web"));
    expect(quotaTotalProblems(dropped, shop, config).map((p) => p.message)).toEqual([
      "namespace shop-web of team shop has no ResourceQuota: nothing bounds it within tier small; run tenantry create-team shop to render it again",
    ]);
  });
});
