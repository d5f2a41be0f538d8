// The real, pinned `kustomize build` accepts the admin repo with 0, 1 and 3 teams and the
// team repo, and the object stream holds exactly the kinds a team gets, with the pinned labels.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import { type KubeObject } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";

/** What keeps every team inside what it was given, whatever the policy engine (cluster/common/tenancy). */
const TENANCY = [
  "ValidatingAdmissionPolicy/tenantry-admin-owned",
  "ValidatingAdmissionPolicy/tenantry-agent-identity",
  "ValidatingAdmissionPolicyBinding/tenantry-admin-owned",
  "ValidatingAdmissionPolicyBinding/tenantry-agent-identity",
];

const COMMON_KINDS = [
  "ClusterRole/tenantry:team-admin",
  "ClusterRole/tenantry:team-agent",
  "ClusterRoleBinding/tenantry:agent",
  "ConstraintTemplate/tenantryadminowned",
  "ConstraintTemplate/tenantryagentidentity",
  "ConstraintTemplate/tenantryallowedregistries",
  "ConstraintTemplate/tenantryalwayspull",
  "ConstraintTemplate/tenantryimagetags",
  "ConstraintTemplate/tenantrynodepool",
  "ConstraintTemplate/tenantryrequiredresources",
  "ConstraintTemplate/tenantryservicetypes",
  "CustomResourceDefinition/gitsyncs.tenantry.dev",
  "Deployment/tenantry-system/tenantry-agent",
  "GitSync/tenantry-system/admin",
  "Namespace/tenantry-system",
  "NetworkPolicy/tenantry-system/tenantry-agent-metrics",
  "NetworkPolicy/tenantry-system/tenantry-agent-webhooks",
  "NetworkPolicy/tenantry-system/tenantry-default-deny",
  "ServiceAccount/tenantry-system/tenantry-agent",
  ...TENANCY,
];

const GATEKEEPER_KINDS = new Set([
  "ConstraintTemplate",
  "TenantryRequiredResources",
  "TenantryAllowedRegistries",
  "TenantryImageTags",
  "TenantryServiceTypes",
  "TenantryAlwaysPull",
  "TenantryNodePool",
  "TenantryAdminOwned",
  "TenantryAgentIdentity",
]);
const VAP_KINDS = new Set(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);

const POLICIES = [
  "ValidatingAdmissionPolicy/tenantry-allowed-registries",
  "ValidatingAdmissionPolicy/tenantry-image-tags",
  "ValidatingAdmissionPolicy/tenantry-node-pool",
  "ValidatingAdmissionPolicy/tenantry-pull-policy",
  "ValidatingAdmissionPolicy/tenantry-required-resources",
  "ValidatingAdmissionPolicy/tenantry-service-types",
  // Selects nothing: keeps the API server's ConfigMap param informer (param-anchor.yaml).
  "ValidatingAdmissionPolicyBinding/tenantry-param-anchor",
];

/** A team's VAP objects: its parameters in tenantry-system and its bindings. */
function teamPolicyKinds(team: string, extra: readonly string[] = []): string[] {
  return [
    `ConfigMap/tenantry-system/${team}-policy`,
    `ValidatingAdmissionPolicyBinding/${team}-image-tags`,
    `ValidatingAdmissionPolicyBinding/${team}-registries`,
    `ValidatingAdmissionPolicyBinding/${team}-resources`,
    `ValidatingAdmissionPolicyBinding/${team}-service-types`,
    ...extra.map((suffix) => `ValidatingAdmissionPolicyBinding/${team}-${suffix}`),
  ];
}

function teamKinds(team: string, extra: readonly string[] = []): string[] {
  return [
    `Deployment/${team}/tenantry-agent`,
    `GitSync/${team}/${team}`,
    `LimitRange/${team}/tenantry-limits`,
    `Namespace/${team}`,
    `NetworkPolicy/${team}/tenantry-allow-agent-egress`,
    `NetworkPolicy/${team}/tenantry-allow-dns`,
    `NetworkPolicy/${team}/tenantry-allow-same-namespace`,
    `NetworkPolicy/${team}/tenantry-default-deny`,
    `ResourceQuota/${team}/tenantry-quota`,
    `RoleBinding/${team}/tenantry:team-admin`,
    `RoleBinding/${team}/tenantry:team-agent`,
    `ServiceAccount/${team}/${team}`,
    `TenantryAdminOwned/${team}-admin-owned`,
    `TenantryAgentIdentity/${team}-agent-id`,
    `TenantryAllowedRegistries/${team}-registries`,
    `TenantryImageTags/${team}-image-tags`,
    `TenantryRequiredResources/${team}-resources`,
    `TenantryServiceTypes/${team}-service-types`,
    ...extra,
  ];
}

