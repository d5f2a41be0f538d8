// A git commit that can be taken back: what a repo change with --commit needs to be all or
// nothing. The paths are added to a copy of the index, so a failed `git add` or `git commit`
// (a hook, a full disk, no identity) leaves the real index and HEAD untouched; only after the
// commit has landed does the copy replace the index. `undo()` moves HEAD back (only if it still
// points at this commit) and restores the index's old bytes. git's own scratch file
// COMMIT_EDITMSG is put back too; what stays of a failed or undone commit is only what git
// keeps of any: unreachable objects (gc removes them) and, after an undo, a reflog line.
//
// With a transaction (repo/atomic.ts), `commitChange` records in its journal the HEAD the
// commit starts from, so an interrupted run is judged by whether HEAD moved since.

import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { ExitCode, TenantryError, ToolError } from "../errors.js";
import { type Transaction } from "./atomic.js";

/** tenantry's identity, used only when the repo has none configured. */
const IDENTITY = ["-c", "user.name=tenantry", "-c", "user.email=tenantry@localhost"];

/** A file of git's (`index`, `COMMIT_EDITMSG`) and its bytes now (null: absent). */
async function gitFile(dir: string, name: string): Promise<{ path: string; bytes: Buffer | null }> {
  const p = (await git(dir, ["rev-parse", "--git-path", name])).trim();
  const path = isAbsolute(p) ? p : join(dir, p);
  try {
    return { path, bytes: readFileSync(path) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new TenantryError(`cannot read ${path}: ${(e as Error).message}`, ExitCode.failure);
    return { path, bytes: null };
  }
}

/** Puts a git file back as `gitFile` read it. */
function putBack(f: { path: string; bytes: Buffer | null }): void {
  if (f.bytes === null) {
    rmSync(f.path, { force: true });
    return;
  }
  const temp = `${f.path}.tenantry-${randomBytes(6).toString("hex")}`;
  writeFileSync(temp, f.bytes, { mode: 0o644 });
  renameSync(temp, f.path);
}

/** git's stdout; `input` is written to its stdin; exit code `alsoOk` counts as success too. */
function git(dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, opts: { readonly input?: string | Buffer; readonly alsoOk?: number } = {}): Promise<string> {
  const { input, alsoOk } = opts;
  return new Promise((done, fail) => {
    const child = execFile("git", [...args], { cwd: dir, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null || (alsoOk !== undefined && err.code === alsoOk)) {
        done(stdout);
        return;
      }
      const first = stderr.split("\n").find((l) => l.trim() !== "") ?? err.message.split("\n")[0] ?? "";
      fail(new Error(first.trim()));
    });
    if (input !== undefined) {
      // git may exit before reading all of it (a path it refuses): its exit says why, not an EPIPE here.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(input);
    }
  });
}

/** Which of `files` (untracked ones: a tracked file is never ignored) a .gitignore excludes. */
async function ignoredOf(dir: string, files: readonly string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  // Exit 0: some are ignored; 1: none is.
  const out = await git(dir, ["check-ignore", "-z", "--stdin"], env, { input: nulTerminated(files), alsoOk: 1 });
  return out.split("\0").filter((f) => f !== "");
}

function nulTerminated(paths: readonly string[]): string {
  return paths.map((p) => `${p}\0`).join("");
}

/**
 * From this many new files on, their blobs are written into one pack (git fast-import) before
 * they are staged: `git update-index` then finds each object already stored and writes no loose
 * object. A loose object is a file, a directory entry and a rename: 10 001 of them took 3.4 s
 * here, the pack 0.55 s. Below git's own fastimport.unpackLimit (100) fast-import would write
 * loose objects anyway.
 */
const PACK_FROM = 100;

/** Stores the contents of `files` (repo-relative regular files) as blobs in one pack; a failure only leaves staging to write them. */
async function packBlobs(dir: string, files: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const parts: Buffer[] = [];
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, f));
    } catch {
      continue;
    }
    parts.push(Buffer.from(`blob\ndata ${String(bytes.length)}\n`), bytes, Buffer.from("\n"));
  }
  await git(dir, ["fast-import", "--quiet"], env, { input: Buffer.concat(parts) }).catch(() => undefined);
}

/**
 * Stages `paths` in the index `env` names as `git add --all` would: the files there by exact
 * path (`git update-index`, no pathspec matching: `git add` of 10 000 pathspecs matches each
 * against every file, 2.6 s for a 1000-team change), refusing ignored ones as `git add` does;
 * what is gone or a directory with `git add --all`.
 */
