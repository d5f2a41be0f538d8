// delete-team through the real CLI, without a cluster: the deletion is recorded as a tombstone
// in the same change (and commit) as the overlay's removal, and the admin repo renders it
// (the pinned kustomize) as the ConfigMap the reconciler reads; a cluster that cannot be read
// refuses the deletion unless --force, in one line, changing nothing; a write that fails half-way
// loses nothing; create-team brings a team back and drops its tombstone; `tenantry plan` tells
// a deletion from a team that merely vanished.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildDir } from "../../src/build/kustomize.js";
import { cacheDir } from "../../src/paths.js";
import { parseTombstones, tombstonesOfRender } from "../../src/model/tombstones.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, snapshotTree, tempDir, unreachableKubeconfig } from "../helpers/cli.js";
import { git } from "../helpers/git.js";

const TOMBSTONES = "cluster/teams/tombstones/tombstones.yaml";


/** No cluster anywhere: an unreachable kubeconfig, so a developer's own cluster is never touched. */
const noCluster = (): NodeJS.ProcessEnv => ({ KUBECONFIG: unreachableKubeconfig() });

describe("delete-team --force without a cluster", () => {
  it("records the tombstone in the same commit as the overlay's removal, and the admin repo renders it", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"]]);
    git(admin, "config", "user.email", "alice@acme.dev");
    const r = await runCli(["delete-team", "team2", "--commit", "--force"], { cwd: admin, env: noCluster() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Deleted team team2 \(asked by alice@acme\.dev at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\):$/m);
    expect(r.stdout).toContain("Tombstone: Team team2 in cluster/teams/tombstones/tombstones.yaml: the reconciler prunes the team only because of it\n");
    expect(r.stdout).toMatch(/^Live namespace team2: not read \(cannot reach the API server at https:\/\/127\.0\.0\.1:9 .*\); deleted unseen \(--force\)$/m);
    expect(r.stdout).toContain("Deploy key: not revoked: the cluster could not be read; run tenantry keys revoke team2 once it can\n");

    const [tomb] = parseTombstones(readFileSync(join(admin, TOMBSTONES), "utf8"));
    expect(tomb).toEqual({ kind: "Team", name: "team2", deletedAt: expect.stringMatching(/Z$/) as unknown, by: "alice@acme.dev" });
    expect(existsSync(join(admin, "cluster/team2"))).toBe(false);
    expect((parse(readFileSync(join(admin, "cluster/teams/kustomization.yaml"), "utf8")) as { resources: string[] }).resources).toEqual(["../team1", "tombstones"]);
    // One commit holds the removal and the tombstone: there is no revision with one and not the other.
    expect(git(admin, "status", "--porcelain")).toBe("");
    const files = git(admin, "show", "--name-status", "--format=", "HEAD").split("\n");
    expect(files).toEqual(expect.arrayContaining([`A\t${TOMBSTONES}`, "A\tcluster/teams/tombstones/kustomization.yaml", "M\tcluster/teams/kustomization.yaml", "D\tcluster/team2/namespace.yaml"]));

    // What the reconciler reads: the render's ConfigMap tenantry-system/tenantry-tombstones.
    const objects = await buildDir(admin);
    expect(tombstonesOfRender(objects)).toEqual({ tombstones: [tomb], problems: [] });
    expect(objects.find((o) => o.metadata.name === "tenantry-tombstones")?.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "tenantry" });
  });

  it("a second deletion adds to the list; create-team brings a team back and removes its tombstone", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"], ["team3"]]);
    for (const t of ["team3", "team1"]) expect((await runCli(["delete-team", t, "--force"], { cwd: admin, env: noCluster() })).code).toBe(0);
    expect(parseTombstones(readFileSync(join(admin, TOMBSTONES), "utf8")).map((t) => t.name)).toEqual(["team1", "team3"]);
    const back = await runCli(["create-team", "team3"], { cwd: admin });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`update ${TOMBSTONES}`);
    expect(parseTombstones(readFileSync(join(admin, TOMBSTONES), "utf8")).map((t) => t.name)).toEqual(["team1"]);
    expect((parse(readFileSync(join(admin, "cluster/teams/kustomization.yaml"), "utf8")) as { resources: string[] }).resources).toEqual(["../team2", "tombstones", "../team3"]);
  });
});

