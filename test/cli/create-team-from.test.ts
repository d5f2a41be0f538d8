// create-team --from FILE (src/generate/teams.ts): many teams in one change, made exactly as
// create-team makes each, all or nothing, every problem of every team named at once.

import { execFileSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { readTree, runCli, tempDir, treeHash } from "../helpers/cli.js";

function teamList(teams: readonly object[]): string {
  const file = join(tempDir(), "teams.yaml");
  writeFileSync(file, JSON.stringify({ apiVersion: "tenantry.dev/v1alpha1", kind: "TeamList", metadata: { name: "test" }, spec: { teams } }));
  return file;
}

const withoutGit = (tree: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith(".git/") && p !== ".git"));

const commits = (dir: string): string[] => execFileSync("git", ["log", "--format=%s"], { cwd: dir, encoding: "utf8" }).trim().split("\n");

describe("create-team --from", () => {
  it("makes the same repo as one create-team per team, in one commit", async () => {
    const list = teamList([
      { name: "web", tier: "medium", allowFrom: ["api"], registries: ["ghcr.io/acme/"] },
      { name: "api", namespaces: ["v1", "v2"], owners: ["@acme/api"] },
      { name: "jobs", nodePool: "pool=batch", interval: "5m" },
    ]);
    const one = await makeAdminRepo([
      ["web", "--tier", "medium", "--allow-from", "api", "--registry", "ghcr.io/acme/"],
      ["api", "--namespaces", "v1,v2", "--owner", "@acme/api"],
      ["jobs", "--node-pool", "pool=batch", "--interval", "5m"],
    ]);
    const bulk = await makeAdminRepo();
    const r = await runCli(["create-team", "--from", list, "--commit"], { cwd: bulk });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Changed: 3 new teams/);
    expect(withoutGit(readTree(bulk))).toEqual(withoutGit(readTree(one)));
    expect(commits(bulk)[0]).toBe("tenantry: create or update 3 teams (web, api, jobs)");
    expect(execFileSync("git", ["status", "--porcelain"], { cwd: bulk, encoding: "utf8" })).toBe("");
    // The same list again changes nothing.
    const again = await runCli(["create-team", "--from", list, "--commit"], { cwd: bulk });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/up to date; nothing changed/);
  });

  it("writes nothing and names every problem of every team when any is wrong", async () => {
    const admin = await makeAdminRepo([["taken", "--namespaces", "x"]]);
    const before = treeHash(admin);
    const list = teamList([{ name: "good" }, { name: "Bad_Name" }, { name: "pricey", tier: "gold" }, { name: "good" }, { name: "taken-x" }, { name: "fine", namespaces: ["a"] }]);
    const r = await runCli(["create-team", "--from", list, "--commit"], { cwd: admin });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/team good is listed more than once/));
    expect(lines).toContainEqual(expect.stringMatching(/team Bad_Name: .*Bad_Name/));
    expect(r.stderr).not.toMatch(/internal error/);
    expect(treeHash(admin)).toBe(before);
    const fixed = teamList([{ name: "good" }, { name: "bad-name" }, { name: "pricey", tier: "gold" }, { name: "taken-x" }, { name: "fine", namespaces: ["a"] }]);
    const second = await runCli(["create-team", "--from", fixed], { cwd: admin });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/team pricey: .*gold/);
    expect(second.stderr).toMatch(/team taken-x: .*taken/);
    expect(second.stderr.trim().split("\n").length).toBeGreaterThanOrEqual(2);
    expect(treeHash(admin)).toBe(before);
  });

  it("writes nothing when one overlay does not build", async () => {
    const admin = await makeAdminRepo([["ext", "--extension", "ConfigMap/extra"]]);
    // A hand-written extensions file kustomize cannot read: only the build finds it.
    writeFileSync(join(admin, "cluster/ext/extensions.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [extra\n");
    execFileSync("git", ["commit", "-qam", "broken extension"], { cwd: admin });
    const before = treeHash(admin);
    const r = await runCli(["create-team", "--from", teamList([{ name: "new1" }, { name: "ext", tier: "large" }, { name: "new2" }]), "--commit"], { cwd: admin });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/team ext: /);
    expect(r.stderr).not.toMatch(/team new1|team new2/);
    expect(treeHash(admin)).toBe(before);
  });

  it("no build service: one line and its exit code, nothing written, no scratch directory left (not a crash of the builds sent while planning)", async () => {
    const admin = await makeAdminRepo();
    const before = treeHash(admin);
    const tmp = tempDir();
    const r = await runCli(["create-team", "--from", teamList([{ name: "a" }, { name: "b" }, { name: "c" }]), "--commit"], { cwd: admin, env: { TENANTRY_BUILD: "/bin/true", TMPDIR: tmp } });
    expect(r.code, r.stderr).toBe(4);
    // The progress line, then the error in one line.
    expect(r.stderr.trim().split("\n").filter((l) => !l.startsWith("building "))).toEqual([expect.stringMatching(/^tenantry: error: TENANTRY_BUILD=\/bin\/true .*pinned/)]);
    expect(treeHash(admin)).toBe(before);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("leaves a namespace removal or an isolation move to create-team <team>, which reads the cluster first", async () => {
    const admin = await makeAdminRepo([["api", "--namespaces", "v1,v2"]]);
    const before = treeHash(admin);
    const r = await runCli(["create-team", "--from", teamList([{ name: "api", namespaces: ["v1"] }, { name: "other" }])], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/team api: the list removes namespace api-v2, .*tenantry create-team api/);
    expect(treeHash(admin)).toBe(before);
  });

  it("a dry run builds every overlay and writes nothing", async () => {
    const admin = await makeAdminRepo();
    const before = treeHash(admin);
    const r = await runCli(["create-team", "--from", teamList([{ name: "a" }, { name: "b", namespaces: ["x"] }]), "--dry-run"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Would change \(dry run\): 2 new teams, 0 changed or unchanged, \d+ objects/);
    expect(treeHash(admin)).toBe(before);
  });

  it("refuses a bad file or mixed options with one line each, before reading the repo", async () => {
    const admin = await makeAdminRepo();
    const before = treeHash(admin);
    const cases: [string[], RegExp][] = [
      [["create-team"], /needs a team name, or --from FILE/],
      [["create-team", "a", "--from", "x.yaml"], /give a team name or --from x.yaml, not both/],
      [["create-team", "--from", "x.yaml", "--tier", "large", "--force"], /leave out --tier, --force/],
      [["create-team", "--from", join(admin, "missing.yaml")], /cannot read --from .*missing\.yaml \(ENOENT\)/],
    ];
    const bad = join(tempDir(), "bad.yaml");
    writeFileSync(bad, "apiVersion: tenantry.dev/v1alpha1\nkind: TeamList\nmetadata: {name: x}\nspec:\n  teams:\n    - name: a\n      tier: [1]\n      colour: red\n");
    cases.push([["create-team", "--from", bad], /bad\.yaml: spec\.teams\.0: unknown field "colour"/]);
    const malformed = join(tempDir(), "malformed.yaml");
    writeFileSync(malformed, "spec: [\n");
    cases.push([["create-team", "--from", malformed], /malformed\.yaml: malformed YAML/]);
    const empty = join(tempDir(), "empty.yaml");
    writeFileSync(empty, "apiVersion: tenantry.dev/v1alpha1\nkind: TeamList\nmetadata: {name: x}\nspec:\n  teams: []\n");
    cases.push([["create-team", "--from", empty], /spec\.teams is empty/]);
    for (const [args, message] of cases) {
      const r = await runCli(args, { cwd: admin });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
    expect(treeHash(admin)).toBe(before);
  });
});