interface Binding {
  spec: { policyName: string; validationActions: string[]; matchResources: unknown; paramRef?: unknown };
}
interface Policy {
  metadata: { name: string };
  spec: { failurePolicy: string; validations: { messageExpression: string }[] };
}

function ids(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name].filter((x) => x !== undefined).join("/")).sort();
}

function teamOf(o: KubeObject): string | undefined {
  if (o.kind === "Namespace") return o.metadata.name === "tenantry-system" ? undefined : o.metadata.name;
  // A team's policy parameters live in tenantry-system, out of the team's reach.
  if (o.kind === "ConfigMap" && o.metadata.namespace === "tenantry-system") return o.metadata.name.replace(/-policy$/, "");
  if (o.metadata.namespace !== undefined) return o.metadata.namespace === "tenantry-system" ? undefined : o.metadata.namespace;
  if (o.metadata.name.startsWith("tenantry-")) return undefined; // cluster-wide: bound to every team namespace
  return /^Tenantry|^ValidatingAdmissionPolicyBinding$/.test(o.kind) ? o.metadata.name.split("-")[0] : undefined;
}

describe("kustomize build of the admin repo", () => {
  it.each([
    { teams: [] as string[][], expected: [] as string[] },
    { teams: [["team1"]], expected: [...teamKinds("team1"), ...teamPolicyKinds("team1")] },
    {
      teams: [["team1"], ["team2", "--allow-from", "team1"], ["team3", "--node-pool", "pool=team3"]],
      expected: [
        ...teamKinds("team1"),
        ...teamPolicyKinds("team1"),
        ...teamKinds("team2", ["NetworkPolicy/team2/tenantry-allow-from-team1"]),
        ...teamPolicyKinds("team2"),
        ...teamKinds("team3", ["TenantryNodePool/team3-node-pool"]),
        ...teamPolicyKinds("team3", ["node-pool"]),
      ],
    },
  ])("with $teams.length teams: exactly the expected objects, all labelled", async ({ teams, expected }) => {
    const admin = await makeAdminRepo(teams);
    const objects = await buildDir(admin);
    expect(ids(objects)).toEqual([...COMMON_KINDS, ...POLICIES, ...expected].sort());
    for (const o of objects) {
      expect(o.metadata.labels?.["app.kubernetes.io/managed-by"], `${o.kind}/${o.metadata.name}`).toBe("tenantry");
      const team = teamOf(o);
      expect(o.metadata.labels?.["tenantry.dev/team"], `${o.kind}/${o.metadata.name}`).toBe(team);
    }
  });

  it("gives every team namespace the restricted Pod Security level with a pinned version", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const ns = (await buildDir(admin)).find((o) => o.kind === "Namespace" && o.metadata.name === "team1");
    expect(ns?.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.34",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
    });
  });

  it("leaves constraints out with --policy-engine vap, and renders the policies and the team's bindings", async () => {
    const admin = await makeAdminRepo([["team1"], ["team3", "--node-pool", "pool=team3"]], ["--cluster-name", "t", "--policy-engine", "vap", "--git-url", "https://git.example.com/a/admin.git"]);
    const objects = await buildDir(admin);
    expect(objects.filter((o) => GATEKEEPER_KINDS.has(o.kind))).toEqual([]);
    expect(existsSync(join(admin, "cluster/team1/constraints.yaml"))).toBe(false);
    const vap = objects.filter((o) => VAP_KINDS.has(o.kind) || (o.kind === "ConfigMap" && o.metadata.namespace === "tenantry-system"));
    expect(ids(vap)).toEqual([...TENANCY, ...POLICIES, ...teamPolicyKinds("team1"), ...teamPolicyKinds("team3", ["node-pool"])].sort());
  });

  it("leaves the workload admission policies out with --policy-engine gatekeeper (the tenancy ones stay)", async () => {
    const admin = await makeAdminRepo([["team1"], ["team3", "--node-pool", "pool=team3"]], ["--cluster-name", "t", "--policy-engine", "gatekeeper", "--git-url", "https://git.example.com/a/admin.git"]);
    const objects = await buildDir(admin);
    expect(ids(objects.filter((o) => VAP_KINDS.has(o.kind) || (o.kind === "ConfigMap" && o.metadata.namespace === "tenantry-system")))).toEqual(TENANCY);
    expect(existsSync(join(admin, "cluster/team1/admission-policies.yaml"))).toBe(false);
    expect(objects.filter((o) => GATEKEEPER_KINDS.has(o.kind)).length).toBe(8 + 6 * 2 + 1);
  });

  it("binds a team's bindings to its namespace only, with its parameters from tenantry-system", async () => {
    const admin = await makeAdminRepo([["team3", "--node-pool", "tenantry.dev/pool=team3", "--registry", "ghcr.io/acme/", "--registry", "registry.acme.io:5000/"]]);
    const objects = await buildDir(admin);
    const bindings = objects.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding" && o.metadata.labels?.["tenantry.dev/team"] === "team3") as unknown as Binding[];
    expect(bindings.map((b) => b.spec.policyName).sort()).toEqual(["tenantry-allowed-registries", "tenantry-image-tags", "tenantry-node-pool", "tenantry-required-resources", "tenantry-service-types"]);
    for (const b of bindings) {
      expect(b.spec.validationActions).toEqual(["Deny"]);
      expect(b.spec.matchResources).toEqual({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "team3" } } });
      const withParams = ["tenantry-allowed-registries", "tenantry-node-pool"].includes(b.spec.policyName);
      expect(b.spec.paramRef).toEqual(withParams ? { name: "team3-policy", namespace: "tenantry-system", parameterNotFoundAction: "Deny" } : undefined);
    }
    const params = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "team3-policy") as unknown as { data: Record<string, string> };
    expect(params.data).toEqual({
      registries: "ghcr.io/acme/\nghcr.io/tenantry-dev/tenantry:\nregistry.acme.io:5000/\n",
      nodeSelectorKey: "tenantry.dev/pool",
      nodeSelectorValue: "team3",
    });
    for (const p of objects.filter((o) => o.kind === "ValidatingAdmissionPolicy") as unknown as Policy[]) {
      expect(p.spec.failurePolicy, p.metadata.name).toBe("Fail");
      for (const v of p.spec.validations) expect(v.messageExpression, p.metadata.name).toMatch(new RegExp(`^'${p.metadata.name}: `));
    }
  });

  it("binds tenantry-pull-policy only with requireAlwaysPull, and then the team's agent pulls Always", async () => {
    const admin = await makeAdminRepo([], ["--cluster-name", "t", "--policy-engine", "vap", "--git-url", "https://git.example.com/a/admin.git"]);
    const configFile = join(admin, "tenantry.yaml");
    writeFileSync(configFile, readFileSync(configFile, "utf8").replace("requireAlwaysPull: false", "requireAlwaysPull: true"));
    const r = await runCli(["create-team", "team1"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    const objects = await buildDir(admin);
    expect(ids(objects.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding"))).toContain("ValidatingAdmissionPolicyBinding/team1-pull-policy");
    const agent = objects.find((o) => o.kind === "Deployment" && o.metadata.namespace === "team1") as unknown as { spec: { template: { spec: { containers: { imagePullPolicy?: string }[] } } } };
    expect(agent.spec.template.spec.containers[0]?.imagePullPolicy).toBe("Always");
  });
});

describe("the team repo scaffold", () => {
  it("is a git repo with one commit whose kustomize build is the example app in the team namespace", async () => {
    const admin = await makeAdminRepo();
    const repo = join(tempDir(), "team1");
    const r = await runCli(["create-team", "team1", "--team-repo-dir", repo], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    const objects = await buildDir(repo);
    expect(ids(objects)).toEqual(["Deployment/team1/podinfo", "NetworkPolicy/team1/podinfo-allow-http", "Service/team1/podinfo"]);
    const log = await import("simple-git").then(({ simpleGit }) => simpleGit(repo).log());
    expect(log.total).toBe(1);
  });
});
