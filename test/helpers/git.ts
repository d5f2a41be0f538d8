// Real git repositories for tests: bare remotes in temp dirs, and pushes to them.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { tempDir } from "./cli.js";

const ID = ["-c", "user.name=test", "-c", "user.email=test@localhost"];

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", [...ID, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A new bare repository; returns its path and file:// URL. */
export function bareRepo(name: string): { path: string; url: string } {
  const path = join(tempDir(), `${name}.git`);
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path]);
  return { path, url: `file://${path}` };
}

/** Commits everything in `dir` (if anything changed) and pushes main to `url`; returns HEAD. */
export function commitAndPush(dir: string, url: string, message = "change"): string {
  git(dir, "add", "--all");
  if (git(dir, "status", "--porcelain") !== "") git(dir, "commit", "--quiet", "-m", message);
  git(dir, "push", "--quiet", "--force", url, "HEAD:main");
  return git(dir, "rev-parse", "HEAD");
}
