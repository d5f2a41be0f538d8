// The deploy key's files outside the cluster: its public half in the admin repo (staged,
// then renamed into place once the private half is stored) and, for bootstrapping without a
// cluster, a 0600 private key file that must not be inside any Git work tree.

import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { isGitRepo } from "../repo/git.js";

/** A file written next to its destination, moved there by `commit()` or dropped by `discard()`. */
export interface Staged {
  commit(): void;
  discard(): void;
}

export function stageFile(root: string, path: string, content: string, mode = 0o644): Staged {
  const dest = join(root, path);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.tenantry-${process.pid}-${Date.now().toString(36)}.tmp`);
  writeFileSync(tmp, content, { mode });
  return {
    commit: () => {
      renameSync(tmp, dest);
    },
    discard: () => {
      rmSync(tmp, { force: true });
    },
  };
}

/** Problems with writing a private key to `file`: it must be new (or --force) and outside Git. */
export async function outFileProblems(file: string, force: boolean): Promise<string[]> {
  const path = resolve(file);
  const problems: string[] = [];
  if (existsSync(path) && !force) problems.push(`--out ${path} exists: choose a new file (or --force to overwrite it)`);
  const dir = dirname(path);
  if (!existsSync(dir)) problems.push(`--out ${path}: directory ${dir} does not exist`);
  else if (await isGitRepo(dir)) problems.push(`--out ${path} is inside a Git work tree: a private key must never be written into a repo, choose a path outside it`);
  return problems;
}

/** Writes the private key 0600 (the file is created with that mode, never wider). */
export function writePrivateKeyFile(file: string, privateKey: string, force: boolean): void {
  try {
    // Replaced by a new file rather than rewritten, so the key is never in a file with a wider mode.
    if (force) rmSync(file, { force: true });
    writeFileSync(file, privateKey, { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  } catch (e) {
    throw new TenantryError(`cannot write ${file}: ${(e as Error).message}`, ExitCode.failure);
  }
}

export function assertOut(problems: readonly string[]): void {
  if (problems.length > 0) throw new ValidationError(problems);
}
