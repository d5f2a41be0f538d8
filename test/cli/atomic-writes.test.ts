// Multi-file repo writes are all or nothing, played with real failures through the real CLI:
// a staged file over the file-size limit (RLIMIT_FSIZE on the CLI's process: Node ignores
// SIGXFSZ, so the write fails with EFBIG), a directory that cannot be written after the team's
// overlay was already moved away (immutable for root, read-only otherwise), a commit refused
// by a hook. After each, the tree (every entry's type, mode and bytes, .git included but for
// the unreachable objects a `git add` leaves, which gc removes) is as before, the exit code is documented and the message is one line; a retry works. A run
// killed half-way is undone by the next one, from its journal.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { commitPaths } from "../../src/repo/commit.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { cliPath, runCli, runProgram, snapshotTree, tempDir } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import { PRIVATE_KEY_MARKER } from "../helpers/sshd.js";

const asRoot = process.getuid?.() === 0;

/** Makes `dir` unwritable even for root (chattr +i), or read-only (chmod) for anyone else. */
function freeze(dir: string): void {
  if (asRoot) execFileSync("chattr", ["+i", dir]);
  else chmodSync(dir, 0o555);
  frozen.push(dir);
}

function thaw(dir: string): void {
  if (asRoot) execFileSync("chattr", ["-i", dir]);
  else chmodSync(dir, 0o755);
}

const frozen: string[] = [];
afterEach(() => {
  for (const d of frozen.splice(0)) thaw(d);
});

/** Whether `freeze` works here (chattr needs a file system that keeps attributes). */
const canFreeze = ((): boolean => {
  const probe = tempDir();
  try {
    freeze(probe);
    thaw(probe);
    frozen.pop();
    return true;
  } catch {
    return false;
  }
})();

/** The CLI with RLIMIT_FSIZE at `bytes`: no file it writes may grow past it. */
function runLimited(bytes: number, args: readonly string[], cwd: string) {
  return runProgram("prlimit", [`--fsize=${bytes}`, "--", process.execPath, cliPath, ...args], { cwd });
}

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0] ?? "";
}

describe("create-team", () => {
  it("a file over the file-size limit (RLIMIT_FSIZE): exit 1, one line, the repo as before; without the limit it works", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    // A big CODEOWNERS (create-team rewrites it) while every overlay file stays small.
    writeFileSync(join(admin, "CODEOWNERS"), `${readFileSync(join(admin, "CODEOWNERS"), "utf8")}${"# owners are reviewed quarterly\n".repeat(600)}`);
    git(admin, "commit", "--quiet", "-am", "long CODEOWNERS");
    const before = snapshotTree(admin);
    const r = await runLimited(12_000, ["create-team", "team9"], admin);
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^tenantry: error: cannot create team team9 in .*: writing CODEOWNERS failed \(EFBIG: file too large: the file-size limit \(ulimit -f\) was reached\); every change was undone, nothing changed$/);
    expect(snapshotTree(admin)).toEqual(before);
    const again = await runCli(["create-team", "team9"], { cwd: admin });
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(admin, "cluster/team9/namespace.yaml"))).toBe(true);
  });

  it.skipIf(!canFreeze)("the admin repo cannot be written: no team repo is left behind, and a retry works", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const parent = tempDir();
    const teamRepo = join(parent, "team9");
    const before = snapshotTree(admin);
    freeze(join(admin, "cluster/teams"));
    const r = await runCli(["create-team", "team9", "--team-repo-dir", teamRepo], { cwd: admin });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^tenantry: error: cannot create team team9 in .*: writing cluster\/teams\/kustomization.yaml failed \((EPERM|EACCES): .*\); every change was undone, nothing changed$/);
    thaw(join(admin, "cluster/teams"));
    expect(snapshotTree(admin)).toEqual(before);
    expect(readdirSync(parent)).toEqual([]);
    const again = await runCli(["create-team", "team9", "--team-repo-dir", teamRepo], { cwd: admin });
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(teamRepo, ".git"))).toBe(true);
    expect(existsSync(join(admin, "cluster/team9/team.yaml"))).toBe(true);
  });

  it("--commit refused by a pre-commit hook: exit 4, one line, the files put back and no commit (.git as before)", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const hook = join(admin, ".git/hooks/pre-commit");
    writeFileSync(hook, "#!/bin/sh\necho 'commits are frozen today' >&2\nexit 1\n", { mode: 0o755 });
    const head = git(admin, "rev-parse", "HEAD");
    const before = snapshotTree(admin);
    const r = await runCli(["create-team", "team9", "--commit"], { cwd: admin });
    expect(r.code, r.stderr).toBe(4);
    expect(oneLine(r.stderr)).toMatch(/^tenantry: error: git commit failed in .*: commits are frozen today; the files were put back as they were, nothing changed$/);
    expect(snapshotTree(admin)).toEqual(before);
    expect(git(admin, "rev-parse", "HEAD")).toBe(head);
    renameSync(hook, `${hook}.off`);
    const again = await runCli(["create-team", "team9", "--commit"], { cwd: admin });
    expect(again.code, again.stderr).toBe(0);
    expect(git(admin, "status", "--porcelain")).toBe("");
    expect(git(admin, "log", "-1", "--format=%s")).toBe("tenantry: create team team9");
  });
});

