// `tenantry bootstrap` end to end: the real CLI, the real control plane, the admin repo served
// by a real sshd (test/helpers/sshd.ts), the agent as a host process (there is no kubelet to
// run the Deployment cluster/common holds), the forge contract server for a refused
// registration. What the API server was asked to write is recorded by a real admission
// webhook (test/helpers/write-audit.ts) on every resource: a second run makes no write, a
// repair writes only what was missing, a failing step writes nothing of its own.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeAccess } from "../../src/cluster/access.js";
import { KindNotServedError } from "../../src/cluster/api-errors.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { type AgentProcess, startAgent } from "../helpers/agent.js";
import { type CliResult, editFile, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, ignoring, readOrNull } from "../helpers/cluster.js";
import { type GitHost, startGitHost } from "../helpers/githost.js";
import { PRIVATE_KEY_MARKER, privateKeyLeaks, type Sshd, startSshd } from "../helpers/sshd.js";
import { type AuditedWrite, startWriteAudit, type WriteAudit } from "../helpers/write-audit.js";

const NS = "tenantry-system";
const SECRET = { apiVersion: "v1", kind: "Secret", metadata: { name: "admin-deploy-key", namespace: NS } };
const GITSYNC = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: NS } };
const AGENT_SA = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "tenantry-agent", namespace: NS } };
const AUDIT = "boot-audit";

let admin: KubeAccess;
let me: string;
let sshd: Sshd;
let sshdStarted = false;
let remote: { path: string; url: string };
let adminRepo: string;
let agent: AgentProcess | undefined;
let audit: WriteAudit | undefined;
let forge: GitHost | undefined;
const captured: Record<string, string> = {};

async function bootstrap(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await runCli(["bootstrap", "--kubeconfig", inject("kubeconfig"), ...args], { cwd: adminRepo, env });
  captured[`${Object.keys(captured).length}: tenantry bootstrap ${args.join(" ")}`] = r.stdout + r.stderr;
  return r;
}

const withSsh = (): string[] => ["--host", "ssh", "--authorized-keys", sshd.authorizedKeys];

/** git as the writer key (it may push), trusting exactly the test sshd. */
function gitAsWriter(...args: string[]): void {
  const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: adminRepo, encoding: "utf8", env: { ...process.env, GIT_SSH_COMMAND: sshd.sshCommand(sshd.writerKey), GIT_TERMINAL_PROMPT: "0" } });
  expect(r.status, r.stderr).toBe(0);
}

const push = (): void => {
  gitAsWriter("push", "--quiet", remote.url, "HEAD:main");
};

async function gitSync(): Promise<GitSync | null> {
  return (await readOrNull(admin, GITSYNC)) as GitSync | null;
}

interface SecretView {
  data: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion: string;
}

async function secret(): Promise<SecretView | null> {
  const o = (await readOrNull(admin, SECRET)) as unknown as { data?: Record<string, string>; metadata: { annotations?: Record<string, string>; resourceVersion: string } } | null;
  if (o === null) return null;
  return {
    data: Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])),
    annotations: o.metadata.annotations ?? {},
    resourceVersion: o.metadata.resourceVersion,
  };
}

/** Our admin key's lines in the git user's authorized_keys. */
function ourLines(): string[] {
  return readFileSync(sshd.authorizedKeys, "utf8").split("\n").filter((l) => l.endsWith(" tenantry:boot:admin"));
}

/** Removes our lines from authorized_keys (its owner and mode stay: the file is rewritten in place). */
function dropOurLines(): void {
  const kept = readFileSync(sshd.authorizedKeys, "utf8").split("\n").filter((l) => !l.endsWith(" tenantry:boot:admin"));
  writeFileSync(sshd.authorizedKeys, kept.join("\n"));
}

async function deleteIfThere(h: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } }): Promise<void> {
  try {
    await ignoring([404], client(admin).deleteObject(h));
  } catch (e) {
    if (!(e instanceof KindNotServedError)) throw e;
  }
}

