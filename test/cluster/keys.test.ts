// Deploy keys end to end: a real sshd (test/helpers/sshd.ts) serving the team's repo to the
// `git` user, the real control plane, and the real CLI. The key is created into the
// cluster, the host key pinned, the key registered read-only in authorized_keys, and
// `tenantry sync` fetches with it; pushes with it are refused; rotation never leaves the
// reconciler without a working key; a changed host key stops the fetch. Ends by scanning
// every repo it made and everything the CLI printed for private key material.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { type CliResult, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, readOrNull } from "../helpers/cluster.js";
import { git } from "../helpers/git.js";
import { PRIVATE_KEY_MARKER, privateKeyLeaks, type Sshd, startSshd } from "../helpers/sshd.js";

const TEAM = "keys-a";
let admin: KubeAccess;
let sshd: Sshd;
let adminRepo: string;
let teamRepo: string;
let teamRemote: { path: string; url: string };
/** Test-only copies of keys read from the Secret (to use them with ssh -i); removed after each use. */
let scratch: string;
const captured: Record<string, string> = {};

async function cli(args: readonly string[], opts: { kubeconfig?: boolean } = {}): Promise<CliResult> {
  const full = opts.kubeconfig === false ? args : [...args, "--kubeconfig", inject("kubeconfig")];
  const r = await runCli(full, { cwd: adminRepo });
  captured[`${Object.keys(captured).length}: tenantry ${args.join(" ")}`] = r.stdout + r.stderr;
  return r;
}

const sync = (): Promise<CliResult> => cli(["sync", "--namespace", TEAM, "--name", TEAM]);

async function gitSync(): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: TEAM } })) as GitSync;
}

function ready(gs: GitSync) {
  return gs.status?.conditions?.find((c) => c.type === "Ready");
}

