// Fetching a GitSync's source: a shallow clone of one ref into a scratch directory.
// SSH uses the deploy key written 0600 to a scratch file and a pinned known_hosts with
// StrictHostKeyChecking=yes; HTTPS credentials travel in git's environment config, never
// on a command line or in the checkout's .git/config, and a private CA (Secret key ca.crt)
// is trusted for that fetch only. The scratch directory is the caller's to remove.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyFingerprint } from "../model/ssh-key.js";
import type { GitRef } from "../model/gitsync.js";
import { redactUrlCredentials } from "../model/safe-text.js";
import { runGit } from "./git-process.js";

export interface GitCredentials {
  /** OpenSSH private key. */
  readonly identity?: string;
  readonly knownHosts?: string;
  readonly username?: string;
  /** Password or token for HTTPS. */
  readonly password?: string;
  /** PEM CA bundle that signs the HTTPS server's certificate, when not a public CA. */
  readonly caCert?: string;
}

export interface FetchedSource {
  /** The checkout. */
  readonly dir: string;
  readonly sha: string;
  /** Holds the checkout and any key files: remove it when done. */
  readonly scratch: string;
  /** SHA256 fingerprint of the deploy key the fetch used (SSH only). */
  readonly keyFingerprint?: string;
}

/** A failed fetch; its message never carries credentials a URL held (git quotes the URL). */
export class FetchError extends Error {
  override readonly name = "FetchError";
  constructor(message: string) {
    super(redactUrlCredentials(message));
  }
}

function isSsh(url: string): boolean {
  return url.startsWith("ssh://") || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(url);
}

function gitEnv(url: string, scratch: string, creds: GitCredentials | undefined): Record<string, string> {
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: scratch,
  };
  if (isSsh(url)) {
    if (creds?.identity === undefined) throw new FetchError(`${url} is an SSH URL but the GitSync's Secret has no identity (deploy key): run tenantry keys create`);
    if (creds.knownHosts === undefined || creds.knownHosts.trim() === "") {
      throw new FetchError(`${url}: the GitSync's Secret has no known_hosts: pin the host key with tenantry keys known-hosts`);
    }
    const key = join(scratch, "identity");
    const known = join(scratch, "known_hosts");
    writeFileSync(key, creds.identity.endsWith("\n") ? creds.identity : `${creds.identity}\n`, { mode: 0o600 });
    writeFileSync(known, creds.knownHosts, { mode: 0o600 });
    chmodSync(key, 0o600);
    env.GIT_SSH_COMMAND = `ssh -F /dev/null -i '${key}' -o IdentitiesOnly=yes -o UserKnownHostsFile='${known}' -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=15`;
  } else if (url.startsWith("https://")) {
    const config: [string, string][] = [];
    if (creds?.password !== undefined) {
      const basic = Buffer.from(`${creds.username ?? "git"}:${creds.password}`).toString("base64");
      config.push(["http.extraHeader", `Authorization: Basic ${basic}`]);
    }
    if (creds?.caCert !== undefined) {
      const ca = join(scratch, "ca.crt");
      writeFileSync(ca, creds.caCert, { mode: 0o600 });
      config.push(["http.sslCAInfo", ca]);
    }
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    if (config.length > 0) env.GIT_CONFIG_COUNT = String(config.length);
  }
  return env;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("hint:"));
  return lines.find((l) => /requested strict checking|host key verification failed/i.test(l)) ?? lines.find((l) => /fatal|error|denied|refused|not found|could not/i.test(l)) ?? lines[0] ?? "git failed";
}

/** git's HTTPS failures with what to change in the GitSync's Secret. */
function explain(line: string, creds: GitCredentials | undefined): string {
  // With prompts off, a 401 shows up as git failing to ask for a username.
  if (/could not read Username|Authentication failed/i.test(line)) {
    return creds?.password === undefined
      ? "the server asks for credentials: put username and password (a read-only token) in the GitSync's Secret"
      : "the server refused the username and password (token) in the GitSync's Secret: check that the token is valid and can read the repository";
  }
  if (/certificate|SSL/i.test(line) && creds?.caCert === undefined) {
    return `${line} (if a private CA signs the server's certificate, put it in the GitSync's Secret as ca.crt)`;
  }
  return line;
}

