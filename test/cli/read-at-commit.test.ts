// readAtCommit (src/review/refs.ts) reads files of a commit without a checkout, as plan's
// review reads every reached team's team.yaml. From 64 paths on it lists the trees holding
// them once and reads each blob by its id; this checks, against real git, that it answers
// exactly what a `<commit>:<path>` lookup of each path answers: missing files, a path through
// a symbolic link (missing), a symbolic link itself (its target text), a submodule entry
// (missing), duplicates, and a file changed after the commit (the commit's text).

import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAtCommit } from "../../src/review/refs.js";
import { tempDir } from "../helpers/cli.js";

const git = (cwd: string, ...args: string[]): string => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" });

/** What `git cat-file -p <commit>:<path>` says, one path at a time (null when missing). */
function oneByOne(repo: string, commit: string, path: string): string | null {
  try {
    const type = execFileSync("git", ["cat-file", "-t", `${commit}:${path}`], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (type !== "blob") return null;
    return execFileSync("git", ["cat-file", "blob", `${commit}:${path}`], { cwd: repo, encoding: "utf8" });
  } catch {
    return null;
  }
}

describe("readAtCommit", () => {
  it("answers many paths exactly as one lookup per path does, under a prefix too", async () => {
    const top = tempDir();
    git(top, "init", "--quiet", "--initial-branch=main");
    const repo = join(top, "admin"); // the admin repo in a subdirectory: paths are relative to it
    for (let i = 0; i < 80; i++) {
      mkdirSync(join(repo, "cluster", `t${String(i)}`), { recursive: true });
      writeFileSync(join(repo, "cluster", `t${String(i)}`, "team.yaml"), `name: t${String(i)}\n`);
    }
    writeFileSync(join(repo, "cluster", "t1", "same.yaml"), "name: t0\n"); // a blob shared by two paths
    writeFileSync(join(repo, "tenantry.yaml"), "kind: ClusterConfig\n");
    symlinkSync("t2", join(repo, "cluster", "linked")); // cluster/linked/team.yaml goes through a link
    symlinkSync("../t3/team.yaml", join(repo, "cluster", "t4", "link.yaml")); // a link itself
    git(top, "add", "-A");
    git(top, "update-index", "--add", "--cacheinfo", `160000,${"a".repeat(40)},admin/cluster/t5/sub`); // a submodule entry
    git(top, "commit", "--quiet", "-m", "c");
    const commit = git(top, "rev-parse", "HEAD").trim();
    writeFileSync(join(repo, "cluster", "t6", "team.yaml"), "changed after the commit\n");
    const paths = [
      ...Array.from({ length: 90 }, (_, i) => `cluster/t${String(i)}/team.yaml`), // t80..t89 missing
      "cluster/t1/same.yaml",
      "cluster/t0/team.yaml",
      "cluster/linked/team.yaml",
      "cluster/t4/link.yaml",
      "cluster/t5/sub",
      "tenantry.yaml",
      "nowhere/team.yaml",
    ];
    expect(paths.length).toBeGreaterThanOrEqual(64);
    const many = await readAtCommit(repo, commit, paths);
    expect(many).toEqual(paths.map((p) => oneByOne(top, commit, `admin/${p}`)));
    expect(many[0]).toBe("name: t0\n");
    expect(many[6]).toBe("name: t6\n");
    expect(many[85]).toBeNull();
    expect(many.slice(90)).toEqual(["name: t0\n", "name: t0\n", null, "../t3/team.yaml", null, "kind: ClusterConfig\n", null]);
    // A few paths take the other way (one lookup each): the same answers.
    expect(await readAtCommit(repo, commit, paths.slice(90))).toEqual(many.slice(90));
    // A path with a line break would ask git a second question on its own line, and every
    // answer after it would be the one before's: it reads as missing, the others unmoved.
    const injected = `cluster/x\n${commit}:admin/cluster/t3/team.yaml`;
    expect(await readAtCommit(repo, commit, [injected, "cluster/t0/team.yaml"])).toEqual([null, "name: t0\n"]);
    expect(await readAtCommit(repo, commit, [injected, ...paths])).toEqual([null, ...many]);
  });

  it("reads a path a malformed tree lists twice as missing, not as either of its blobs", async () => {
    const repo = tempDir();
    git(repo, "init", "--quiet", "--initial-branch=main");
    const blob = (text: string): string => execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: repo, input: text, encoding: "utf8" }).trim();
    // A tree's entries: "<mode> <name>\0" and the 20-byte id; written as is (git would refuse to make it).
    const tree = (entries: [string, string, string][]): string =>
      execFileSync("git", ["hash-object", "-t", "tree", "-w", "--literally", "--stdin"], {
        cwd: repo,
        input: Buffer.concat(entries.map(([mode, name, id]) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(id, "hex")]))),
        encoding: "utf8",
      }).trim();
    const real = tree([["100644", "team.yaml", blob("name: a\n")]]);
    // cluster/a/team.yaml is the real file, and a blob entry named "a/team.yaml" claims the same path.
    const cluster = tree([["40000", "a", real], ["100644", "a/team.yaml", blob("name: decoy\n")], ...Array.from({ length: 70 }, (_, i): [string, string, string] => ["40000", `b${String(i).padStart(2, "0")}`, real])]);
    const root = tree([["40000", "cluster", cluster]]);
    const commit = execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit-tree", root, "-m", "malformed"], { cwd: repo, encoding: "utf8" }).trim();
    const paths = ["cluster/a/team.yaml", ...Array.from({ length: 70 }, (_, i) => `cluster/b${String(i).padStart(2, "0")}/team.yaml`)];
    const read = await readAtCommit(repo, commit, paths);
    expect(read[0]).toBeNull();
    expect(read.slice(1).every((t) => t === "name: a\n")).toBe(true);
  });
});