/** What `fn` made the API server write as the admin's identity (the CLI's), dry runs included. */
async function writesDuring(fn: () => Promise<unknown>): Promise<AuditedWrite[]> {
  const a = audit ?? expect.fail("the write audit is not running");
  const mark = a.writes.length;
  await fn();
  return a.writes.slice(mark).filter((w) => w.user === me);
}

const stored = (writes: readonly AuditedWrite[]): string[] => writes.filter((w) => !w.dryRun).map((w) => `${w.operation} ${w.namespace === "" ? "" : `${w.namespace}/`}${w.name}`);

function fingerprintIn(text: string, pattern: RegExp): string {
  const m = pattern.exec(text);
  expect(m?.[1], text).toBeDefined();
  return m?.[1] ?? "";
}

beforeAll(async () => {
  admin = adminAccess();
  me = await client(admin).whoami();
  sshd = await startSshd();
  sshdStarted = true;
  remote = sshd.bareRepo("admin");
  adminRepo = join(tempDir(), "admin");
  const init = await runCli(["init", adminRepo, "--cluster-name", "boot", "--git-url", remote.url]);
  expect(init.code, init.stderr).toBe(0);
  push();
  // Other files leave tenantry-system's admin GitSync and key behind: start without them.
  await deleteIfThere(GITSYNC);
  await deleteIfThere(SECRET);
  forge = await startGitHost("gitea");
  forge.addRepo("acme/admin");
}, 300_000);

afterAll(async () => {
  await audit?.close();
  await agent?.stop();
  await forge?.close();
  if (sshdStarted) await sshd.stop();
  // The next file finds tenantry-system as files usually leave it: no admin sync of this file's sshd.
  await deleteIfThere(GITSYNC);
  await deleteIfThere(SECRET);
});