describe("delete-team refuses what it cannot see", () => {
  it("an unreachable cluster: exit 4, one line naming it and --force, nothing changed", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const before = snapshotTree(admin);
    const r = await runCli(["delete-team", "team1", "--commit"], { cwd: admin, env: noCluster() });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^tenantry: error: cannot read namespace team1 to list what deleting the team loses \(cannot reach the API server at https:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\).*\): fix --kubeconfig\/KUBECONFIG, or pass --force to delete it unseen$/),
    ]);
    expect(r.stdout).toBe("");
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("no kubeconfig at all: the same refusal", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const before = snapshotTree(admin);
    // A home without ~/.kube/config (the pinned tools stay where they are).
    const env = { KUBECONFIG: "", HOME: tempDir(), TENANTRY_CACHE: cacheDir() };
    const r = await runCli(["delete-team", "team1"], { cwd: admin, env });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^tenantry: error: cannot read namespace team1 to list what deleting the team loses \(no kubeconfig: .*\): fix --kubeconfig\/KUBECONFIG, or pass --force to delete it unseen\n$/);
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("--dry-run changes nothing and says what it would refuse", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const before = snapshotTree(admin);
    const r = await runCli(["delete-team", "team1", "--dry-run"], { cwd: admin, env: noCluster() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Would delete team team1 /);
    expect(r.stdout).toContain(`  create ${TOMBSTONES}\n`);
    expect(r.stdout).toMatch(/^Would refuse without --force: cannot read namespace team1/m);
    expect(snapshotTree(admin)).toEqual(before);
  });
});

describe("delete-team is all or nothing", () => {
  const asRoot = process.getuid?.() === 0;
  const frozen: string[] = [];
  afterEach(() => {
    for (const d of frozen.splice(0)) {
      if (asRoot) execFileSync("chattr", ["-i", d]);
      else chmodSync(d, 0o755);
    }
  });
  const freeze = (d: string): void => {
    if (asRoot) execFileSync("chattr", ["+i", d]);
    else chmodSync(d, 0o555);
    frozen.push(d);
  };

  it("the tombstone cannot be written after the overlay was moved away: the overlay comes back, the tree as before, one line", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"]]);
    const before = snapshotTree(admin);
    freeze(join(admin, "cluster/teams"));
    const r = await runCli(["delete-team", "team1", "--commit", "--force"], { cwd: admin, env: noCluster() });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^tenantry: error: cannot delete team team1 in .*: writing cluster\/teams\/[a-z/]+\.yaml failed \((EPERM|EACCES): .*\); every change was undone, nothing changed\n$/);
    for (const d of frozen.splice(0)) {
      if (asRoot) execFileSync("chattr", ["-i", d]);
      else chmodSync(d, 0o755);
    }
    expect(snapshotTree(admin)).toEqual(before);
    const again = await runCli(["delete-team", "team1", "--commit", "--force"], { cwd: admin, env: noCluster() });
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(admin, TOMBSTONES))).toBe(true);
  });
});

describe("tenantry plan shows a team deletion", () => {
  it("with a tombstone: deleted, by whom, and pruned; without one (a line removed by hand): kept, and how to delete it", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"]]);
    git(admin, "config", "user.email", "alice@acme.dev");
    expect((await runCli(["delete-team", "team2", "--commit", "--force"], { cwd: admin, env: noCluster() })).code).toBe(0);
    const deleted = await runCli(["plan", "--base", "HEAD~1", "-o", "text"], { cwd: admin });
    expect(deleted.code, deleted.stderr).toBe(3);
    expect(deleted.stdout).toMatch(/^ {4}Namespace\/team2: team team2 deleted \(tombstone in cluster\/teams\/tombstones\/tombstones\.yaml by alice@acme\.dev at \S+Z\): 23 objects will be pruned, and with its Namespace everything else in namespace team2$/m);
    expect(deleted.stdout).toContain("+ ConfigMap/tenantry-system/tenantry-tombstones  (cluster-wide, reaches team2)");

    const file = join(admin, "cluster/teams/kustomization.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("  - ../team1\n", ""));
    git(admin, "commit", "--quiet", "-am", "oops");
    const vanished = await runCli(["plan", "--base", "HEAD~1", "-o", "text"], { cwd: admin });
    expect(vanished.code, vanished.stderr).toBe(3);
    expect(vanished.stdout).toMatch(/^ {4}Namespace\/team1: team team1 removed without a tombstone: the reconciler keeps its 23 objects and its namespace and reports TeamDeletionNotRequested; to delete the team, run tenantry delete-team team1$/m);
  });
});
