// Pinned host keys: known_hosts lines for one host and port, from a file or from
// ssh-keyscan, merged into the Secret's known_hosts. The reconciler fetches with
// StrictHostKeyChecking=yes, so a host key that is not pinned here, or that changed, makes
// the fetch fail. A pin that would replace different keys needs --force: that is exactly the
// moment a man in the middle would want to be trusted.

import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { promisify } from "node:util";
import { ExitCode, TenantryError, ToolError, ValidationError } from "../errors.js";
import { parsePublicKey } from "../model/ssh-key.js";

const run = promisify(execFile);

export interface HostKeyEntry {
  /** The comma-separated host patterns as written. */
  readonly hosts: readonly string[];
  /** `type base64` */
  readonly key: string;
  readonly type: string;
  readonly fingerprint: string;
  /** `@cert-authority` / `@revoked`, when present: such lines are kept, never matched. */
  readonly marker?: string;
  readonly line: string;
}

const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/;

export function hostProblems(host: string, port: number): string[] {
  const problems: string[] = [];
  if (!HOSTNAME.test(host)) problems.push(`host "${host}" is not a host name or IP address: give e.g. github.com or 10.0.0.5`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`--port ${port} is not a TCP port: give 1-65535`);
  return problems;
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

/** Whether one known_hosts host field names `pattern` (plain, or hashed `|1|salt|hash`). */
export function hostFieldMatches(field: string, pattern: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (salt === undefined || hash === undefined) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(pattern).digest("base64") === hash;
  }
  return field.toLowerCase() === pattern;
}

/** Parses known_hosts text; lines that are not host keys are problems. */
export function parseKnownHosts(text: string, what: string): { entries: HostKeyEntry[]; problems: string[] } {
  const entries: HostKeyEntry[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith("@") === true ? fields.shift() : undefined;
    const [hosts, type, data] = fields;
    const parsed = hosts === undefined || type === undefined || data === undefined ? null : parsePublicKey(`${type} ${data}`);
    if (hosts === undefined || type === undefined || parsed === null) {
      problems.push(`${what} line ${i + 1} is not a known_hosts entry ("host keytype base64"): ${line.slice(0, 60)}`);
      return;
    }
    entries.push({ hosts: hosts.split(","), key: parsed.key, type, fingerprint: parsed.fingerprint, line, ...(marker === undefined ? {} : { marker }) });
  });
  return { entries, problems };
}

/** The plain entries that name `pattern`. */
export function entriesFor(entries: readonly HostKeyEntry[], pattern: string): HostKeyEntry[] {
  return entries.filter((e) => e.marker === undefined && e.hosts.some((h) => hostFieldMatches(h, pattern)));
}

/** Whether pinning `next` instead of `pinned` is a change of the host's identity. */
export function isChange(pinned: readonly HostKeyEntry[], next: readonly HostKeyEntry[]): boolean {
  if (pinned.length === 0) return false;
  const nextByType = new Map(next.map((e) => [e.type, e.fingerprint]));
  const common = pinned.some((p) => next.some((n) => n.fingerprint === p.fingerprint));
  const differs = pinned.some((p) => nextByType.has(p.type) && nextByType.get(p.type) !== p.fingerprint);
  return !common || differs;
}

/**
 * Pure: `existing` known_hosts text with every pin of `pattern` replaced by `next` (written as
 * `pattern type base64`). Other hosts' lines stay as they are; a line naming several hosts
 * keeps the others.
 */
export function mergeKnownHosts(existing: string, pattern: string, next: readonly HostKeyEntry[]): string {
  const kept: string[] = [];
  for (const raw of existing.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const { entries } = parseKnownHosts(line, "known_hosts");
    const e = entries[0];
    if (e === undefined || e.marker !== undefined || !e.hosts.some((h) => hostFieldMatches(h, pattern))) {
      kept.push(line);
      continue;
    }
    const others = e.hosts.filter((h) => !hostFieldMatches(h, pattern));
    if (others.length > 0) kept.push(`${others.join(",")} ${e.key}`);
  }
  const unique = [...new Map(next.map((e) => [e.fingerprint, e])).values()];
  return [...kept, ...unique.map((e) => `${pattern} ${e.key}`)].join("\n") + "\n";
}

/** The host keys `host:port` presents, by ssh-keyscan (each key type in a full key exchange). */
export async function scanHostKeys(host: string, port: number, timeoutSeconds = 10): Promise<HostKeyEntry[]> {
  let stdout = "";
  let stderr = "";
  try {
    ({ stdout, stderr } = await run("ssh-keyscan", ["-T", String(timeoutSeconds), "-p", String(port), "--", host], { timeout: (timeoutSeconds + 5) * 1000 }));
  } catch (e) {
    const err = e as { code?: string | number; stdout?: string; stderr?: string };
    if (err.code === "ENOENT") throw new ToolError("ssh-keyscan is not installed: install openssh-client, or pin the keys from a file with --from FILE");
    stdout = err.stdout ?? "";
    stderr = err.stderr ?? "";
  }
  const { entries } = parseKnownHosts(stdout, "ssh-keyscan output");
  const mine = entriesFor(entries, hostPattern(host, port));
  if (mine.length === 0) {
    const why = stderr.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
    throw new TenantryError(`ssh-keyscan got no host key from ${host} port ${port}${why === undefined ? "" : ` (${why})`}: check the host and --port, and that its SSH server is up`, ExitCode.external);
  }
  return mine;
}

/** The entries for `host:port` in a known_hosts file's text. */
export function hostKeysFromText(text: string, file: string, host: string, port: number): HostKeyEntry[] {
  const { entries, problems } = parseKnownHosts(text, file);
  if (problems.length > 0) throw new ValidationError(problems);
  const mine = entriesFor(entries, hostPattern(host, port));
  if (mine.length === 0) throw new ValidationError([`${file} has no key for ${hostPattern(host, port)}: give the host and --port as the file names them`]);
  return mine;
}