describe("delete-team", () => {
  it.skipIf(!canFreeze)("the teams list cannot be written after the overlay was moved away: the overlay comes back, byte for byte", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"]]);
    const before = snapshotTree(admin);
    freeze(join(admin, "cluster/teams"));
    // --force and --kubeconfig of no file: no cluster is read (nor a developer's own touched).
    const noCluster = ["--force", "--kubeconfig", join(admin, "no-such-kubeconfig")];
    const r = await runCli(["delete-team", "team1", "--commit", ...noCluster], { cwd: admin });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^tenantry: error: cannot delete team team1 in .*: writing cluster\/teams\/[a-z/]+\.yaml failed \((EPERM|EACCES): .*\); every change was undone, nothing changed$/);
    thaw(join(admin, "cluster/teams"));
    expect(snapshotTree(admin)).toEqual(before);
    const again = await runCli(["delete-team", "team1", "--commit", ...noCluster], { cwd: admin });
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(admin, "cluster/team1"))).toBe(false);
  });
});

describe("a run killed half-way", () => {
  /** A staging directory as a killed delete-team leaves it: the overlay moved in, the journal naming the step. */
  function killedDeletion(admin: string, pid: number): void {
    const staging = join(admin, ".tenantry-staging-Kill3d");
    mkdirSync(staging);
    renameSync(join(admin, "cluster/team1"), join(staging, "old-0"));
    const journal = { tool: "tenantry", version: 1, pid, host: hostname(), started: "2024-05-01T12:00:00.000Z", state: "applying", steps: [{ op: "delete", path: "cluster/team1", backup: "old-0" }] };
    writeFileSync(join(staging, "journal.json"), JSON.stringify(journal));
  }

  it("is undone by the next command, which says so in one line and then does its own work", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const before = snapshotTree(join(admin, "cluster/team1"));
    const dead = spawnSync("true").pid;
    killedDeletion(admin, dead);
    const r = await runCli(["create-team", "team2"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`undid an interrupted tenantry run (pid ${dead}, 1 step): the files are as before it\n`);
    expect(snapshotTree(join(admin, "cluster/team1"))).toEqual(before);
    expect(readdirSync(admin).filter((f) => f.startsWith(".tenantry-staging-"))).toEqual([]);
    expect(readFileSync(join(admin, "cluster/teams/kustomization.yaml"), "utf8")).toMatch(/- \.\.\/team1\n\s+- \.\.\/team2/);
  });

  it("whose process still runs is not touched: exit 1, one line", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    killedDeletion(admin, 1);
    const before = snapshotTree(admin);
    const r = await runCli(["create-team", "team2"], { cwd: admin });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^tenantry: error: another tenantry \(pid 1 on .*\) is changing .*: wait for it to finish, or remove \.tenantry-staging-Kill3d if that process is gone$/);
    expect(snapshotTree(admin)).toEqual(before);
  });
});

