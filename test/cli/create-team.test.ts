// create-team, delete-team and list through the real CLI: idempotency, updates that touch
// only what changed, comment-preserving edits, dry runs, commits, the wrapper script.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { readTree, repoRoot, runCli, runProgram, tempDir, treeHash } from "../helpers/cli.js";

function gitStatus(dir: string): string {
  return execFileSync("git", ["status", "--porcelain"], { cwd: dir, encoding: "utf8" });
}

function changedFiles(before: Record<string, string>, after: Record<string, string>): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...paths].filter((p) => before[p] !== after[p]).sort();
}

describe("create-team", () => {
  it("is idempotent: the same arguments twice change nothing", async () => {
    const admin = await makeAdminRepo([["team1", "--tier", "medium", "--allow-from", "team2", "--registry", "ghcr.io/acme/"]]);
    const before = treeHash(admin);
    const again = await runCli(["create-team", "team1", "--tier", "medium", "--allow-from", "team2", "--registry", "ghcr.io/acme/", "--commit"], { cwd: admin });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/team team1 is up to date; nothing changed/);
    expect(treeHash(admin)).toBe(before);
  });

  it("a tier change rewrites only the quota, the limits and the team record", async () => {
    const admin = await makeAdminRepo([["team1", "--registry", "ghcr.io/acme/"]]);
    const before = readTree(admin);
    const r = await runCli(["create-team", "team1", "--tier", "large"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(changedFiles(before, readTree(admin))).toEqual(["cluster/team1/limitrange.yaml", "cluster/team1/quota.yaml", "cluster/team1/team.yaml"]);
    // Options not given keep their values.
    expect(readFileSync(join(admin, "cluster/team1/constraints.yaml"), "utf8")).toContain('"ghcr.io/acme/"');
    expect(readFileSync(join(admin, "cluster/team1/quota.yaml"), "utf8")).toContain('requests.cpu: "32"');
  });

  it("--interval sets the team GitSync's interval; a bad one is refused", async () => {
    const admin = await makeAdminRepo([["team1", "--interval", "30s"]]);
    expect(readFileSync(join(admin, "cluster/team1/sync.yaml"), "utf8")).toContain("  interval: 30s\n");
    const r = await runCli(["create-team", "team1", "--interval", "soon"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--interval "soon" is not a duration/);
  });

  it("adding an --allow-from source adds one NetworkPolicy", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const before = readTree(admin);
    expect((await runCli(["create-team", "team1", "--allow-from", "monitoring"], { cwd: admin })).code).toBe(0);
    const after = readTree(admin);
    expect(changedFiles(before, after)).toEqual(["cluster/team1/network-policies.yaml", "cluster/team1/team.yaml"]);
    expect(after["cluster/team1/network-policies.yaml"]).toContain("name: tenantry-allow-from-monitoring");
  });

  it("--dry-run prints the files and changes nothing", async () => {
    const admin = await makeAdminRepo();
    const before = treeHash(admin);
    const r = await runCli(["create-team", "team9", "--dry-run"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Would change \(dry run\):/);
    expect(r.stdout).toMatch(/create cluster\/team9\/namespace.yaml/);
    expect(r.stdout).toMatch(/--- cluster\/team9\/quota.yaml\n/);
    expect(treeHash(admin)).toBe(before);
  });

  it("--commit commits exactly the change", async () => {
    const admin = await makeAdminRepo();
    const r = await runCli(["create-team", "team1", "--commit"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(gitStatus(admin)).toBe("");
    const log = execFileSync("git", ["log", "--format=%s"], { cwd: admin, encoding: "utf8" });
    expect(log.split("\n")[0]).toBe("tenantry: create team team1");
  });

  it("keeps a person's comments and order in cluster/teams/kustomization.yaml through create and delete", async () => {
    const admin = await makeAdminRepo([["alpha"], ["beta"]]);
    const file = join(admin, "cluster/teams/kustomization.yaml");
    const edited = readFileSync(file, "utf8").replace("  - ../beta\n", "  # beta runs the shop: ask @shop before removing\n  - ../beta\n");
    writeFileSync(file, `# Owned by the platform team.\n${edited}`);
    expect((await runCli(["create-team", "gamma"], { cwd: admin })).code).toBe(0);
    expect((await runCli(["delete-team", "alpha", "--force", "--kubeconfig", join(admin, "no-such-kubeconfig")], { cwd: admin })).code).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# Owned by the platform team.\n");
    expect(text).toContain("  # beta runs the shop: ask @shop before removing\n  - ../beta\n");
    expect((parse(text) as { resources: string[] }).resources).toEqual(["../beta", "../gamma", "tombstones"]);
  });

  it("scripts/create-team.sh is a thin wrapper over tenantry create-team", async () => {
    const admin = await makeAdminRepo();
    const r = await runProgram(join(repoRoot, "scripts", "create-team.sh"), ["team1", "--tier", "medium"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(admin, "cluster/team1/quota.yaml"), "utf8")).toContain("tenantry.dev/tier: medium");
  });

  it("the admin repo's own scripts/create-team.sh calls tenantry from PATH", async () => {
    const admin = await makeAdminRepo();
    const bin = tempDir();
    symlinkSync(join(repoRoot, "bin", "tenantry.js"), join(bin, "tenantry"));
    const r = await runProgram(join(admin, "scripts", "create-team.sh"), ["team1"], {
      cwd: admin,
      env: { PATH: `${bin}:${process.env.PATH ?? ""}` },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(admin, "cluster/team1/namespace.yaml"))).toBe(true);
  });
});

describe("delete-team", () => {
  it("removes the overlay, its line and its CODEOWNERS line, and lists what will be pruned", async () => {
    const admin = await makeAdminRepo([["team1", "--owner", "@acme/one"], ["team2"]]);
    // The platform team alone owns a team's overlay: on GitHub any one owner on a line may
    // approve, so the team's own owner must not be there to approve its own quota raise.
    const owners = readFileSync(join(admin, "CODEOWNERS"), "utf8");
    expect(owners).toMatch(/^\/cluster\/team1\/ @acme\/platform$/m);
    expect(owners).not.toContain("@acme/one");
    const r = await runCli(["delete-team", "team1", "--commit", "--force", "--kubeconfig", join(admin, "no-such-kubeconfig")], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the reconciler will prune 23 objects/);
    expect(r.stdout).toMatch(/^ {2}Namespace\/team1$/m);
    expect(r.stdout).toMatch(/^ {2}ResourceQuota\/team1\/tenantry-quota$/m);
    // The team's policy parameters live outside its namespace: they are pruned by name.
    expect(r.stdout).toMatch(/^ {2}ConfigMap\/tenantry-system\/team1-policy$/m);
    expect(r.stdout).toMatch(/^ {2}ValidatingAdmissionPolicyBinding\/team1-registries$/m);
    expect(existsSync(join(admin, "cluster/team1"))).toBe(false);
    expect(readFileSync(join(admin, "cluster/teams/kustomization.yaml"), "utf8")).not.toContain("../team1");
    expect(readFileSync(join(admin, "CODEOWNERS"), "utf8")).not.toContain("/cluster/team1/");
    expect(gitStatus(admin)).toBe("");
  });
});

describe("list", () => {
  it("shows each team's tier, repo and allowed sources", async () => {
    const admin = await makeAdminRepo([["team1", "--allow-from", "team2"], ["team2", "--tier", "large", "--repo-url", "https://git.example.com/t/two.git"]]);
    const table = await runCli(["list"], { cwd: admin });
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^TEAM\s+TIER\s+REPO\s+ALLOW-FROM\s+NODE-POOL$/);
    expect(table.stdout).toMatch(/^team1\s+small\s+git@github.com:acme\/team1.git\s+team2\s+-$/m);
    const json = await runCli(["list", "-o", "json"], { cwd: admin });
    const teams = JSON.parse(json.stdout) as { name: string; tier: string; repoUrl: string }[];
    expect(teams.map((t) => [t.name, t.tier, t.repoUrl])).toEqual([
      ["team1", "small", "git@github.com:acme/team1.git"],
      ["team2", "large", "https://git.example.com/t/two.git"],
    ]);
    const yaml = await runCli(["list", "-o", "yaml"], { cwd: admin });
    expect(parse(yaml.stdout)).toEqual(teams);
  });
});
