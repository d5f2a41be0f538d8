// A reconcile that must stop, stops: one that overruns its timeout, and one whose agent lost
// the Lease while paused (SIGSTOP past the lease, another replica takes over, SIGCONT). What
// the API server was asked to write is audited by a real admission webhook that also holds
// each write, so an apply is slow enough to be caught in the middle.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { LeaderElector } from "../../src/agent/lease.js";
import { startAgent } from "../helpers/agent.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, namespaceEditor, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";
import { startWriteAudit, type WriteAudit } from "../helpers/write-audit.js";

const AUDIT = "cancel-audit";
let admin: KubeAccess;
let audit: WriteAudit;

/** A namespace whose ConfigMap writes are audited, a team-like ServiceAccount and a GitSync of a repo of `count` ConfigMaps. */
async function setUp(ns: string, count: number, spec: Record<string, unknown>): Promise<void> {
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "tenantry.test/audit": AUDIT } } });
  await namespaceEditor(admin, ns, "app");
  const remote = bareRepo(ns);
  const work = tempDir();
  git(work, "init", "--quiet", "--initial-branch=main");
  const docs = Array.from({ length: count }, (_, i) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${String(i)}` }, data: { i: String(i) } }));
  writeFileSync(join(work, "cms.yaml"), `${docs.join("\n---\n")}\n`);
  writeFileSync(join(work, "kustomization.yaml"), "resources: [cms.yaml]\n");
  commitAndPush(work, remote.url);
  await apply(admin, {
    apiVersion: "tenantry.dev/v1alpha1",
    kind: "GitSync",
    metadata: { name: "app", namespace: ns },
    spec: { url: remote.url, ref: { branch: "main" }, path: "./", interval: "1h", prune: true, serviceAccountName: "app", ...spec },
  });
}

async function gitSync(ns: string): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "app", namespace: ns } })) as GitSync;
}

async function configMaps(ns: string): Promise<number> {
  return (await client(admin).listObjects("v1", "ConfigMap", ns, "tenantry.dev/sync-name=app")).items.length;
}

beforeAll(async () => {
  admin = adminAccess();
  const init = join(tempDir(), "admin");
  expect((await runCli(["init", init, "--cluster-name", "canceltest"])).code).toBe(0);
  await applyObjects(admin, (await buildDir(join(init, "cluster", "common"))).filter((o) => o.kind === "CustomResourceDefinition"));
  audit = await startWriteAudit(admin, AUDIT, ["configmaps"], 1000);
});

afterAll(async () => {
  await audit.close();
});

describe("a reconcile that overruns its timeout", () => {
  const ns = "cancel-timeout";

  it("stops before its next write, holds its slot until it has stopped, and the next run converges", async () => {
    // 128 ConfigMaps, each write held 1 s, 16 at a time: about 8 s of apply against a 4 s
    // timeout (which also covers the clone and the build).
    await setUp(ns, 128, { timeout: "4s" });
    const agent = await startAgent(["--namespace", ns, "--kubeconfig", inject("kubeconfig")]);
    try {
      const cancelled = await waitFor("the reconcile to be cancelled", () => Promise.resolve(agent.logs.some((l) => l.msg === "reconcile timed out; cancelling it") ? Date.now() : undefined), 60_000);
      // No second run may start (and write) while we look: suspend it (a retry comes no sooner than 1.8 s).
      await client(admin).mergePatch({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "app", namespace: ns } }, { spec: { suspend: true } });
      await waitFor("the timeout to be reported", () => Promise.resolve(agent.logs.some((l) => l.reason === "ReconcileTimeout") ? true : undefined), 30_000);
      const stored = await configMaps(ns);
      await new Promise((r) => setTimeout(r, 3000));
      const writes = audit.stored(ns);
      expect(writes.length).toBeGreaterThan(0);
      // Writes started before the cancel reach the API server at once (a few ms); one started
      // after it could only start once a held write returned (1 s later). None may.
      expect(writes.filter((w) => w.at > cancelled + 300)).toEqual([]);
      expect(stored).toBeLessThan(128);
      expect(await configMaps(ns)).toBe(stored);
      const ready = (await gitSync(ns)).status?.conditions?.find((c) => c.type === "Ready");
      expect(ready?.status).toBe("False");
      expect(ready?.reason).toBe("ReconcileTimeout");
      expect(ready?.message).toMatch(/longer than 4s; it was stopped before its next write/);
      // A run that may take its time converges from where the cancelled one stopped.
      audit.delayMs = 0;
      await client(admin).mergePatch({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "app", namespace: ns } }, { spec: { suspend: false, timeout: "2m" } });
      await waitFor("all 128 ConfigMaps", async () => ((await configMaps(ns)) === 128 && (await gitSync(ns)).status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? true : undefined), 90_000);
      expect(agent.logs.filter((l) => l.level === "error")).toEqual([]);
    } finally {
      audit.delayMs = 1000;
      expect(await agent.stop()).toBe(0);
    }
  });
});

describe("a leader paused past its lease", () => {
  const ns = "cancel-lease";

  it("applies nothing and writes no status after it resumes; the replica that took over keeps the Lease", { timeout: 180_000 }, async () => {
    await setUp(ns, 48, {});
    const args = ["--namespace", ns, "--kubeconfig", inject("kubeconfig"), "--leader-elect"];
    const a = await startAgent([...args, "--identity", "agent-a"]);
    let b: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      await waitFor("agent-a to lead", () => Promise.resolve(a.logs.some((l) => l.msg === "became leader") ? true : undefined), 30_000);
      b = await startAgent([...args, "--identity", "agent-b"]);
      // Pause agent-a in the middle of its apply: each write is held 1 s, so its first 16 (the
      // apply's concurrency) are all at the API server and it can start no more until they
      // return. (A request still on its way when a process pauses arrives late whatever the
      // process does; the promise is that nothing is *started* after the lease is lost.)
      await waitFor("agent-a's first 16 writes to reach the API server", () => Promise.resolve(audit.stored(ns).length >= 16 ? true : undefined), 60_000);
      a.child.kill("SIGSTOP");
      const stoppedAt = Date.now();
      audit.delayMs = 0;
      // agent-b sees the Lease unchanged for its duration (15 s by its own clock), takes it and applies.
      await waitFor("agent-b to apply all 48", async () => ((await configMaps(ns)) === 48 && (await gitSync(ns)).status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? true : undefined), 90_000);
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(15_000);
      const statusBefore = (await gitSync(ns)).status;
      audit.delayMs = 1000;
      const resumedAt = Date.now();
      a.child.kill("SIGCONT");
      await waitFor("agent-a to notice it lost the lease", () => Promise.resolve(a.logs.some((l) => l.msg === "lost leadership") ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 4000));
      // agent-b has nothing left to write (everything is as Git says, interval 1h): any write
      // reaching the API server after the resume would be agent-a's.
      expect(audit.stored(ns).filter((w) => w.at > resumedAt)).toEqual([]);
      expect((await gitSync(ns)).status).toEqual(statusBefore);
      const lease = await client(admin).readObject({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "tenantry-agent", namespace: ns } });
      expect((lease as unknown as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe("agent-b");
    } finally {
      audit.delayMs = 1000;
      a.child.kill("SIGCONT");
      expect(await a.stop()).toBe(0);
      if (b !== undefined) expect(await b.stop()).toBe(0);
    }
  });
});

describe("leadership terms", () => {
  it("work started in a term that lapsed stays invalid when the same replica takes the Lease again", async () => {
    const ns = "cancel-terms";
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    let now = Date.now();
    const elector = new LeaderElector(admin, ns, "terms", "me", undefined, () => now);
    expect(await elector.tryAcquireOrRenew()).toBe(true);
    const first = elector.term();
    expect(elector.holds(first)).toBe(true);
    now += 9_000; // within the renew deadline (10 s)
    expect(elector.holds(first)).toBe(true);
    now += 2_000; // past it: no longer leading, by our own clock
    expect(elector.isLeader()).toBe(false);
    expect(elector.holds(first)).toBe(false);
    // Nobody else wrote the Lease: we take it again, in a new term.
    expect(await elector.tryAcquireOrRenew()).toBe(true);
    const second = elector.term();
    expect(second).not.toBe(first);
    expect(elector.holds(first)).toBe(false);
    expect(elector.holds(second)).toBe(true);
    // Another replica, which saw our Lease change just now, may not take it.
    const other = new LeaderElector(admin, ns, "terms", "other", undefined, () => now);
    expect(await other.tryAcquireOrRenew()).toBe(false);
    await elector.release();
    expect(await other.tryAcquireOrRenew()).toBe(true);
  });
});