describe("writePrivateFile (keys create --out --force)", () => {
  it("a new key over the file-size limit never truncates the old one: its bytes and mode stay, no temporary file is left", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const dir = tempDir();
    const key = join(dir, "team1-key");
    // A stand-in for the old key (the marker is built, so no key marker is committed here).
    writeFileSync(key, `-----${PRIVATE_KEY_MARKER}-----\nthe old key\n-----END OPENSSH PRIVATE KEY-----\n`, { mode: 0o600 });
    const adminBefore = snapshotTree(admin);
    // The public half (about 100 bytes) fits, the private half (about 400) does not.
    const r = await runLimited(300, ["keys", "create", "team1", "--out", key, "--force"], admin);
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^tenantry: error: cannot write ${key}: EFBIG: file too large`));
    expect(readFileSync(key, "utf8")).toContain("the old key");
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["team1-key"]);
    expect(snapshotTree(admin)).toEqual(adminBefore);
    const again = await runCli(["keys", "create", "team1", "--out", key, "--force"], { cwd: admin });
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(key, "utf8").startsWith(`-----${PRIVATE_KEY_MARKER}-----\n`)).toBe(true);
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });
});

describe("commitPaths", () => {
  it("undo() takes the commit back: HEAD and the index as before, byte for byte", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    writeFileSync(join(admin, "notes.txt"), "a note\n");
    const before = snapshotTree(join(admin, ".git"));
    const head = git(admin, "rev-parse", "HEAD");
    const commit = await commitPaths(admin, "a note", ["notes.txt"]);
    expect(git(admin, "rev-parse", "HEAD")).toBe(commit.hash);
    await commit.undo();
    expect(git(admin, "rev-parse", "HEAD")).toBe(head);
    const after = snapshotTree(join(admin, ".git"));
    // Only what git keeps of any commit stays: its objects and the reflog that says it was undone.
    const kept = (k: string): boolean => !k.startsWith("logs/");
    expect(Object.fromEntries(Object.entries(after).filter(([k]) => kept(k)))).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => kept(k))));
  });

  it("stages as git add --all does: an ignored new file is refused (index and HEAD untouched), a tracked one that a pattern matches is not; deletions and a directory turned file are staged", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    writeFileSync(join(admin, ".gitignore"), "*.secret\n");
    git(admin, "add", ".gitignore");
    git(admin, "commit", "-qm", "ignore");
    const head = git(admin, "rev-parse", "HEAD");
    const index = readFileSync(join(admin, ".git/index"));
    writeFileSync(join(admin, "new.secret"), "x\n");
    await expect(commitPaths(admin, "no", ["new.secret"])).rejects.toThrow(/new\.secret: ignored by a \.gitignore of the repo/);
    expect(git(admin, "rev-parse", "HEAD")).toBe(head);
    expect(readFileSync(join(admin, ".git/index")).equals(index)).toBe(true);
    // A tracked file stays committable whatever .gitignore says (as with git add); a deleted
    // directory and a file where a directory was are staged too.
    writeFileSync(join(admin, "CODEOWNERS"), "# changed\n");
    execFileSync("rm", ["-r", join(admin, "cluster/team1")]);
    writeFileSync(join(admin, "cluster/team1"), "now a file\n");
    const commit = await commitPaths(admin, "yes", ["CODEOWNERS", "cluster/team1"]);
    expect(git(admin, "show", "--name-status", "--format=", commit.hash)).toMatch(/^M\tCODEOWNERS$/m);
    expect(git(admin, "ls-tree", "--name-only", "-r", "HEAD", "cluster/team1")).toBe("cluster/team1");
    expect(git(admin, "status", "--porcelain", "--", "cluster", "CODEOWNERS")).toBe("");
  });

  it("a change of many files is committed with their blobs in one pack, not one loose object each", async () => {
    const admin = await makeAdminRepo();
    const loose = (): number => Number(/^count: (\d+)$/m.exec(git(admin, "count-objects", "-v"))?.[1] ?? "NaN");
    git(admin, "repack", "-adq");
    const paths = Array.from({ length: 150 }, (_, i) => `many/file-${String(i).padStart(3, "0")}.yaml`);
    mkdirSync(join(admin, "many"));
    for (const p of paths) writeFileSync(join(admin, p), `n: ${p}\n`);
    const commit = await commitPaths(admin, "many files", paths);
    expect(git(admin, "ls-tree", "-r", "--name-only", commit.hash, "many").split("\n")).toEqual(paths);
    expect(git(admin, "show", `${commit.hash}:many/file-042.yaml`)).toBe("n: many/file-042.yaml");
    expect(git(admin, "status", "--porcelain")).toBe("");
    // The commit and its trees only.
    expect(loose()).toBeLessThan(5);
    expect(git(admin, "fsck", "--no-dangling")).toBe("");
  });

  it("thousands of paths git refuses (beyond a symlink): a one-line error, HEAD untouched", async () => {
    const admin = await makeAdminRepo();
    mkdirSync(join(admin, "real"));
    execFileSync("ln", ["-s", "real", join(admin, "link")]);
    const paths = Array.from({ length: 3000 }, (_, i) => `link/file-with-a-long-name-to-fill-the-pipe-${String(i).padStart(5, "0")}.yaml`);
    for (const p of paths) writeFileSync(join(admin, p), "x\n");
    const head = git(admin, "rev-parse", "HEAD");
    await expect(commitPaths(admin, "beyond a symlink", paths)).rejects.toThrow(/^git commit failed in .*: .*(symbolic link|beyond)/);
    expect(git(admin, "rev-parse", "HEAD")).toBe(head);
  });
});
