// `tenantry agent` as a real process against the real control plane and bare git remotes:
// webhook-triggered reconciles (and what an attacker at the webhook port cannot make of
// them), leader election between two agents, and convergence after SIGKILL in the middle of
// a large apply.

import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { type AgentProcess, reconciledCount, runCount, startAgent } from "../helpers/agent.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";

let admin: KubeAccess;
const teams = { hook: "agent-hook", lease: "agent-lease", kill: "agent-kill" } as const;
const remotes = new Map<string, { path: string; url: string }>();
const repos = new Map<string, string>();

async function gitSync(team: string): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team } })) as GitSync;
}

function revisionOf(gs: GitSync): string | undefined {
  return gs.status?.lastAppliedRevision;
}

async function configMapNames(ns: string): Promise<string[]> {
  const list = await client(admin).listObjects("v1", "ConfigMap", ns, "tenantry.dev/sync-name");
  return list.items.map((o) => o.metadata.name).sort();
}

/** A team repo holding `count` ConfigMaps named cm-<i>. */
function writeConfigMaps(dir: string, count: number): void {
  const docs = Array.from({ length: count }, (_, i) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${String(i)}` }, data: { i: String(i) } }));
  writeFileSync(join(dir, "cms.yaml"), `${docs.join("\n---\n")}\n`);
  writeFileSync(join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cms.yaml\n");
}

beforeAll(async () => {
  admin = adminAccess();
  const adminRepo = join(tempDir(), "admin");
  expect((await runCli(["init", adminRepo, "--cluster-name", "agenttest", "--git-url", "https://git.example.com/a/admin.git"])).code).toBe(0);
  for (const team of Object.values(teams)) {
    const remote = bareRepo(team);
    remotes.set(team, remote);
    const repo = join(tempDir(), team);
    repos.set(team, repo);
    const r = await runCli(["create-team", team, "--repo-url", remote.url, "--team-repo-dir", repo], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
    commitAndPush(repo, remote.url);
  }
  // The admin repo is applied once directly: these tests are about team GitSyncs.
  await applyObjects(admin, await buildDir(adminRepo));
});

function sign(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

const SPACING_S = 2;

describe("webhooks", () => {
  const team = teams.hook;
  const secret = "s3cret-token";
  let agent: AgentProcess;

  beforeAll(async () => {
    await apply(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "webhook", namespace: team }, stringData: { token: secret } });
    // A long interval: only a webhook can make the agent reconcile again soon.
    await apply(admin, { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team }, spec: { interval: "1h", webhookSecretRef: { name: "webhook" } } });
    agent = await startAgent(["--namespace", team, "--kubeconfig", inject("kubeconfig"), "--trigger-spacing", String(SPACING_S)]);
    await waitFor("the first reconcile", async () => (revisionOf(await gitSync(team)) !== undefined ? true : undefined));
    return async () => {
      expect(await agent.stop()).toBe(0);
    };
  });

  async function push(signature: string): Promise<{ status: number; sha: string }> {
    const repo = repos.get(team) ?? "";
    writeFileSync(join(repo, "extra.txt"), String(Date.now()));
    const sha = commitAndPush(repo, remotes.get(team)?.url ?? "");
    const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
    const res = await fetch(`http://127.0.0.1:${String(agent.port)}/hooks/${team}/${team}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": signature === "valid" ? sign(body, secret) : signature },
      body,
    });
    return { status: res.status, sha };
  }

  it("a signed push triggers a reconcile of the pushed revision", async () => {
    const { status, sha } = await push("valid");
    expect(status).toBe(202);
    await waitFor(`revision ${sha}`, async () => (revisionOf(await gitSync(team)) === `main@sha1:${sha}` ? true : undefined), 10_000);
    // The agent logs "reconciled" after it writes the status: the next test counts from there.
    await waitFor(`the reconciled log of ${sha}`, () => Promise.resolve(agent.logs.some((l) => l.msg === "reconciled" && l.gitsync === `${team}/${team}` && String(l.revision).includes(sha)) ? true : undefined), 10_000);
  });

  /** A signed push notification for no new commit, with a body of its own. */
  let notices = 0;
  async function notify(headers: Record<string, string> = {}, path = `/hooks/${team}/${team}`, key = secret): Promise<{ status: number; text: string; type: string | null }> {
    const body = JSON.stringify({ ref: "refs/heads/main", after: (++notices).toString(16).padStart(40, "0") });
    const res = await fetch(`http://127.0.0.1:${String(agent.port)}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sign(body, key), ...headers },
      body,
    });
    return { status: res.status, text: await res.text(), type: res.headers.get("content-type") };
  }

  it("a bad signature is refused with 401 and triggers nothing; an unknown GitSync gets the very same answer", async () => {
    const before = reconciledCount(agent, `${team}/${team}`);
    const { status, sha } = await push(sign("other body", secret));
    expect(status).toBe(401);
    expect(await notify({}, `/hooks/${team}/no-such-sync`)).toEqual(await notify({}, `/hooks/${team}/${team}`, "guess"));
    expect(await notify({}, `/hooks/other-ns/${team}`)).toEqual({ status: 401, text: "unauthorized\n", type: "text/plain; charset=utf-8" });
    await new Promise((r) => setTimeout(r, 3000));
    expect(revisionOf(await gitSync(team))).not.toBe(`main@sha1:${sha}`);
    expect(reconciledCount(agent, `${team}/${team}`)).toBe(before);
  });

  it("serves /metrics with the reconcile counters on its own port only, /healthz on the webhook port", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${String(agent.metricsPort)}/metrics`)).text();
    expect(metrics).toMatch(/tenantry_reconcile_duration_seconds_count\{namespace="agent-hook",name="agent-hook",result="success"\} [1-9]/);
    expect(metrics).toMatch(/tenantry_webhook_requests_total\{result="rejected"\} 4/);
    expect((await fetch(`http://127.0.0.1:${String(agent.port)}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${String(agent.port)}/healthz`)).status).toBe(200);
  });

  it("a replayed delivery triggers nothing", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", after: "f".repeat(40) });
    const headers = { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sign(body, secret), "x-github-delivery": "replay-1" };
    const post = async (): Promise<number> => (await fetch(`http://127.0.0.1:${String(agent.port)}/hooks/${team}/${team}`, { method: "POST", headers, body })).status;
    expect(await post()).toBe(202);
    await waitFor("the triggered run", () => Promise.resolve(agent.logs.some((l) => l.msg === "webhook accepted" && l.delivery === "replay-1") ? true : undefined));
    const runs = runCount(agent, `${team}/${team}`);
    // Past the spacing, a replay would have run it again.
    await new Promise((r) => setTimeout(r, SPACING_S * 1000 + 1500));
    const settled = runCount(agent, `${team}/${team}`);
    expect(settled - runs).toBeLessThanOrEqual(1); // the accepted one, if it had not run yet
    expect(await post()).toBe(200);
    expect(await post()).toBe(200);
    await new Promise((r) => setTimeout(r, SPACING_S * 1000 + 1500));
    expect(runCount(agent, `${team}/${team}`)).toBe(settled);
  });

  it("a flood of signed pushes runs the GitSync at most once per spacing", async () => {
    const before = runCount(agent, `${team}/${team}`);
    const started = Date.now();
    // One push every 100 ms for 4 s: unspaced, each would start a run of its own.
    for (let i = 0; i < 40; i++) {
      expect((await notify()).status).toBe(202);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, SPACING_S * 1000 + 1000));
    const runs = runCount(agent, `${team}/${team}`) - before;
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(Math.ceil(seconds / SPACING_S) + 1);
  });

  it("pushes do not cut a failure backoff short", async () => {
    const key = `${team}/${team}`;
    const fails = (): number => agent.logs.filter((l) => l.gitsync === key && typeof l.seconds === "number" && l.reason === "GitOperationFailed").length;
    const good = (await gitSync(team)).spec.url;
    await client(admin).mergePatch({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team } }, { spec: { url: "file:///nonexistent/repo.git" } });
    try {
      await waitFor("the first failure", () => Promise.resolve(fails() > 0 ? true : undefined));
      const first = fails();
      const started = Date.now();
      // Backoff after failures 1, 2, 3: 2 s, 4 s, 8 s. 6 s of pushes every 100 ms fit at most 2 more runs.
      while (Date.now() - started < 6000) {
        expect((await notify()).status).toBe(202);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(fails() - first).toBeLessThanOrEqual(2);
    } finally {
      await client(admin).mergePatch({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team } }, { spec: { url: good } });
    }
  });
});