describe("tenantry bootstrap", () => {
  let first = "";

  it("first run: the key into its Secret, registered read-only, the host key pinned, cluster/common applied, the admin sync Ready, status printed", async () => {
    agent = await startAgent(["--namespace", NS, "--kubeconfig", inject("kubeconfig")]);
    const r = await bootstrap([...withSsh(), "--commit", "--timeout", "2m"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    first = fingerprintIn(r.stdout, /step 1\/3 \(deploy key\): created (SHA256:\S+) in Secret tenantry-system\/admin-deploy-key; registered read-only on ssh /);
    expect(r.stdout).toContain(`pinned: [127.0.0.1]:${sshd.port} ${[...sshd.hostKeyFingerprints()].sort().join(", ")}`);
    expect(r.stdout).toMatch(/step 2\/3 \(apply cluster\/common\): applied \d+, \d+ unchanged/);
    expect(r.stdout).toMatch(/step 3\/3 \(wait for the admin sync\): GitSync tenantry-system\/admin Ready at main@sha1:[0-9a-f]{40}/);
    // `tenantry status`, printed at the end.
    expect(r.stdout).toMatch(/^tenantry-system\s+admin\s+-\s+True\s+ReconciliationSucceeded/m);

    const s = await secret();
    expect(s?.data.identity).toContain(PRIVATE_KEY_MARKER);
    expect(s?.annotations["tenantry.dev/fingerprint"]).toBe(first);
    expect(s?.annotations["tenantry.dev/registered"]).toBe(`ssh:${sshd.authorizedKeys}`);
    for (const line of sshd.hostKeyLines()) expect(s?.data.known_hosts).toContain(line);
    expect(ourLines()).toEqual([expect.stringMatching(new RegExp(`^restrict,command="git-upload-pack '${remote.path}'" ssh-ed25519 \\S+ tenantry:boot:admin$`))]);
    const gs = await gitSync();
    expect(gs?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(gs?.status?.keyFingerprint).toBe(first);
    // The public half, committed (--commit); bootstrap says to push it.
    const pub = readFileSync(join(adminRepo, "cluster", "common", "deploy-key.pub"), "utf8");
    expect(s?.data["identity.pub"]).toBe(pub);
    expect(execFileSync("git", ["status", "--porcelain"], { cwd: adminRepo, encoding: "utf8" })).toBe("");
    expect(r.stderr).toMatch(/Committed cluster\/common\/deploy-key\.pub \([0-9a-f]{7}\): push it\./);
    push();
  });

  it("a second run makes no write at all (an admission webhook on every resource sees none)", async () => {
    await agent?.stop(); // only bootstrap may write now
    agent = undefined;
    audit = await startWriteAudit(admin, AUDIT, ["*"], 0, { apiGroups: ["*"], clusterScoped: true });
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS, labels: { "tenantry.test/audit": AUDIT } } });
    let r: CliResult | undefined;
    const writes = await writesDuring(async () => {
      r = await bootstrap([...withSsh(), "--timeout", "30s"]);
    });
    expect(r?.code, `${r?.stdout ?? ""}${r?.stderr ?? ""}`).toBe(0);
    expect(r?.stdout).toContain(`step 1/3 (deploy key): ${first} in Secret tenantry-system/admin-deploy-key; already registered read-only on ssh `);
    expect(r?.stdout).toContain("pinned already: ");
    expect(r?.stdout).toMatch(/step 2\/3 \(apply cluster\/common\): nothing to change, (\d+) unchanged \(\1 objects\)/);
    expect(r?.stdout).toContain("Bootstrapped: nothing to change.");
    expect(writes).toEqual([]);
    expect(ourLines()).toHaveLength(1);
  });

  it("a re-run repairs what is missing (an object of cluster/common, the host's key) and writes nothing else", async () => {
    await client(admin).deleteObject(AGENT_SA);
    dropOurLines();
    const before = await secret();
    let r: CliResult | undefined;
    const writes = await writesDuring(async () => {
      r = await bootstrap([...withSsh(), "--timeout", "30s"]);
    });
    expect(r?.code, `${r?.stdout ?? ""}${r?.stderr ?? ""}`).toBe(0);
    expect(r?.stdout).toContain("; registered read-only on ssh ");
    expect(r?.stdout).toMatch(/step 2\/3 \(apply cluster\/common\): applied 1, /);
    expect([...new Set(stored(writes))]).toEqual(["CREATE tenantry-system/tenantry-agent"]);
    expect((await secret())?.resourceVersion).toBe(before?.resourceVersion);
    expect(ourLines()).toHaveLength(1);
  });

  it("step 1 fails (the forge refuses the token): one line naming the step, exit 4, no Secret left behind, nothing written", async () => {
    await client(admin).deleteObject(SECRET);
    dropOurLines();
    const pubBefore = readFileSync(join(adminRepo, "cluster", "common", "deploy-key.pub"), "utf8");
    const token = "wrong-token-for-bootstrap";
    let r: CliResult | undefined;
    const writes = await writesDuring(async () => {
      const host = forge ?? expect.fail("no forge");
      r = await bootstrap(["--host", "gitea", "--api-url", host.url, "--repo", "acme/admin", "--token-env", "BOOT_FORGE_TOKEN", "--timeout", "10s"], { BOOT_FORGE_TOKEN: token });
    });
    expect(r?.code).toBe(4);
    expect(r?.stdout).toBe("");
    const lines = (r?.stderr ?? "").trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tenantry: error: step 1\/3 \(deploy key\): .*401/);
    expect(r?.stderr).not.toContain(token);
    expect(forge?.requests.some((q) => q.headers.authorization === `token ${token}`)).toBe(true);
    expect(await secret()).toBeNull();
    expect(stored(writes)).toEqual([]);
    expect(forge?.keys("acme/admin")).toEqual([]);
    expect(readFileSync(join(adminRepo, "cluster", "common", "deploy-key.pub"), "utf8")).toBe(pubBefore);
  });

  let second = "";
  it("step 2 fails (the API server refuses an object of cluster/common): exit 4, nothing of cluster/common written; step 1's key stays", async () => {
    await client(admin).deleteObject(AGENT_SA); // step 2 would create it
    writeFileSync(join(adminRepo, "cluster", "common", "refused.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: refused\n  namespace: boot-no-such-namespace\n");
    editFile(adminRepo, "cluster/common/kustomization.yaml", /^resources:\n/m, "resources:\n  - refused.yaml\n");
    let r: CliResult | undefined;
    let writes: AuditedWrite[];
    try {
      writes = await writesDuring(async () => {
        r = await bootstrap([...withSsh(), "--timeout", "10s"]);
      });
    } finally {
      execFileSync("git", ["checkout", "--quiet", "--", "cluster/common/kustomization.yaml"], { cwd: adminRepo });
      rmSync(join(adminRepo, "cluster", "common", "refused.yaml"));
    }
    expect(r?.code, `${r?.stdout ?? ""}${r?.stderr ?? ""}`).toBe(4);
    second = fingerprintIn(r?.stdout ?? "", /step 1\/3 \(deploy key\): created (SHA256:\S+) in Secret/);
    expect(second).not.toBe(first);
    const lines = (r?.stderr ?? "").trim().split("\n").filter((l) => l.startsWith("tenantry: error:"));
    expect(lines).toEqual([expect.stringMatching(/^tenantry: error: step 2\/3 \(apply cluster\/common\): ConfigMap\/boot-no-such-namespace\/refused: namespaces "boot-no-such-namespace" not found \(HTTP 404\): the API server refused it in a dry run, nothing of cluster\/common was changed; fix cluster\/common/)]);
    expect(stored(writes)).toEqual(["CREATE tenantry-system/admin-deploy-key"]);
    expect(await readOrNull(admin, AGENT_SA)).toBeNull();
    expect((await secret())?.annotations["tenantry.dev/fingerprint"]).toBe(second);
    expect(ourLines()).toHaveLength(1);
  });

  it("step 3 fails (no agent fetches with the new key): exit 1 naming the GitSync, the key and the fix; the wait writes nothing", async () => {
    let r: CliResult | undefined;
    const writes = await writesDuring(async () => {
      r = await bootstrap(["--timeout", "3s"]);
    });
    expect(r?.code, `${r?.stdout ?? ""}${r?.stderr ?? ""}`).toBe(1);
    const lines = (r?.stderr ?? "").trim().split("\n").filter((l) => l.startsWith("tenantry: error:"));
    expect(lines).toEqual([
      `tenantry: error: step 3/3 (wait for the admin sync): GitSync tenantry-system/admin is Ready but has not fetched with deploy key ${second} yet (last fetch: ${first}) after 3s: ` +
        "check that the agent runs (kubectl -n tenantry-system get deploy tenantry-agent) or run one: tenantry agent --namespace tenantry-system; tenantry status shows the sync, then run bootstrap again (or give more --timeout)",
    ]);
    // Step 2 repaired the ServiceAccount step 2 of the failed run did not create; the wait wrote nothing.
    expect([...new Set(stored(writes))]).toEqual(["CREATE tenantry-system/tenantry-agent"]);
  });

  it("with the agent running again the same command finishes: the agent fetched with the new key", async () => {
    agent = await startAgent(["--namespace", NS, "--kubeconfig", inject("kubeconfig")]);
    const r = await bootstrap([...withSsh(), "--commit", "--timeout", "2m"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await gitSync())?.status?.keyFingerprint).toBe(second);
    expect(r.stdout).toMatch(/^tenantry-system\s+admin\s+-\s+True\s+ReconciliationSucceeded/m);
  });

  it("no private key in the admin repo (files and history), its remote, or anything bootstrap printed", () => {
    expect(privateKeyLeaks([adminRepo, remote.path], captured)).toEqual([]);
  });
});
