// Deploy keys on a plain SSH git server: lines of the git user's authorized_keys.
//
//   restrict,command="git-upload-pack '/srv/git/team1.git'" ssh-ed25519 AAAA… tenantry:prod:team1
//
// The forced command pins both the program and the repo: whatever the client asks for
// (git-receive-pack, another repo, `…; rm -rf ~`), sshd runs only this, through the git
// user's login shell (git-shell or a POSIX shell, both accept it). The client's command
// ($SSH_ORIGINAL_COMMAND) is never interpreted, so there is nothing to inject into; the
// only input that reaches the line is the repo path, and it is checked against a strict
// character set here. `restrict` turns off forwarding, pty and ~/.ssh/rc.

import { parsePublicKey } from "../model/ssh-key.js";

const PATH_CHARS = /^~?[A-Za-z0-9._@+/-]+$/;

/** Problems with `path` as the repo of a forced git-upload-pack; [] when safe. */
export function repoPathProblems(path: string): string[] {
  const fix = "give the repo's path on the server, e.g. /srv/git/team1.git (letters, digits, . _ @ + / - only)";
  if (path === "" || path.length > 1024 || !PATH_CHARS.test(path)) return [`repo path "${path}" cannot be used in a forced command: ${fix}`];
  if (path.startsWith("-")) return [`repo path "${path}" starts with '-', git-upload-pack would read it as an option: ${fix}`];
  if (path.split("/").includes("..")) return [`repo path "${path}" has a '..' segment: ${fix}`];
  return [];
}

/** Problems with `title` as an authorized_keys comment. */
export function titleProblems(title: string): string[] {
  return /^[A-Za-z0-9._:@+-]+$/.test(title) ? [] : [`deploy key title "${title}" has characters an authorized_keys comment cannot carry`];
}

export function forcedCommand(repoPath: string): string {
  return `git-upload-pack '${repoPath}'`;
}

/** The line for `key` (`type base64`); the caller has checked path and title. */
export function authorizedKeysLine(key: string, repoPath: string, title: string): string {
  return `restrict,command="${forcedCommand(repoPath)}" ${key} ${title}`;
}

export interface AuthorizedKey {
  /** Options as written, or "" */
  readonly options: string;
  readonly key: string;
  readonly comment: string;
  readonly fingerprint: string;
  /** The repo when the line forces git-upload-pack of one repo under `restrict`. */
  readonly readOnlyRepo: string | null;
  readonly line: string;
}

/** Splits a line into its options field and the rest (options may hold quoted spaces). */
function splitOptions(line: string): { options: string; rest: string } {
  if (parsePublicKey(line) !== null) return { options: "", rest: line };
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === " " || c === "\t")) return { options: line.slice(0, i), rest: line.slice(i).trim() };
  }
  return { options: line, rest: "" };
}

/** The repo a line's options restrict it to, or null when they allow more than one upload-pack. */
export function readOnlyRepoOf(options: string): string | null {
  const m = /^restrict,command="git-upload-pack '([^'"\\]*)'"$/.exec(options);
  return m?.[1] !== undefined && repoPathProblems(m[1]).length === 0 ? m[1] : null;
}

/** The key lines of an authorized_keys file (comments and unparsable lines are skipped). */
export function parseAuthorizedKeys(text: string): AuthorizedKey[] {
  const keys: AuthorizedKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const { options, rest } = splitOptions(line);
    const parsed = parsePublicKey(rest);
    if (parsed === null) continue;
    keys.push({ options, key: parsed.key, comment: parsed.comment, fingerprint: parsed.fingerprint, readOnlyRepo: readOnlyRepoOf(options), line });
  }
  return keys;
}

/** Pure: `text` without the key lines whose fingerprint is `fingerprint`. */
export function removeKeyLines(text: string, fingerprint: string): string {
  const kept = text.split("\n").filter((raw) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return true;
    const parsed = parsePublicKey(splitOptions(line).rest);
    return parsed?.fingerprint !== fingerprint;
  });
  return kept.join("\n");
}

/** Pure: `text` with `line` appended (on its own line). */
export function appendLine(text: string, line: string): string {
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}${line}\n`;
}
