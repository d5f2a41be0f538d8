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
  });
});
