// Where a deploy key's private half may be written outside the cluster (bootstrapping
// without one): a new file (or --force), never inside a Git work tree (judged where the
// directory really is, past any symlink).

import { existsSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isGitRepo } from "../repo/git.js";

/** Problems with writing a private key to `file`: it must be new (or --force) and outside Git. */
export async function outFileProblems(file: string, force: boolean): Promise<string[]> {
  const path = resolve(file);
  const problems: string[] = [];
  if (existsSync(path) && !force) problems.push(`--out ${path} exists: choose a new file (or --force to overwrite it)`);
  const dir = dirname(path);
  if (!existsSync(dir)) problems.push(`--out ${path}: directory ${dir} does not exist`);
  else if (await isGitRepo(realpathSync(dir))) problems.push(`--out ${path} is inside a Git work tree: a private key must never be written into a repo, choose a path outside it`);
  return problems;
}
