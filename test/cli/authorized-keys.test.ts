// The authorized_keys line of a plain SSH git server: read-only by construction (the forced
// command pins git-upload-pack and the repo), nothing from the client is interpreted, and
// the one input that reaches the line, the repo path, is held to a strict character set.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appendLine, authorizedKeysLine, forcedCommand, parseAuthorizedKeys, readOnlyRepoOf, removeKeyLines, repoPathProblems, titleProblems } from "../../src/keys/authorized-keys.js";
import { generateKeyPair, parsePublicKey } from "../../src/model/ssh-key.js";

const dir = mkdtempSync(join(tmpdir(), "tenantry-authkeys-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const pair = generateKeyPair("tenantry:prod:team1");
const key = parsePublicKey(pair.publicKey)?.key ?? "";

describe("the authorized_keys line", () => {
  it("restricts the key and forces git-upload-pack of one repo", () => {
    const line = authorizedKeysLine(key, "/srv/git/team1.git", "tenantry:prod:team1");
    expect(line).toBe(`restrict,command="git-upload-pack '/srv/git/team1.git'" ${key} tenantry:prod:team1`);
    expect(line).not.toContain("SSH_ORIGINAL_COMMAND");
  });

  it("is read by ssh-keygen as this key", () => {
    const file = join(dir, "authorized_keys");
    writeFileSync(file, `${authorizedKeysLine(key, "/srv/git/team1.git", "tenantry:prod:team1")}\n`);
    const out = execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" });
    expect(out.trim()).toBe(`256 ${pair.fingerprint} tenantry:prod:team1 (ED25519)`);
  });

  it.each([
    ["a quote", "/srv/git/x'; touch /tmp/pwned; '.git"],
    ["a double quote", '/srv/git/x".git'],
    ["a command substitution", "/srv/git/$(id).git"],
    ["backticks", "/srv/git/`id`.git"],
    ["a semicolon", "/srv/x;id"],
    ["a space", "/srv/git/a b.git"],
    ["a newline", "/srv/git/a.git\nssh-ed25519 AAAA attacker"],
    ["a backslash", "/srv/git/a\\.git"],
    ["an option", "--upload-pack=touch /tmp/pwned"],
    ["a leading dash", "-x.git"],
    ["a parent segment", "/srv/git/../../etc"],
    ["a comma (option separator)", "/srv/a,command=x"],
    ["nothing", ""],
  ])("refuses a repo path with %s", (_what, path) => {
    expect(repoPathProblems(path)).toHaveLength(1);
  });

  it.each(["/srv/git/team1.git", "org/team1.git", "~/repos/team-1.git", "/var/lib/git/a_b@c+d.git"])("accepts %s", (path) => {
    expect(repoPathProblems(path)).toEqual([]);
  });

  it("refuses titles an authorized_keys comment cannot carry", () => {
    expect(titleProblems("tenantry:prod:team1")).toEqual([]);
    expect(titleProblems("a b")).toHaveLength(1);
    expect(titleProblems("x\nssh-ed25519 AAAA")).toHaveLength(1);
  });
});

describe("reading authorized_keys back", () => {
  const other = generateKeyPair("someone");
  const text = [
    "# the git server's keys",
    other.publicKey,
    `restrict,command="git-upload-pack '/srv/git/team1.git'" ${key} tenantry:prod:team1`,
    `command="echo \\"hi there\\"",no-pty ${parsePublicKey(generateKeyPair("x").publicKey)?.key ?? ""} quoted`,
    "garbage line",
  ].join("\n");

  it("parses keys with and without options (quoted spaces included)", () => {
    const keys = parseAuthorizedKeys(text);
    expect(keys.map((k) => k.comment)).toEqual(["someone", "tenantry:prod:team1", "quoted"]);
    expect(keys.map((k) => k.readOnlyRepo)).toEqual([null, "/srv/git/team1.git", null]);
    expect(keys[1]?.fingerprint).toBe(pair.fingerprint);
  });

  it("only the exact restricted upload-pack form counts as read-only", () => {
    expect(readOnlyRepoOf(`restrict,command="git-upload-pack '/a.git'"`)).toBe("/a.git");
    expect(readOnlyRepoOf(`command="git-upload-pack '/a.git'"`)).toBeNull();
    expect(readOnlyRepoOf(`restrict,command="git-receive-pack '/a.git'"`)).toBeNull();
    expect(readOnlyRepoOf(`restrict,command="git-upload-pack '/a.git'; sh"`)).toBeNull();
    expect(readOnlyRepoOf(`restrict,command="git-upload-pack '/a.git'",port-forwarding`)).toBeNull();
  });

  it("removes one key's lines and keeps everything else", () => {
    const after = removeKeyLines(text, pair.fingerprint);
    expect(after).not.toContain(key);
    expect(after).toContain("# the git server's keys");
    expect(after).toContain("garbage line");
    expect(parseAuthorizedKeys(after)).toHaveLength(2);
    expect(appendLine("a", "b")).toBe("a\nb\n");
    expect(appendLine("", "b")).toBe("b\n");
  });
});

describe("the forced command, run the way sshd runs it", () => {
  // sshd runs a forced command as `<login shell> -c <command>`, with the client's own
  // command only in $SSH_ORIGINAL_COMMAND. Both login shells a git user has are tried.
  const repo = join(dir, "team1.git");
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", repo]);
  const work = join(dir, "work");
  execFileSync("git", ["init", "--quiet", "--initial-branch=main", work]);
  writeFileSync(join(work, "a"), "a");
  execFileSync("git", ["-C", work, "add", "a"]);
  execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "a"]);
  execFileSync("git", ["-C", work, "push", "--quiet", repo, "main"]);
  const marker = join(dir, "pwned");
  const attacks = [`git-receive-pack '${repo}'`, `git-upload-pack '${repo}'; touch ${marker}`, `git-upload-pack '/etc'`, `sh -c 'touch ${marker}'`];

  it.each(["/usr/bin/git-shell", "/bin/sh"])("under %s serves upload-pack of the pinned repo, whatever the client asked", (shell) => {
    for (const attack of attacks) {
      const r = spawnSync(shell, ["-c", forcedCommand(repo)], { env: { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: attack }, input: "0000", encoding: "utf8" });
      expect(r.status).toBe(0);
      // upload-pack's ref advertisement (not receive-pack's: it offers no report-status)
      expect(r.stdout).toMatch(/refs\/heads\/main/);
      expect(r.stdout).toMatch(/multi_ack|side-band/);
      expect(r.stdout).not.toMatch(/report-status/);
      expect(existsSync(marker)).toBe(false);
    }
  });
});
