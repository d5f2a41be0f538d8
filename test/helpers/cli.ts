// Runs the real `tenantry` CLI as a separate process and reads trees back for assertions.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { afterAll } from "vitest";

export const repoRoot = resolve(import.meta.dirname, "..", "..");
export const cliPath = join(repoRoot, "bin", "tenantry.js");

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runProgram(process.execPath, [cliPath, ...args], opts);
}

export function runProgram(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(file, [...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

/** Replaces `from` in `dir/file`, the way a person edits a generated repo; throws when absent. */
export function editFile(dir: string, file: string, from: string | RegExp, to: string): void {
  const path = join(dir, file);
  const before = readFileSync(path, "utf8");
  const after = before.replace(from, to);
  if (after === before) throw new Error(`${file}: ${String(from)} not found (did the template change?)`);
  writeFileSync(path, after);
}

/** The temp dirs made by this test file so far: removed when its tests are done. */
const made: string[] = [];
// Registered when a test file loads this module (each file loads its own copy), so a dir made
// inside a test or a hook is removed too: afterAll called from inside a test registers nothing
// (the dirs of such calls were left in the temp directory, some 10 000 of them here).
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir, removed once the test file's tests are done. */
export function tempDir(prefix = "tenantry-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/**
 * Every entry below `dir`, .git included but for its object store (a failed `git add` leaves
 * blobs nobody sees): type, mode, and a file's bytes (hashed) or a link's target. Equal
 * snapshots mean nothing a user could see changed.
 */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const key = relative(dir, p).split(sep).join("/");
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[`${key}/`] = `dir ${mode}`;
        if (!/(^|\/)\.git\/objects$/.test(key) && !(key === "objects" && dir.endsWith(".git"))) walk(p);
      } else if (st.isSymbolicLink()) out[key] = `link ${readlinkSync(p)}`;
      else out[key] = `file ${mode} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
    }
  };
  walk(dir);
  return out;
}

/** Every file below `dir` (not .git) as path -> content, sorted by path. */
export function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === ".git") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p).split(sep).join("/")] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** A hash of the whole tree including .git: equal hashes mean nothing was written. */
export function treeHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      h.update(relative(dir, p));
      if (e.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

/** A kubeconfig of an API server nobody listens on, so a developer's own cluster is never touched. */
export function unreachableKubeconfig(): string {
  const file = join(tempDir(), "kubeconfig");
  writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]",
      "users: [{name: me, user: {token: t}}]",
      "contexts: [{name: gone, context: {cluster: gone, user: me}}]",
      "current-context: gone",
      "",
    ].join("\n"),
  );
  return file;
}