async function stage(dir: string, paths: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const files: string[] = [];
  const regular: string[] = [];
  const rest: string[] = [];
  for (const p of paths) {
    let file = false;
    try {
      const stat = lstatSync(join(dir, p));
      file = !stat.isDirectory();
      if (stat.isFile()) regular.push(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" && (e as NodeJS.ErrnoException).code !== "ENOTDIR") throw e;
    }
    (file ? files : rest).push(p);
  }
  if (files.length > 0) {
    const ignored = await ignoredOf(dir, files, env);
    if (ignored.length > 0) throw new Error(`${ignored.slice(0, 3).join(", ")}${ignored.length > 3 ? ` and ${String(ignored.length - 3)} more` : ""}: ignored by a .gitignore of the repo, so not committed (git add refuses them too): remove the pattern that ignores them`);
    // Regular files only: a symlink's blob is its target's name, which git reads itself.
    if (regular.length >= PACK_FROM) await packBlobs(dir, regular, env);
    // --replace: a file where the index has a directory (or the reverse) replaces it, as git add does.
    await git(dir, ["update-index", "--add", "--replace", "-z", "--stdin"], env, { input: nulTerminated(files) });
  }
  if (rest.length > 0) await git(dir, ["add", "--all", "--", ...rest], env);
}

/** HEAD's commit, or "" when the repo has none yet. */
export async function headOf(dir: string): Promise<string> {
  return (await git(dir, ["rev-parse", "--verify", "--quiet", "HEAD"]).catch(() => "")).trim();
}

/** Whether HEAD of `dir` is no longer `head` (for recovery: did the interrupted commit land?). */
export function headMovedFrom(dir: string, head: string): boolean {
  try {
    return execFileSync("git", ["rev-parse", "--verify", "--quiet", "HEAD"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() !== head;
  } catch {
    return head !== "";
  }
}

export interface Commit {
  readonly hash: string;
  /** Takes the commit back: HEAD to where it was (if it still points here), the index's old bytes. */
  undo(): Promise<void>;
}

/**
 * Commits `paths` of `dir` (added with --all, so deletions count). A user's own git identity
 * wins; tenantry's is used only when none is configured. On failure nothing of git changed.
 */
export async function commitPaths(dir: string, message: string, paths: readonly string[]): Promise<Commit> {
  const before = await headOf(dir);
  let index: Awaited<ReturnType<typeof gitFile>>;
  let editMsg: Awaited<ReturnType<typeof gitFile>>;
  try {
    [index, editMsg] = await Promise.all([gitFile(dir, "index"), gitFile(dir, "COMMIT_EDITMSG")]);
  } catch (e) {
    if (e instanceof TenantryError) throw e;
    throw new ToolError(`git commit failed in ${dir}: ${(e as Error).message}`);
  }
  const temp = join(dirname(index.path), `tenantry-index-${randomBytes(6).toString("hex")}`);
  let hash = "";
  try {
    if (index.bytes !== null) writeFileSync(temp, index.bytes, { flag: "wx", mode: 0o644 });
    const env = { GIT_INDEX_FILE: temp };
    await stage(dir, paths, env);
    const name = (await git(dir, ["config", "--get", "user.name"]).catch(() => "")).trim();
    await git(dir, [...(name === "" ? IDENTITY : []), "commit", "--quiet", "--allow-empty", "-m", message], env);
    hash = (await git(dir, ["rev-parse", "HEAD"])).trim();
    renameSync(temp, index.path);
  } catch (e) {
    rmSync(temp, { force: true });
    if (hash !== "") await moveHeadBack(dir, before, hash).catch(() => undefined);
    try {
      putBack(editMsg);
    } catch {
      // git's scratch file only
    }
    throw new ToolError(`git commit failed in ${dir}: ${(e as Error).message}`);
  }
  return {
    hash,
    undo: async () => {
      await moveHeadBack(dir, before, hash);
      putBack(index);
      putBack(editMsg);
    },
  };
}

/** HEAD from `hash` back to `before` ("": no commit at all), only if it still is `hash`. */
async function moveHeadBack(dir: string, before: string, hash: string): Promise<void> {
  try {
    if (before === "") await git(dir, ["update-ref", "-d", "HEAD", hash]);
    else await git(dir, ["update-ref", "-m", "tenantry: undo a commit whose change failed", "HEAD", before, hash]);
  } catch (e) {
    throw new ToolError(`cannot take back commit ${hash.slice(0, 7)} in ${dir} (${(e as Error).message}): HEAD moved meanwhile; revert it by hand`);
  }
}

/**
 * Commits the paths of an applied transaction; on failure the transaction is undone too (the
 * work tree as before, no commit) and the error says so. The caller finishes the transaction.
 */
export async function commitChange(tx: Transaction, message: string, paths: readonly string[]): Promise<Commit> {
  try {
    tx.committing(await headOf(tx.root));
    return await commitPaths(tx.root, message, paths);
  } catch (e) {
    const why = e instanceof TenantryError ? e.message : `committing in ${tx.root} failed: ${(e as Error).message}`;
    try {
      tx.undo();
    } catch (u) {
      throw new TenantryError(`${why}; and ${(u as Error).message}`, ExitCode.failure);
    }
    throw new TenantryError(`${why}; the files were put back as they were, nothing changed`, e instanceof TenantryError ? e.exitCode : ExitCode.failure);
  }
}

/** The git user.email configured for `dir`, or null. */
export async function gitUserEmail(dir: string): Promise<string | null> {
  const email = (await git(dir, ["config", "--get", "user.email"]).catch(() => "")).trim();
  return email === "" ? null : email;
}
