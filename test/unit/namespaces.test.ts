// A team's namespaces (model/namespaces.ts): names, collisions across teams, the quota split
// that keeps the team's total within its tier, and team.yaml / tenantry.yaml round trips.

import { describe, expect, it } from "vitest";
import { parseQuantity } from "../../src/model/quantity.js";
import { extraNamespaceProblems, namespaceCollisionProblems, splitQuota, teamNamespaces } from "../../src/model/namespaces.js";
import { formatTeamSpec, parseTeamSpec, resolveTeamSpec } from "../../src/model/team-spec.js";
import { parseClusterConfig } from "../../src/model/cluster-config.js";
import { ValidationError } from "../../src/errors.js";

const TIER = {
  "requests.cpu": "4",
  "limits.cpu": "8",
  "requests.memory": "8Gi",
  "limits.memory": "16Gi",
  "requests.ephemeral-storage": "10Gi",
  "limits.ephemeral-storage": "20Gi",
  pods: "20",
  services: "10",
  replicationcontrollers: "0",
  secrets: "50",
  configmaps: "50",
  persistentvolumeclaims: "5",
};

const CONFIG = `apiVersion: tenantry.dev/v1alpha1
kind: ClusterConfig
metadata:
  name: c1
spec:
  policyEngine: vap
  podSecurity: {level: restricted, version: latest}
  agent: {image: ghcr.io/acme/agent:v1}
  defaultTier: small
  defaultRegistries: []
  tiers:
    small:
      quota: ${JSON.stringify(TIER)}
      containerDefaults:
        requests: {cpu: 100m, memory: 128Mi, ephemeral-storage: 100Mi}
        limits: {cpu: 500m, memory: 256Mi, ephemeral-storage: 1Gi}
`;

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return [...e.problems];
    throw e;
  }
  return [];
}

describe("team namespaces", () => {
  it("are the home namespace first, then <team>-<name>", () => {
    expect(teamNamespaces("shop", ["api", "web"])).toEqual(["shop", "shop-api", "shop-web"]);
  });

  it("refuse names that are no DNS label, too long with the team's prefix, home, or -system", () => {
    expect(extraNamespaceProblems("shop", ["api"])).toEqual([]);
    const long = "a".repeat(59);
    expect(extraNamespaceProblems("shop", [long]).join("\n")).toMatch(/shop-a+ must be a DNS label of at most 63/);
    expect(extraNamespaceProblems("shop", ["Api"]).join("\n")).toMatch(/--namespaces "Api"/);
    expect(extraNamespaceProblems("shop", ["home"]).join("\n")).toMatch(/home namespace shop/);
    expect(extraNamespaceProblems("shop", ["system"]).join("\n")).toMatch(/shop-system ends in -system/);
    expect(extraNamespaceProblems("shop", ["x", "x"]).join("\n")).toMatch(/twice/);
    // A team name and an extra name may not make a reserved namespace between them.
    expect(extraNamespaceProblems("kube", ["public"]).join("\n")).toMatch(/kube-public is a reserved namespace/);
    expect(extraNamespaceProblems("kube", ["node-lease"]).join("\n")).toMatch(/kube-node-lease is a reserved namespace/);
  });

  it("may not be another team's namespace, either way round", () => {
    expect(namespaceCollisionProblems({ name: "a", namespaces: ["b-c"] }, [{ name: "a-b", namespaces: ["c"] }])).toEqual([
      "namespace a-b-c of team a is already team a-b's namespace a-b-c: pick another name in --namespaces",
    ]);
    expect(namespaceCollisionProblems({ name: "a-b", namespaces: [] }, [{ name: "a", namespaces: ["b"] }])).toEqual([
      'team name "a-b" is already team a\'s namespace a-b: pick another name',
    ]);
    expect(namespaceCollisionProblems({ name: "a", namespaces: ["x"] }, [{ name: "a", namespaces: ["x"] }, { name: "b", namespaces: ["x"] }])).toEqual([]);
  });
});

