// `tenantry keys` as a separate process, without a cluster: bootstrap keys written to 0600
// files outside any repo, registration on GitHub/GitLab/Gitea (the contract server) and on
// an SSH server's authorized_keys, pinning host keys from a file, and every fault as one
// line with its exit code. Ends by scanning everything it generated and printed for private
// key material.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { type CliResult, runCli, tempDir } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import { type GitHost, startGitHost } from "../helpers/githost.js";
import { PRIVATE_KEY_MARKER, privateKeyLeaks } from "../helpers/sshd.js";

let admin: string;
let outside: string;
const captured: Record<string, string> = {};
let runs = 0;
/** Directories holding authorized_keys files the tests wrote. */
const serverDirs: string[] = [];

/** Runs the CLI and keeps its output for the leak scan at the end. */
async function keys(args: readonly string[], env: NodeJS.ProcessEnv = {}, opts: { secretOutput?: boolean } = {}): Promise<CliResult> {
  const r = await runCli(["keys", ...args], { cwd: admin, env: { KUBECONFIG: "/nonexistent", GITHUB_TOKEN: "", GITLAB_TOKEN: "", GITEA_TOKEN: "", ...env } });
  if (opts.secretOutput !== true) captured[`run ${++runs}: keys ${args.join(" ")}`] = r.stdout + r.stderr;
  return r;
}

function oneLineError(r: CliResult, code: number): string {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tenantry: error: /);
  return lines[0] ?? "";
}

function fingerprintOf(file: string): string {
  return execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" }).split(" ")[1] ?? "";
}

beforeAll(async () => {
  admin = await makeAdminRepo([["team1"], ["team2"]]);
  outside = tempDir("tenantry-keys-out-");
});