interface SecretView {
  data: Record<string, string>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

/** The Secret decoded, or null when it does not exist (any other failure fails the test). */
async function secret(namespace = TEAM, name = `${TEAM}-deploy-key`): Promise<SecretView | null> {
  const o = (await readOrNull(admin, { apiVersion: "v1", kind: "Secret", metadata: { name, namespace } })) as unknown as {
    data?: Record<string, string>;
    metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  } | null;
  if (o === null) return null;
  const data = Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
  return { data, annotations: o.metadata.annotations ?? {}, labels: o.metadata.labels ?? {} };
}

/** The Secret's current private key in a 0600 scratch file, for `fn`; the file is removed afterwards. */
async function withSecretKey<T>(fn: (file: string) => T | Promise<T>, identity?: string): Promise<T> {
  const key = identity ?? (await secret())?.data.identity;
  if (key === undefined) throw new Error("no identity in the Secret");
  const file = join(scratch, `key-${Date.now().toString(36)}`);
  writeFileSync(file, key, { mode: 0o600 });
  try {
    return await fn(file);
  } finally {
    rmSync(file, { force: true });
  }
}

/** git with GIT_SSH_COMMAND for `identity`; never throws: the exit status and stderr. */
function gitWith(identity: string, cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd, encoding: "utf8", env: { ...process.env, GIT_SSH_COMMAND: sshd.sshCommand(identity), GIT_TERMINAL_PROMPT: "0" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function remoteMain(): string {
  return execFileSync("git", ["-c", "safe.directory=*", "--git-dir", teamRemote.path, "rev-parse", "main"], { encoding: "utf8" }).trim();
}

function ourLines(): string[] {
  return readFileSync(sshd.authorizedKeys, "utf8").split("\n").filter((l) => l.includes(`tenantry:keystest:${TEAM}`));
}

function fingerprintOfFile(file: string): string {
  return execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" }).split(" ")[1] ?? "";
}

beforeAll(async () => {
  admin = adminAccess();
  sshd = await startSshd();
  scratch = tempDir("tenantry-keys-scratch-");
  teamRemote = sshd.bareRepo("team");
  adminRepo = join(tempDir(), "admin");
  teamRepo = join(tempDir(), "team");
  const init = await runCli(["init", adminRepo, "--cluster-name", "keystest", "--git-url", "https://git.example.com/acme/admin.git"]);
  expect(init.code, init.stderr).toBe(0);
  const ct = await runCli(["create-team", TEAM, "--repo-url", teamRemote.url, "--team-repo-dir", teamRepo, "--commit"], { cwd: adminRepo });
  expect(ct.code, ct.stderr).toBe(0);
  // Bootstrap as an admin would, without touching the shared tenantry-system/admin GitSync
  // other test files reconcile: cluster/common minus that GitSync, then the team's overlay.
  const common = (await buildDir(join(adminRepo, "cluster", "common"))).filter((o) => o.kind !== "GitSync");
  await applyObjects(admin, common);
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", TEAM)));
  // The team's first push, with the writer key (no forced command: it may push).
  const pushed = gitWith(sshd.writerKey, teamRepo, "push", "--quiet", teamRemote.url, "HEAD:main");
  expect(pushed.status, pushed.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await sshd.stop();
});

describe("deploy keys over a real SSH server", () => {
  let first: string;

  it("keys create: the private key only in the Secret, the public key in the admin repo", async () => {
    const r = await cli(["keys", "create", TEAM]);
    expect(r.code, r.stderr).toBe(0);
    first = /Created deploy key (SHA256:\S+) for keys-a/.exec(r.stdout)?.[1] ?? "";
    expect(first).not.toBe("");
    expect(r.stdout).toContain(`private key: Secret ${TEAM}/${TEAM}-deploy-key`);
    const s = await secret();
    expect(s?.data.identity).toContain(PRIVATE_KEY_MARKER);
    const pub = join(adminRepo, "cluster", TEAM, "deploy-key.pub");
    expect(s?.data["identity.pub"]).toBe(readFileSync(pub, "utf8"));
    expect(fingerprintOfFile(pub)).toBe(first);
    expect(s?.annotations["tenantry.dev/fingerprint"]).toBe(first);
    expect(s?.annotations["tenantry.dev/created"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(s?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": TEAM, "tenantry.dev/deploy-key": "true" });
    const again = await cli(["keys", "create", TEAM]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds deploy key SHA256:\S+: replace it without downtime with tenantry keys rotate keys-a/);
  });

  it("a fetch fails loudly without known_hosts, and with no pinned key for this host", async () => {
    const none = await sync();
    expect(none.code).toBe(1);
    expect(ready(await gitSync())?.message).toMatch(/has no known_hosts: pin the host key with tenantry keys known-hosts/);
    // Pins for another host only: ssh must refuse this one (StrictHostKeyChecking=yes).
    const other = join(scratch, "other_known_hosts");
    writeFileSync(other, sshd.hostKeyLines().map((l) => l.replace("[127.0.0.1]", "[127.0.0.2]")).join("\n"));
    expect((await cli(["keys", "known-hosts", "127.0.0.2", "--port", String(sshd.port), "--from", other, "--team", TEAM])).code).toBe(0);
    const unknown = await sync();
    expect(unknown.code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.status).toBe("False");
    expect(ready(gs)?.reason).toBe("GitOperationFailed");
    expect(ready(gs)?.message).toMatch(new RegExp(`No \\S+ host key is known for \\[127\\.0\\.0\\.1\\]:${sshd.port} and you have requested strict checking`));
  });

  it("keys known-hosts scans and pins the server's host keys", async () => {
    const r = await cli(["keys", "known-hosts", "127.0.0.1", "--port", String(sshd.port), "--team", TEAM]);
    expect(r.code, r.stderr).toBe(0);
    const printed = [...r.stdout.matchAll(/SHA256:\S+/g)].map((m) => m[0]).sort();
    expect(printed).toEqual(sshd.hostKeyFingerprints().sort());
    const known = (await secret())?.data.known_hosts ?? "";
    for (const line of sshd.hostKeyLines()) expect(known).toContain(line);
    expect(known).toContain("[127.0.0.2]:");
  });

  it("keys register --host ssh: one restricted line in authorized_keys, recorded on the Secret", async () => {
    const r = await cli(["keys", "register", TEAM, "--host", "ssh", "--authorized-keys", sshd.authorizedKeys]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Registered ${first} on ssh ${sshd.authorizedKeys} (read-only)\n`);
    expect(ourLines()).toEqual([expect.stringMatching(new RegExp(`^restrict,command="git-upload-pack '${teamRemote.path}'" ssh-ed25519 \\S+ tenantry:keystest:${TEAM}$`))]);
    const s = await secret();
    expect(s?.annotations["tenantry.dev/registered"]).toBe(`ssh:${sshd.authorizedKeys}`);
    expect(s?.annotations["tenantry.dev/registered-repo-path"]).toBe(teamRemote.path);
    expect((await cli(["keys", "register", TEAM, "--host", "ssh", "--authorized-keys", sshd.authorizedKeys])).stdout).toMatch(/^Already registered: /);
    expect(ourLines()).toHaveLength(1);
  });

  it("tenantry sync clones with the deploy key: Ready=True and status.keyFingerprint", async () => {
    const s = await sync();
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const gs = await gitSync();
    expect(ready(gs)?.status).toBe("True");
    expect(gs.status?.keyFingerprint).toBe(first);
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${remoteMain()}`);
    await client(admin).readObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: TEAM } });
  });

  it("the deploy key cannot push, and its forced command ignores what the client asks", async () => {
    const before = remoteMain();
    await withSecretKey((key) => {
      const clone = join(scratch, "clone");
      expect(gitWith(key, scratch, "clone", "--quiet", teamRemote.url, clone).status).toBe(0);
      writeFileSync(join(clone, "evil.yaml"), "kind: ConfigMap\n");
      gitWith(key, clone, "add", "evil.yaml");
      gitWith(key, clone, "commit", "--quiet", "-m", "evil");
      const push = gitWith(key, clone, "push", "origin", "HEAD:main");
      expect(push.status).not.toBe(0);
      rmSync(clone, { recursive: true, force: true });
      // The client asks for another repo and a shell command: sshd runs only the forced command.
      const marker = join(scratch, "pwned");
      const ssh = sshd.sshCommand(key).split(" ");
      const r = spawnSync(ssh[0] ?? "ssh", [...ssh.slice(1), "-p", String(sshd.port), "git@127.0.0.1", `git-receive-pack '/etc'; touch ${marker}`], { input: "0000", encoding: "utf8" });
      expect(r.stdout).toContain(`${before} refs/heads/main`);
      expect(r.stdout).not.toContain("report-status");
      expect(existsSync(marker)).toBe(false);
    });
    expect(remoteMain()).toBe(before);
    // The writer key, by contrast, may push: the refusal above is the deploy key's.
    expect(gitWith(sshd.writerKey, teamRepo, "push", "--quiet", teamRemote.url, "HEAD:refs/heads/writable").status).toBe(0);
  });

  let second: string;
  it("keys rotate waits for the reconciler: until it has fetched, both keys work; the next run finishes", async () => {
    const oldIdentity = (await secret())?.data.identity ?? "";
    const r = await cli(["keys", "rotate", TEAM, "--timeout", "2s"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/GitSync keys-a\/keys-a has not fetched with the new key SHA256:\S+ within 2 s .*both keys stay registered .*run tenantry keys rotate keys-a again/);
    const s = await secret();
    second = s?.annotations["tenantry.dev/fingerprint"] ?? "";
    expect(second).not.toBe(first);
    expect(s?.annotations["tenantry.dev/rotating-from"]).toBe(first);
    expect(s?.data.known_hosts).toContain(sshd.hostKeyLines()[0]);
    expect(ourLines()).toHaveLength(2);
    // No moment without a working key: the old one (what a running agent may still hold) and the new one both fetch.
    await withSecretKey((key) => {
      expect(gitWith(key, scratch, "ls-remote", teamRemote.url).status).toBe(0);
    }, oldIdentity);
    await withSecretKey((key) => {
      expect(gitWith(key, scratch, "ls-remote", teamRemote.url).status).toBe(0);
    });
    const list = await cli(["keys", "list", "-o", "json"]);
    const row = (JSON.parse(list.stdout) as { team: string; fingerprint: string; rotatingFrom: string; lastFetch: { keyFingerprint: string } }[]).find((x) => x.team === TEAM);
    expect(row).toMatchObject({ fingerprint: second, rotatingFrom: first, lastFetch: { keyFingerprint: first } });

    expect((await sync()).code).toBe(0);
    expect((await gitSync()).status?.keyFingerprint).toBe(second);
    const resumed = await cli(["keys", "rotate", TEAM, "--timeout", "10s"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe(`Rotated the deploy key of ${TEAM}: ${first} -> ${second} on ssh ${sshd.authorizedKeys} (resumed); removed 1 old key from the host\n`);
    expect(ourLines()).toHaveLength(1);
    expect((await secret())?.annotations["tenantry.dev/rotating-from"]).toBeUndefined();
    expect(fingerprintOfFile(join(adminRepo, "cluster", TEAM, "deploy-key.pub"))).toBe(second);
    // The old key is refused by sshd now; the new one works.
    await withSecretKey((key) => {
      const old = gitWith(key, scratch, "ls-remote", teamRemote.url);
      expect(old.status).not.toBe(0);
      expect(old.stderr).toMatch(/Permission denied \(publickey\)/);
    }, oldIdentity);
    await withSecretKey((key) => {
      expect(gitWith(key, scratch, "ls-remote", teamRemote.url).status).toBe(0);
    });
  });

  it("keys rotate --sync-now does it in one run", async () => {
    const r = await cli(["keys", "rotate", TEAM, "--sync-now", "--commit"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const third = (await secret())?.annotations["tenantry.dev/fingerprint"] ?? "";
    expect(r.stdout).toMatch(new RegExp(`^Rotated the deploy key of ${TEAM}: ${second.replace(/[+/]/g, "\\$&")} -> ${third.replace(/[+/]/g, "\\$&")} on ssh .*; removed 1 old key from the host\\nCommitted [0-9a-f]{7}\\.\\n$`));
    expect((await gitSync()).status?.keyFingerprint).toBe(third);
    expect(ourLines()).toHaveLength(1);
    expect(ourLines()[0]).toContain(readFileSync(join(adminRepo, "cluster", TEAM, "deploy-key.pub"), "utf8").split(" ")[1]);
  });

  it("keys rotate --commit refused by a pre-commit hook: the Secret, the host, the public key and HEAD as before, and the message says so", async () => {
    const hook = join(adminRepo, ".git", "hooks", "pre-commit");
    const pub = join(adminRepo, "cluster", TEAM, "deploy-key.pub");
    const before = { secret: await secret(), lines: ourLines(), pub: readFileSync(pub, "utf8"), head: git(adminRepo, "rev-parse", "HEAD"), status: git(adminRepo, "status", "--porcelain") };
    writeFileSync(hook, "#!/bin/sh\necho 'no commits today' >&2\nexit 1\n", { mode: 0o755 });
    try {
      const r = await cli(["keys", "rotate", TEAM, "--sync-now", "--commit"]);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      // Progress first (registered next to the old key), then the one error line.
      expect(r.stderr).toMatch(/\ntenantry: error: git commit failed in .*: no commits today; the files were put back as they were, nothing changed; rolled back to SHA256:\S+ \(the Secret holds it again\) and removed SHA256:\S+ from ssh \S+\n$/);
      expect(r.stderr.match(/^tenantry: error:/gm)).toHaveLength(1);
    } finally {
      rmSync(hook);
    }
    const after = await secret();
    expect(after?.data.identity).toBe(before.secret?.data.identity);
    expect(after?.annotations["tenantry.dev/rotating-from"]).toBeUndefined();
    expect(ourLines()).toEqual(before.lines);
    expect(readFileSync(pub, "utf8")).toBe(before.pub);
    expect(git(adminRepo, "rev-parse", "HEAD")).toBe(before.head);
    expect(git(adminRepo, "status", "--porcelain")).toBe(before.status);
  });

  it("keys list: fingerprint, created, where registered, last fetch", async () => {
    const r = await cli(["keys", "list"]);
    expect(r.code, r.stderr).toBe(0);
    const fp = (await secret())?.annotations["tenantry.dev/fingerprint"] ?? "";
    expect(r.stdout).toMatch(/^TEAM +FINGERPRINT +CREATED +REGISTERED +LAST-FETCH\n/);
    const line = r.stdout.split("\n").find((l) => l.startsWith(`${TEAM} `)) ?? "";
    expect(line).toContain(fp);
    expect(line).toContain(`ssh:${sshd.authorizedKeys}`);
    expect(line).toMatch(/main@[0-9a-f]{7} \(this key\)$/);
  });

  it("a changed host key stops the fetch (Ready=False, the host key named); re-pinning needs --force", async () => {
    const applied = (await gitSync()).status?.lastAppliedRevision;
    await sshd.restart({ newHostKeys: true });
    const s = await sync();
    expect(s.code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.status).toBe("False");
    expect(ready(gs)?.message).toMatch(new RegExp(`Host key for \\[127\\.0\\.0\\.1\\]:${sshd.port} has changed and you have requested strict checking`));
    expect(gs.status?.lastAppliedRevision).toBe(applied);
    await client(admin).readObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: TEAM } });
    // A rotation now cannot be proven to work: --sync-now sees the fetch fail and puts the old key back.
    const keyBefore = (await secret())?.annotations["tenantry.dev/fingerprint"];
    const linesBefore = ourLines();
    const rotate = await cli(["keys", "rotate", TEAM, "--sync-now"]);
    expect(rotate.code).toBe(4);
    expect(rotate.stderr).toMatch(/the reconciler could not fetch with the new key \(Ready=False: GitOperationFailed: .*Host key for .* has changed.*\): rolled back to SHA256:\S+, nothing changed/);
    expect((await secret())?.annotations).toMatchObject({ "tenantry.dev/fingerprint": keyBefore });
    expect((await secret())?.annotations["tenantry.dev/rotating-from"]).toBeUndefined();
    expect(ourLines()).toEqual(linesBefore);
    expect(fingerprintOfFile(join(adminRepo, "cluster", TEAM, "deploy-key.pub"))).toBe(keyBefore);
    const refused = await cli(["keys", "known-hosts", "127.0.0.1", "--port", String(sshd.port), "--team", TEAM]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the host key of \[127\.0\.0\.1\]:\d+ changed: pinned SHA256:.* now SHA256:.*run again with --force/);
    expect((await cli(["keys", "known-hosts", "127.0.0.1", "--port", String(sshd.port), "--team", TEAM, "--force"])).code).toBe(0);
    expect((await sync()).code).toBe(0);
    expect(ready(await gitSync())?.status).toBe("True");
  });

  it("keys revoke: gone from the server, the Secret and the admin repo; known_hosts stays", async () => {
    const r = await cli(["keys", "revoke", TEAM]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 1 from ssh /);
    expect(ourLines()).toEqual([]);
    const s = await secret();
    expect(s?.data.identity).toBeUndefined();
    expect(s?.data.known_hosts).toContain(sshd.hostKeyLines()[0]);
    expect(Object.keys(s?.annotations ?? {}).filter((k) => k.startsWith("tenantry.dev/"))).toEqual([]);
    expect(existsSync(join(adminRepo, "cluster", TEAM, "deploy-key.pub"))).toBe(false);
    expect((await sync()).code).toBe(1);
    expect(ready(await gitSync())?.message).toMatch(/has no identity \(deploy key\): run tenantry keys create/);
    expect((await cli(["keys", "revoke", TEAM])).code).toBe(2);
  });

  it("the admin repo's key lives in tenantry-system", async () => {
    const r = await cli(["keys", "create", "--admin"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await secret("tenantry-system", "admin-deploy-key"))?.data.identity).toContain(PRIVATE_KEY_MARKER);
    const list = await cli(["keys", "list", "-o", "yaml"]);
    expect(list.stdout).toMatch(/team: admin\n {2}secret: tenantry-system\/admin-deploy-key\n {2}fingerprint: SHA256:/);
    expect((await cli(["keys", "revoke", "--admin"])).stdout).toMatch(/Secret: tenantry-system\/admin-deploy-key deleted/);
    expect(await secret("tenantry-system", "admin-deploy-key")).toBeNull();
  });

  it("no private key outside the Secret: not in any repo (files or history), not in anything printed", () => {
    git(adminRepo, "add", "--all");
    git(adminRepo, "commit", "--quiet", "--allow-empty", "-m", "keys");
    const leaks = privateKeyLeaks([adminRepo, teamRepo, join(sshd.dir, "repos"), join(sshd.dir, "ssh")], captured);
    expect(leaks).toEqual([]);
    expect(Object.keys(captured).length).toBeGreaterThan(15);
  });
});