describe("splitQuota", () => {
  it("gives a home-only team the tier as it is", () => {
    expect(splitQuota("shop", [], TIER, { split: "even" }).parts).toEqual([{ namespace: "shop", quota: TIER }]);
  });

  it("never adds up to more than the tier, whatever the split", () => {
    for (const [extra, rule] of [
      [["api", "web"], { split: "even" }],
      [["a", "b", "c"], { split: "even" }],
      [["api", "web"], { split: "weighted", weights: { home: 2, api: 3, web: 3 } }],
    ] as const) {
      const { parts, problems } = splitQuota("shop", extra, TIER, rule);
      expect(problems).toEqual([]);
      expect(parts.map((p) => p.namespace)).toEqual(teamNamespaces("shop", extra));
      for (const [key, total] of Object.entries(TIER)) {
        const sum = parts.reduce((s, p) => s + parseQuantity(p.quota[key] ?? "x"), 0);
        expect(sum, key).toBeLessThanOrEqual(parseQuantity(total) + 1e-9);
        expect(sum, key).toBeGreaterThanOrEqual(parseQuantity(total) * 0.6);
      }
    }
  });

  it("writes quantities as Kubernetes does and splits by weight", () => {
    const { parts } = splitQuota("shop", ["api", "web"], TIER, { split: "weighted", weights: { home: 2, api: 1 } });
    expect(parts.map((p) => [p.namespace, p.quota["requests.cpu"], p.quota["requests.memory"], p.quota.pods])).toEqual([
      ["shop", "2", "4Gi", "10"],
      ["shop-api", "1", "2Gi", "5"],
      ["shop-web", "1", "2Gi", "5"],
    ]);
    const even = splitQuota("shop", ["api", "web"], TIER, { split: "even" }).parts[0]?.quota;
    expect([even?.["requests.cpu"], even?.["requests.memory"], even?.pods]).toEqual(["1333m", "2730Mi", "6"]);
  });

  it("reads weights by own key only: a namespace named constructor weighs 1, not Object", () => {
    const { parts, problems } = splitQuota("shop", ["constructor"], TIER, { split: "weighted", weights: { home: 1 } });
    expect(problems).toEqual([]);
    expect(parts.map((p) => p.quota["requests.cpu"])).toEqual(["2", "2"]);
  });

  it("refuses a split that leaves a namespace none of what the tier has", () => {
    const { problems } = splitQuota("shop", ["a", "b", "c", "d", "e", "f"], { ...TIER, persistentvolumeclaims: "5" }, { split: "even" });
    expect(problems.join("\n")).toMatch(/persistentvolumeclaims 5 split among 7 namespaces leaves shop(-\w)? none/);
  });
});

describe("team.yaml and tenantry.yaml", () => {
  const config = parseClusterConfig(CONFIG);

  it("keeps a home-only team's file as before and round-trips extra namespaces sorted", () => {
    const plain = resolveTeamSpec("shop", { repoUrl: "https://git.example/shop.git" }, null, config);
    expect(formatTeamSpec(plain)).not.toContain("namespaces");
    const spec = resolveTeamSpec("shop", { namespaces: ["web", "api"] }, plain, config);
    expect(spec.namespaces).toEqual(["api", "web"]);
    expect(parseTeamSpec(formatTeamSpec(spec), "team.yaml")).toEqual(spec);
    expect(resolveTeamSpec("shop", { tier: "small" }, spec, config).namespaces).toEqual(["api", "web"]);
  });

  it("refuses bad namespaces and extra namespaces on a controlplane team", () => {
    expect(problemsOf(() => resolveTeamSpec("shop", { repoUrl: "https://git.example/shop.git", namespaces: ["Web", "system"] }, null, config)).join("\n")).toMatch(/"Web"[\s\S]*shop-system/);
    expect(problemsOf(() => resolveTeamSpec("shop", { repoUrl: "https://git.example/shop.git", namespaces: ["api"], isolation: "controlplane" }, null, config)).join("\n")).toMatch(/not yet supported with --isolation controlplane/);
  });

  it("reads namespaceQuota (default even) and refuses bad weights", () => {
    expect(config.namespaceQuota).toEqual({ split: "even" });
    const weighted = parseClusterConfig(CONFIG.replace("  tiers:", "  namespaceQuota: {split: weighted, weights: {home: 2, prod: 3}}\n  tiers:"));
    expect(weighted.namespaceQuota).toEqual({ split: "weighted", weights: { home: 2, prod: 3 } });
    expect(problemsOf(() => parseClusterConfig(CONFIG.replace("  tiers:", "  namespaceQuota: {split: weighted, weights: {Prod: 0}}\n  tiers:"))).join("\n")).toMatch(/weights\.Prod: 0 is not a whole number/);
  });
});
