// Git through simple-git: the generator's only uses are init, add and commit.

import { simpleGit } from "simple-git";
import { TenantryError, ToolError } from "../errors.js";

const IDENTITY = ["-c", "user.name=tenantry", "-c", "user.email=tenantry@localhost"];

/** `git init -b main` and a first commit of everything in `dir`. */
export async function initAndCommit(dir: string, message: string): Promise<string> {
  try {
    const git = simpleGit(dir);
    await git.raw(["init", "--quiet", "--initial-branch=main"]);
    return await commitAll(dir, message);
  } catch (e) {
    if (e instanceof TenantryError) throw e;
    throw new ToolError(`git failed in ${dir}: ${(e as Error).message.split("\n")[0] ?? ""}`);
  }
}

/**
 * Commits `paths` (default: everything). A user's own git identity wins; tenantry's is
 * used only when none is configured. Returns the new commit's hash.
 */
export async function commitAll(dir: string, message: string, paths: readonly string[] = ["."]): Promise<string> {
  const git = simpleGit(dir);
  try {
    await git.raw(["add", "--all", "--", ...paths]);
    const name = (await git.raw(["config", "--get", "user.name"]).catch(() => "")).trim();
    const identity = name === "" ? IDENTITY : [];
    await git.raw([...identity, "commit", "--quiet", "--allow-empty", "-m", message]);
    return (await git.revparse(["HEAD"])).trim();
  } catch (e) {
    throw new ToolError(`git commit failed in ${dir}: ${(e as Error).message.split("\n")[0] ?? ""}`);
  }
}

export async function isGitRepo(dir: string): Promise<boolean> {
  try {
    return (await simpleGit(dir).raw(["rev-parse", "--is-inside-work-tree"])).trim() === "true";
  } catch {
    return false;
  }
}