/** How long a git command may take, and the signal that kills it (a cancelled reconcile). */
export interface FetchOptions {
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** git in `cwd` with exactly `env`, killed (with its helpers) on timeout or cancel. */
function gitIn(cwd: string, env: Record<string, string>, o: FetchOptions) {
  return (...args: string[]) => runGit(args, { cwd, env, timeoutMs: o.timeoutMs ?? 120_000, signal: o.signal });
}

/** SHA256 fingerprint of the deploy key a fetch of `url` uses (SSH only). */
export function keyFingerprintOf(url: string, creds: GitCredentials | undefined): string | undefined {
  return isSsh(url) && creds?.identity !== undefined ? privateKeyFingerprint(creds.identity) : undefined;
}

/** Why a git command failed: cancelled by its caller, or git's own first line explained. */
function fetchFailure(url: string, e: unknown, creds: GitCredentials | undefined, o: FetchOptions): FetchError {
  if (o.signal?.aborted === true) return new FetchError(`fetching ${url} was cancelled`);
  return new FetchError(`fetching ${url} failed: ${explain(firstLine(e), creds)}`);
}

/** Clones `ref` of `url` (depth 1 where the ref allows). On failure nothing is left on disk. */
export async function fetchSource(url: string, ref: GitRef | undefined, creds?: GitCredentials, o: FetchOptions = {}): Promise<FetchedSource> {
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-src-"));
  const dir = join(scratch, "repo");
  try {
    const env = { ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }), ...gitEnv(url, scratch, creds) };
    const git = gitIn(scratch, env, o);
    if (ref?.commit !== undefined) {
      await git("init", "--quiet", dir);
      const repo = gitIn(dir, env, o);
      await repo("fetch", "--quiet", "--depth", "1", "--", url, ref.commit);
      await repo("checkout", "--quiet", "--detach", "FETCH_HEAD");
    } else {
      const name = ref?.tag ?? ref?.branch ?? "main";
      await git("clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", "--branch", name, "--", url, dir);
    }
    const sha = (await gitIn(dir, env, o)("rev-parse", "HEAD")).trim();
    const keyFingerprint = keyFingerprintOf(url, creds);
    return { dir, sha, scratch, ...(keyFingerprint === undefined ? {} : { keyFingerprint }) };
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    if (e instanceof FetchError) throw e;
    throw fetchFailure(url, e, creds, o);
  }
}

/**
 * The commit `ref` of `url` points at now, asked with `git ls-remote` (one round trip, no
 * objects transferred) under the same credentials and host-key checks as a fetch. A pinned
 * commit is its own answer. Throws FetchError like fetchSource.
 */
export async function remoteRevision(url: string, ref: GitRef | undefined, creds?: GitCredentials, o: FetchOptions = {}): Promise<string> {
  if (ref?.commit !== undefined) return ref.commit;
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-ls-"));
  try {
    const env = { ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }), ...gitEnv(url, scratch, creds) };
    const name = ref?.tag === undefined ? `refs/heads/${ref?.branch ?? "main"}` : `refs/tags/${ref.tag}`;
    let out: string;
    try {
      out = await gitIn(scratch, env, o)("ls-remote", "--", url, name, `${name}^{}`);
    } catch (e) {
      throw fetchFailure(url, e, creds, o);
    }
    const lines = out.split("\n").map((l) => l.split("\t"));
    // An annotated tag: the peeled line (^{}) names the commit, the other the tag object.
    const sha = (lines.find(([, r]) => r === `${name}^{}`) ?? lines.find(([, r]) => r === name))?.[0];
    if (sha === undefined || !/^[0-9a-f]{40,64}$/.test(sha)) throw new FetchError(`fetching ${url} failed: ${name} does not exist in the repository`);
    return sha;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