describe("keys create --out (bootstrap without a cluster)", () => {
  it("writes the private key 0600 outside the repo, the public key into the admin repo, prints only the fingerprint", async () => {
    const file = join(outside, "team1.key");
    const r = await keys(["create", "team1", "--out", file]);
    expect(r.code, r.stderr).toBe(0);
    const fp = /^Created deploy key (SHA256:[A-Za-z0-9+/]{43}) for team1$/m.exec(r.stdout)?.[1];
    expect(fp).toBeDefined();
    expect(r.stdout + r.stderr).not.toContain(PRIVATE_KEY_MARKER);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toContain(PRIVATE_KEY_MARKER);
    const pub = join(admin, "cluster", "team1", "deploy-key.pub");
    expect(readFileSync(pub, "utf8")).toMatch(/^ssh-ed25519 \S+ tenantry:test:team1\n$/);
    expect(fingerprintOf(pub)).toBe(fp);
    expect(fingerprintOf(file)).toBe(fp);
    const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).split(" ").slice(0, 2).join(" ");
    expect(readFileSync(pub, "utf8").split(" ").slice(0, 2).join(" ")).toBe(derived);
  });

  it("refuses to replace a key without --force, naming rotate", async () => {
    const before = readFileSync(join(admin, "cluster", "team1", "deploy-key.pub"), "utf8");
    const line = oneLineError(await keys(["create", "team1", "--out", join(outside, "again.key")]), 2);
    expect(line).toMatch(/cluster\/team1\/deploy-key.pub already holds deploy key SHA256:\S+ .*--force/);
    expect(existsSync(join(outside, "again.key"))).toBe(false);
    expect(readFileSync(join(admin, "cluster", "team1", "deploy-key.pub"), "utf8")).toBe(before);
  });

  it("never writes a private key into a Git work tree", async () => {
    const inRepo = join(admin, "cluster", "team2", "key");
    const line = oneLineError(await keys(["create", "team2", "--out", inRepo]), 2);
    expect(line).toMatch(/is inside a Git work tree: a private key must never be written into a repo/);
    expect(existsSync(inRepo)).toBe(false);
    expect(existsSync(join(admin, "cluster", "team2", "deploy-key.pub"))).toBe(false);
  });

  it("--show-private prints the private key (and only then)", async () => {
    const r = await keys(["create", "team2", "--out", join(outside, "team2.key"), "--show-private"], {}, { secretOutput: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(PRIVATE_KEY_MARKER);
    expect(r.stdout).toContain(readFileSync(join(outside, "team2.key"), "utf8"));
  });

  it("--admin: the admin repo's key goes to cluster/common/deploy-key.pub", async () => {
    const r = await keys(["create", "--admin", "--out", join(outside, "admin.key")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Created deploy key SHA256:\S+ for admin/);
    expect(readFileSync(join(admin, "cluster", "common", "deploy-key.pub"), "utf8")).toMatch(/ tenantry:test:admin\n$/);
  });

  it.each([
    [["create"], /name a team, or pass --admin/],
    [["create", "team1", "--admin"], /name a team, or pass --admin/],
    [["create", "nope", "--out", "/tmp/x"], /team "nope" is not in the admin repo/],
    [["create", "Bad_Name", "--out", "/tmp/x"], /is not a DNS-1123 label/],
  ])("bad input %j: exit 2", async (args, message) => {
    const r = await keys(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("keys register on a forge (contract server)", () => {
  let github: GitHost;
  let gitea: GitHost;
  beforeAll(async () => {
    github = await startGitHost("github");
    github.addRepo("acme/team1");
    github.addRepo("acme/foreign");
    gitea = await startGitHost("gitea");
    gitea.addRepo("acme/team1");
  });
  afterAll(async () => {
    await github.close();
    await gitea.close();
  });

  const gh = (...extra: string[]): string[] => ["register", "team1", "--host", "github", "--api-url", github.url, "--no-cluster", ...extra];

  it("adds the admin repo's public key read-only, titled tenantry:<cluster>:<team>; again is a no-op", async () => {
    const r = await keys(gh(), { GITHUB_TOKEN: github.token });
    expect(r.code, r.stderr).toBe(0);
    const fp = fingerprintOf(join(admin, "cluster", "team1", "deploy-key.pub"));
    expect(r.stdout).toBe(`Registered ${fp} on github acme/team1 (read-only)\n`);
    expect(github.keys("acme/team1")).toMatchObject([{ title: "tenantry:test:team1", fingerprint: fp, readOnly: true }]);
    const again = await keys(gh(), { GITHUB_TOKEN: github.token });
    expect(again.stdout).toBe(`Already registered: ${fp} on github acme/team1 (read-only)\n`);
    expect(github.keys("acme/team1")).toHaveLength(1);
  });

  it("the same on Gitea, with --api-url", async () => {
    const r = await keys(["register", "team1", "--host", "gitea", "--api-url", gitea.url, "--no-cluster"], { GITEA_TOKEN: gitea.token });
    expect(r.code, r.stderr).toBe(0);
    expect(gitea.keys("acme/team1")).toMatchObject([{ title: "tenantry:test:team1", readOnly: true }]);
  });

  it("a foreign key with our title: reported, exit 4, nothing added", async () => {
    github.seed("acme/foreign", "tenantry:test:team1", (await import("../../src/model/ssh-key.js")).generateKeyPair("x").publicKey);
    const line = oneLineError(await keys(gh("--repo", "acme/foreign"), { GITHUB_TOKEN: github.token }), 4);
    expect(line).toMatch(/github acme\/foreign already has a deploy key titled "tenantry:test:team1" .* that is not this key .*: if it is stale, remove it on the host/);
    expect(github.keys("acme/foreign")).toHaveLength(1);
  });

  it("faults: one line each, the right exit code, the token never shown", async () => {
    const token = github.token;
    const missing = oneLineError(await keys(gh()), 2);
    expect(missing).toBe("tenantry: error: GITHUB_TOKEN is not set: export a GitHub token that may manage the repo's deploy keys in GITHUB_TOKEN");
    const bad = oneLineError(await keys(gh(), { GITHUB_TOKEN: "wrong-token-5678" }), 4);
    expect(bad).toMatch(/GitHub refused the token in GITHUB_TOKEN \(401 Bad credentials\): set GITHUB_TOKEN to a valid token/);
    expect(bad).not.toContain("wrong-token-5678");
    const weak = oneLineError(await keys(gh(), { GITHUB_TOKEN: github.weakToken }), 4);
    expect(weak).toMatch(/\(403 Resource not accessible by personal access token\): the token needs admin rights/);
    const unknown = oneLineError(await keys(gh("--repo", "acme/nope"), { GITHUB_TOKEN: token }), 4);
    expect(unknown).toMatch(/has no repo acme\/nope .*\(404 Not Found\): check --repo/);
    github.failNext(422, { message: "Validation Failed", errors: [{ message: "key is already in use" }] });
    // (the list comes first: the failure is injected into it, so this is a generic 422)
    const odd = oneLineError(await keys(gh(), { GITHUB_TOKEN: token }), 4);
    expect(odd).toMatch(/GitHub refused to list the deploy keys of acme\/team1 \(422 Validation Failed: key is already in use\)/);
    const down = await startGitHost("github");
    await down.close();
    const unreachable = oneLineError(await keys(["register", "team1", "--host", "github", "--api-url", down.url, "--no-cluster"], { GITHUB_TOKEN: token }), 4);
    expect(unreachable).toMatch(/cannot reach GitHub at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): check --api-url/);
    const noApi = oneLineError(await keys(["register", "team1", "--host", "gitea", "--no-cluster"], { GITEA_TOKEN: token }), 2);
    expect(noApi).toMatch(/--host gitea needs --api-url/);
    for (const out of Object.values(captured)) expect(out).not.toContain(token);
  });
});

describe("keys register --host ssh (a plain SSH git server)", () => {
  it("writes one restricted, read-only line; again changes nothing; an unsafe repo path is refused", async () => {
    const server = tempDir();
    serverDirs.push(server);
    const ak = join(server, "authorized_keys");
    writeFileSync(ak, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOW1M7viS7Ks5jsMSXK+8PP3OFKlVenIKo5iQDErJoJ1 someone-else\n", { mode: 0o600 });
    const args = ["register", "team1", "--host", "ssh", "--authorized-keys", ak, "--repo", "/srv/git/team1.git", "--no-cluster"];
    const r = await keys(args);
    expect(r.code, r.stderr).toBe(0);
    const pub = readFileSync(join(admin, "cluster", "team1", "deploy-key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const text = readFileSync(ak, "utf8");
    expect(text).toBe(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOW1M7viS7Ks5jsMSXK+8PP3OFKlVenIKo5iQDErJoJ1 someone-else\nrestrict,command="git-upload-pack '/srv/git/team1.git'" ${pub} tenantry:test:team1\n`);
    expect(statSync(ak).mode & 0o777).toBe(0o600);
    expect((await keys(args)).stdout).toMatch(/^Already registered: /);
    expect(readFileSync(ak, "utf8")).toBe(text);
    const bad = oneLineError(await keys(["register", "team2", "--host", "ssh", "--authorized-keys", ak, "--repo", "/srv/x'; touch /tmp/pwned; '", "--no-cluster"]), 2);
    expect(bad).toMatch(/cannot be used in a forced command/);
    expect(readFileSync(ak, "utf8")).toBe(text);
  });

  it("the repo path defaults to the one in the team's repo URL", async () => {
    const server = tempDir();
    serverDirs.push(server);
    const ak = join(server, "authorized_keys");
    expect((await keys(["register", "team2", "--host", "ssh", "--authorized-keys", ak, "--no-cluster"])).code).toBe(0);
    expect(readFileSync(ak, "utf8")).toMatch(/^restrict,command="git-upload-pack 'acme\/team2.git'" ssh-ed25519 \S+ tenantry:test:team2\n$/);
  });
});

describe("keys known-hosts --from", () => {
  it("prints the host's pins when no Secret is named; a file without the host is an input error", async () => {
    const file = join(outside, "known_hosts");
    const key = readFileSync(join(admin, "cluster", "team1", "deploy-key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    writeFileSync(file, `[127.0.0.1]:2222 ${key}\nother.example ${key}\n`);
    const r = await keys(["known-hosts", "127.0.0.1", "--port", "2222", "--from", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`[127.0.0.1]:2222 ${key}\n`);
    expect(oneLineError(await keys(["known-hosts", "github.com", "--from", file]), 2)).toMatch(/has no key for github.com/);
    expect((await keys(["known-hosts", "-oProxyCommand=x", "--from", file])).code).not.toBe(0);
  });
});

describe("no private key outside its place", () => {
  it("none in the admin repo (files and history), the authorized_keys files, or anything printed", () => {
    // Whatever the commands left in the admin repo goes into its history too.
    git(admin, "add", "--all");
    git(admin, "commit", "--quiet", "--allow-empty", "-m", "keys");
    const leaks = privateKeyLeaks([admin, ...serverDirs], captured);
    expect(serverDirs).toHaveLength(2);
    expect(leaks).toEqual([]);
    expect(Object.keys(captured).length).toBeGreaterThan(10);
  });
});
