// The real, pinned `kustomize build` accepts the admin repo with 0, 1 and 3 teams and the
// team repo, and the object stream holds exactly the kinds a team gets, with the pinned labels.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kustomizeBuild, type KubeObject } from "../../src/kustomize/build.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";

const COMMON_KINDS = [
  "ClusterRole/tenantry:team-admin",
  "ClusterRole/tenantry:team-agent",
  "ClusterRoleBinding/tenantry:agent",
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
  "ServiceAccount/tenantry-system/tenantry-agent",
];

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
    `TenantryAllowedRegistries/${team}-registries`,
    `TenantryImageTags/${team}-image-tags`,
    `TenantryRequiredResources/${team}-resources`,
    `TenantryServiceTypes/${team}-service-types`,
    ...extra,
  ];
}

function ids(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name].filter((x) => x !== undefined).join("/")).sort();
}

function teamOf(o: KubeObject): string | undefined {
  if (o.kind === "Namespace") return o.metadata.name === "tenantry-system" ? undefined : o.metadata.name;
  if (o.metadata.namespace !== undefined) return o.metadata.namespace === "tenantry-system" ? undefined : o.metadata.namespace;
  return /^Tenantry/.test(o.kind) ? o.metadata.name.split("-")[0] : undefined;
}

describe("kustomize build of the admin repo", () => {
  it.each([
    { teams: [] as string[][], expected: [] as string[] },
    { teams: [["team1"]], expected: teamKinds("team1") },
    {
      teams: [["team1"], ["team2", "--allow-from", "team1"], ["team3", "--node-pool", "pool=team3"]],
      expected: [
        ...teamKinds("team1"),
        ...teamKinds("team2", ["NetworkPolicy/team2/tenantry-allow-from-team1"]),
        ...teamKinds("team3", ["TenantryNodePool/team3-node-pool"]),
      ],
    },
  ])("with $teams.length teams: exactly the expected objects, all labelled", async ({ teams, expected }) => {
    const admin = await makeAdminRepo(teams);
    const objects = await kustomizeBuild(admin);
    expect(ids(objects)).toEqual([...COMMON_KINDS, ...expected].sort());
    for (const o of objects) {
      expect(o.metadata.labels?.["app.kubernetes.io/managed-by"], `${o.kind}/${o.metadata.name}`).toBe("tenantry");
      const team = teamOf(o);
      expect(o.metadata.labels?.["tenantry.dev/team"], `${o.kind}/${o.metadata.name}`).toBe(team);
    }
  });

  it("gives every team namespace the restricted Pod Security level with a pinned version", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const ns = (await kustomizeBuild(admin)).find((o) => o.kind === "Namespace" && o.metadata.name === "team1");
    expect(ns?.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.34",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
    });
  });

  it("leaves constraints out with --policy-engine vap", async () => {
    const admin = await makeAdminRepo([["team1"]], ["--cluster-name", "t", "--policy-engine", "vap", "--git-url", "https://git.example.com/a/admin.git"]);
    const kinds = new Set((await kustomizeBuild(admin)).map((o) => o.kind));
    expect(kinds.has("ConstraintTemplate")).toBe(false);
    expect(kinds.has("TenantryRequiredResources")).toBe(false);
  });
});

describe("the team repo scaffold", () => {
  it("is a git repo with one commit whose kustomize build is the example app in the team namespace", async () => {
    const admin = await makeAdminRepo();
    const repo = join(tempDir(), "team1");
    const r = await runCli(["create-team", "team1", "--team-repo-dir", repo], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    const objects = await kustomizeBuild(repo);
    expect(ids(objects)).toEqual(["Deployment/team1/podinfo", "NetworkPolicy/team1/podinfo-allow-http", "Service/team1/podinfo"]);
    const log = await import("simple-git").then(({ simpleGit }) => simpleGit(repo).log());
    expect(log.total).toBe(1);
  });
});
