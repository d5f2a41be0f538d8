// git for the reconciler's fetches, as a process group that can be killed whole. A fetch
// runs helpers under git (git-remote-https, ssh) that hold the connection; simple-git kills
// only git itself, so a cancelled or timed-out fetch left them running, connection open.
// Here git leads its own process group and a cancel or timeout kills the group.

import { spawn } from "node:child_process";

export interface GitRun {
  readonly cwd: string;
  /** The whole environment (nothing inherited). */
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** What git printed before it failed, or why it was stopped. */
export class GitProcessError extends Error {
  override readonly name = "GitProcessError";
}

const OUTPUT_LIMIT = 1024 * 1024;

/** Runs `git args` and resolves with its stdout; rejects with its stderr on a non-zero exit. */
export function runGit(args: readonly string[], o: GitRun): Promise<string> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted === true) {
      reject(new GitProcessError("cancelled"));
      return;
    }
    const child = spawn("git", args, { cwd: o.cwd, env: o.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let stopped: string | undefined;
    const stop = (why: string): void => {
      stopped ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const collect = (into: Buffer[]) => (c: Buffer) => {
      size += c.length;
      if (size > OUTPUT_LIMIT) stop(`git printed more than ${String(OUTPUT_LIMIT)} bytes`);
      else into.push(c);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    const timer = setTimeout(() => {
      stop(`timed out after ${String(o.timeoutMs)} ms`);
    }, o.timeoutMs);
    const onAbort = (): void => {
      stop("cancelled");
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      reject(new GitProcessError(`cannot run git: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (stopped !== undefined) reject(new GitProcessError(stopped));
      else if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new GitProcessError(Buffer.concat(err).toString("utf8") || `git ${args[0] ?? ""} exited with ${String(code)}`));
    });
  });
}
