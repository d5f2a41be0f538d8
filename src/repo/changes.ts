// A ChangeSet is what a command will do to a repo: files to write and paths to delete.
// Computed purely (diffChanges), then applied by the only code that writes (applyChanges):
// everything is staged in a temporary directory inside the repo first, so a failure before
// the final renames leaves the tree untouched.

import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FileTree } from "../render/engine.js";

export interface ChangeSet {
  /** Files whose content is new or different, by repo-relative path. */
  readonly writes: ReadonlyMap<string, string>;
  /** Repo-relative paths (files or directories) to remove. */
  readonly deletes: readonly string[];
}


export function isEmpty(c: ChangeSet): boolean {
  return c.writes.size === 0 && c.deletes.length === 0;
}

/** Reads a repo-relative file, or null when it does not exist. */
export function readRepoFile(root: string, path: string): string | null {
  try {
    return readFileSync(join(root, path), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** The writes needed to make the files in `desired` exist with that content. */
export function diffChanges(root: string, desired: FileTree): Map<string, string> {
  const writes = new Map<string, string>();
  for (const [path, content] of desired) {
    if (readRepoFile(root, path) !== content) writes.set(path, content);
  }
  return writes;
}

/** Scripts keep their executable bit. */
function modeFor(path: string): number {
  return path.endsWith(".sh") ? 0o755 : 0o644;
}

export function applyChanges(root: string, changes: ChangeSet): void {
  if (isEmpty(changes)) return;
  const staging = mkdtempSync(join(root, ".tenantry-staging-"));
  try {
    const staged: [string, string][] = [];
    let i = 0;
    for (const [path, content] of changes.writes) {
      const tmp = join(staging, String(i++));
      writeFileSync(tmp, content, { mode: modeFor(path) });
      staged.push([tmp, path]);
    }
    for (const path of changes.deletes) {
      try {
        statSync(join(root, path));
      } catch {
        continue;
      }
      renameSync(join(root, path), join(staging, `deleted-${i++}`));
    }
    for (const [tmp, path] of staged) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      renameSync(tmp, join(root, path));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** One line per change ("create path", "update path", "delete path"), read before applying. */
export function summarizeChanges(root: string, changes: ChangeSet): string[] {
  return [
    ...[...changes.writes.keys()].map((p) => `${readRepoFile(root, p) === null ? "create" : "update"} ${p}`),
    ...changes.deletes.map((p) => `delete ${p}`),
  ];
}
