// A ChangeSet is what a command will do to a repo: files to write and paths to delete.
// Computed purely (diffChanges), then applied all or nothing by repo/atomic.ts (staged,
// journaled, undone on any failure: the tree is as before, byte for byte).

import { readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { ExitCode, TenantryError } from "../errors.js";
import type { FileTree } from "../render/engine.js";
import { type AtomicChange, beginChange, recoverInterrupted, type Transaction } from "./atomic.js";
import { headMovedFrom } from "./commit.js";

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
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "EISDIR") throw new TenantryError(`${join(root, path)} is a directory where tenantry expects a file: move it away or restore the file with git`, ExitCode.invalid);
    if (code === "ENOTDIR") throw new TenantryError(`a file is in the way of ${join(root, path)}: a parent of it should be a directory; move it away or restore it with git`, ExitCode.invalid);
    throw e;
  }
}

/** Reads repo-relative files (null when absent): the repo on disk, or the repo with planned changes laid over it. */
export type RepoFiles = (path: string) => string | null;

/** The files of the repo at `root` as they are on disk. */
export function diskFiles(root: string): RepoFiles {
  return (path) => readRepoFile(root, path);
}

/**
 * The files of the repo at `root` as they are on disk, for one pass during which nothing
 * writes the repo: each directory on the way to a file is listed once, and a file its
 * directory does not list is absent without a read. A failed read costs a system call and an
 * exception: planning 1000 teams into a new repo asked for some 40 000 absent files. Where a
 * directory cannot be listed (a file in the way, no permission) the file is read, and
 * readRepoFile names the problem.
 */
export function listedFiles(root: string): RepoFiles {
  // A directory's entries; null when it is known absent; undefined when it cannot be listed.
  const listings = new Map<string, ReadonlySet<string> | null | undefined>();
  const listing = (dir: string): ReadonlySet<string> | null | undefined => {
    if (listings.has(dir)) return listings.get(dir);
    let entries: ReadonlySet<string> | null | undefined;
    const parent = dir === "." ? undefined : listing(posix.dirname(dir));
    if (parent === null || (parent !== undefined && !parent.has(posix.basename(dir)))) entries = null;
    else {
      try {
        entries = new Set(readdirSync(join(root, dir)));
      } catch {
        entries = undefined;
      }
    }
    listings.set(dir, entries);
    return entries;
  };
  return (path) => {
    // Only a plain repo-relative path is answered from the listings; anything else as readRepoFile reads it.
    if (path === "" || path.startsWith("/") || path.split("/").some((s) => s === "" || s === "." || s === "..")) return readRepoFile(root, path);
    const entries = listing(posix.dirname(path));
    if (entries === null || entries?.has(posix.basename(path)) === false) return null;
    return readRepoFile(root, path);
  };
}

/** The writes needed to make the files in `desired` exist with that content (`files`: the repo as it is). */
export function diffChanges(root: string, desired: FileTree, files: RepoFiles = listedFiles(root)): Map<string, string> {
  const writes = new Map<string, string>();
  for (const [path, content] of desired) {
    if (files(path) !== content) writes.set(path, content);
  }
  return writes;
}

/** Scripts keep their executable bit. */
function modeFor(path: string): number {
  return path.endsWith(".sh") ? 0o755 : 0o644;
}

function atomicChange(changes: ChangeSet): AtomicChange {
  return { writes: new Map([...changes.writes].map(([p, content]) => [p, { content, mode: modeFor(p) }])), deletes: changes.deletes };
}

/** Applies `changes` all or nothing and keeps the old files until the transaction is finished or undone (a commit may follow). */
export function beginChanges(root: string, changes: ChangeSet, what?: string): Transaction {
  return beginChange(root, atomicChange(changes), what === undefined ? {} : { what });
}

/** Applies `changes` all or nothing. */
export function applyChanges(root: string, changes: ChangeSet, what?: string): void {
  beginChanges(root, changes, what).finish();
}

/**
 * Undoes what an interrupted run left in `root` (its journaled staging directory), or keeps
 * it when its commit landed; one line per run handled. Call it before reading the repo.
 */
export function recoverRepo(root: string): string[] {
  return recoverInterrupted(root, { committed: (head) => headMovedFrom(root, head) });
}

/** One line per change ("create path", "update path", "delete path"), read before applying. */
export function summarizeChanges(root: string, changes: ChangeSet, files: RepoFiles = listedFiles(root)): string[] {
  return [
    ...[...changes.writes.keys()].map((p) => `${files(p) === null ? "create" : "update"} ${p}`),
    ...changes.deletes.map((p) => `delete ${p}`),
  ];
}