describe("leader election", () => {
  const team = teams.lease;

  it("two agents: one leader reconciles, the other waits; the leader's SIGTERM hands over", async () => {
    await apply(admin, { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team }, spec: { interval: "2s" } });
    const args = ["--namespace", team, "--kubeconfig", inject("kubeconfig"), "--leader-elect"];
    const a = await startAgent([...args, "--identity", "agent-a"]);
    await new Promise((r) => setTimeout(r, 1500));
    const b = await startAgent([...args, "--identity", "agent-b"]);
    await new Promise((r) => setTimeout(r, 6000));
    const key = `${team}/${team}`;
    const lease = await client(admin).readObject({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "tenantry-agent", namespace: team } });
    expect((lease as unknown as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe("agent-a");
    expect(reconciledCount(a, key)).toBeGreaterThan(0);
    expect(reconciledCount(b, key)).toBe(0);
    expect(await a.stop()).toBe(0);
    await waitFor("agent-b to reconcile", () => Promise.resolve(reconciledCount(b, key) > 0 ? true : undefined), 15_000);
    expect(b.logs.some((l) => l.msg === "became leader")).toBe(true);
    expect(await b.stop()).toBe(0);
  });

  it("a push that reaches the replica that does not lead is run by the leader", async () => {
    const secret = "lease-token";
    await apply(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "webhook", namespace: team }, stringData: { token: secret } });
    // A long interval: only the push can make the leader run again soon.
    await apply(admin, { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team }, spec: { interval: "1h", webhookSecretRef: { name: "webhook" } } });
    const args = ["--namespace", team, "--kubeconfig", inject("kubeconfig"), "--leader-elect", "--trigger-spacing", "1"];
    const a = await startAgent([...args, "--identity", "agent-a"]);
    await waitFor("agent-a to reconcile", () => Promise.resolve(reconciledCount(a, `${team}/${team}`) > 0 ? true : undefined), 30_000);
    const b = await startAgent([...args, "--identity", "agent-b"]);
    try {
      await new Promise((r) => setTimeout(r, 3000)); // b has listed the GitSyncs
      const repo = repos.get(team) ?? "";
      writeFileSync(join(repo, "pushed.txt"), String(Date.now()));
      const sha = commitAndPush(repo, remotes.get(team)?.url ?? "");
      const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
      const res = await fetch(`http://127.0.0.1:${String(b.port)}/hooks/${team}/${team}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sign(body, secret) },
        body,
      });
      expect(res.status).toBe(202);
      await waitFor(`revision ${sha}`, async () => (revisionOf(await gitSync(team)) === `main@sha1:${sha}` ? true : undefined), 15_000);
      expect(reconciledCount(b, `${team}/${team}`)).toBe(0);
    } finally {
      expect(await b.stop()).toBe(0);
      expect(await a.stop()).toBe(0);
    }
  });
});

describe("a killed agent", () => {
  const team = teams.kill;

  it("SIGKILL in the middle of a large apply: after a restart it converges, nothing lost or orphaned", { timeout: 360_000 }, async () => {
    const repo = repos.get(team) ?? "";
    const url = remotes.get(team)?.url ?? "";
    writeConfigMaps(repo, 120);
    commitAndPush(repo, url);
    const args = ["--namespace", team, "--kubeconfig", inject("kubeconfig"), "--concurrency", "1"];
    const first = await startAgent(args);
    await waitFor("the apply to be under way", async () => ((await configMapNames(team)).length >= 10 ? true : undefined), 30_000);
    await first.stop("SIGKILL");
    const partial = (await configMapNames(team)).length;
    expect(partial).toBeGreaterThan(0);
    // Git moves on while the agent is down: most of what the killed run applied is gone.
    writeConfigMaps(repo, 10);
    const sha = commitAndPush(repo, url);
    const second = await startAgent(args);
    await waitFor(`revision ${sha} applied`, async () => (revisionOf(await gitSync(team)) === `main@sha1:${sha}` ? true : undefined), 240_000);
    expect(await configMapNames(team)).toEqual(Array.from({ length: 10 }, (_, i) => `cm-${String(i)}`).sort());
    const gs = await gitSync(team);
    expect(gs.status?.inventory?.entries?.filter((e) => e.id.includes("_ConfigMap"))).toHaveLength(10);
    expect(await second.stop()).toBe(0);
  });
});
