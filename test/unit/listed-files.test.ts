// listedFiles (repo/changes.ts): the repo on disk for one pass, each directory listed once and a
// file its directory does not list known absent without a read. It must read exactly as
// readRepoFile does: the same text, null for what is absent (under a missing directory too),
// the same one-line errors for a directory where a file should be and a file in the way of a
// directory, a symlink followed.

import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffChanges, diskFiles, listedFiles, summarizeChanges } from "../../src/repo/changes.js";
import { tempDir } from "../helpers/cli.js";

function layout(): string {
  const root = tempDir("listed-");
  mkdirSync(join(root, "cluster/shop/apps"), { recursive: true });
  writeFileSync(join(root, "CODEOWNERS"), "* @acme/platform\n");
  writeFileSync(join(root, "cluster/shop/namespace.yaml"), "kind: Namespace\n");
  mkdirSync(join(root, "cluster/shop/dir.yaml"));
  writeFileSync(join(root, "cluster/blocker"), "a file where a directory should be\n");
  symlinkSync("namespace.yaml", join(root, "cluster/shop/link.yaml"));
  symlinkSync("nowhere.yaml", join(root, "cluster/shop/dangling.yaml"));
  return root;
}

function outcome(read: (p: string) => string | null, path: string): string | null {
  try {
    return read(path);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe("listedFiles", () => {
  const paths = [
    "CODEOWNERS",
    "README.md",
    "cluster/shop/namespace.yaml",
    "cluster/shop/absent.yaml",
    "cluster/shop/apps/x/kustomization.yaml",
    "cluster/team9/namespace.yaml",
    "cluster/team9/deeper/still/absent.yaml",
    "absent/dir/file.yaml",
    "cluster/shop/dir.yaml",
    "cluster/blocker/inside.yaml",
    "cluster/shop/link.yaml",
    "cluster/shop/dangling.yaml",
    // Not plain repo-relative paths: read as readRepoFile reads them.
    "cluster/../CODEOWNERS",
    "./CODEOWNERS",
    "cluster//shop/namespace.yaml",
  ];
  it.each(paths)("reads %s as readRepoFile does", (path) => {
    const root = layout();
    const listed = listedFiles(root);
    const disk = diskFiles(root);
    expect(outcome(listed, path)).toBe(outcome(disk, path));
    // And again, from the listings it made.
    expect(outcome(listed, path)).toBe(outcome(disk, path));
  });

  it("reads an absolute path as readRepoFile does (no listing of /)", () => {
    const root = layout();
    expect(outcome(listedFiles(root), join(root, "CODEOWNERS"))).toBe(outcome(diskFiles(root), join(root, "CODEOWNERS")));
  });

  it("gives null for what is absent and the text of what is there", () => {
    const root = layout();
    const listed = listedFiles(root);
    expect(listed("cluster/team9/namespace.yaml")).toBeNull();
    expect(listed("cluster/shop/namespace.yaml")).toBe("kind: Namespace\n");
    expect(() => listed("cluster/shop/dir.yaml")).toThrow(/is a directory where tenantry expects a file/);
    expect(() => listed("cluster/blocker/inside.yaml")).toThrow(/a file is in the way of/);
  });

  it("diffChanges and summarizeChanges read through it: new, changed and unchanged files", () => {
    const root = layout();
    const desired = new Map([
      ["CODEOWNERS", "* @acme/platform\n"],
      ["cluster/shop/namespace.yaml", "kind: Namespace\nmetadata: {}\n"],
      ["cluster/team9/namespace.yaml", "kind: Namespace\n"],
    ]);
    const writes = diffChanges(root, desired);
    expect([...writes.keys()]).toEqual(["cluster/shop/namespace.yaml", "cluster/team9/namespace.yaml"]);
    expect(summarizeChanges(root, { writes, deletes: [] })).toEqual(["update cluster/shop/namespace.yaml", "create cluster/team9/namespace.yaml"]);
  });
});
