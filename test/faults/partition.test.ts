// Two agents with leader election, on a control plane of this file's own; the leader (agent-a)
// talks to the API server through the fault proxy, the other (agent-b) directly. The proxy
// then cuts agent-a off: `blackhole` (requests are read and held, nothing answered: a network
// partition; what is still waiting at the heal is delivered then) or `refuse` (nothing
// listens). While it lasts a new revision is pushed. Asserted: agent-b takes the Lease and
// converges the cluster to Git; no write of agent-a reaches the API server once agent-b leads
// (the proxy's record of what it delivered upstream, Lease requests aside, and no Lease write
// of agent-a succeeds); after the heal agent-a says it lost leadership and reconciles nothing.
// A third case cuts agent-a off while one of its status writes is on its way.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, reconciledCount, startAgent } from "../helpers/agent.js";
import { type FaultProxy, type PartitionMode, type ProxyRecord, startFaultProxy } from "../helpers/fault-proxy.js";
import { cmNames, converge, type LocalCluster, makeTeams, record, runsOf, sleep, startLocalCluster, type TeamRepo, until } from "./fixture.js";

const TEAM = "fault-lease";
const KEY = `${TEAM}/${TEAM}`;
const COUNT = 30;
const RUNS = runsOf(1);
/** How long agent-a stays cut off after agent-b has taken over. */
const AFTER_TAKEOVER_MS = 2_000;
/** How long agent-a is watched after the heal. */
const WATCH_MS = 5_000;

let cluster: LocalCluster | undefined;
let proxy: FaultProxy | undefined;
let proxied = "";
let repo: TeamRepo;
let fresh = COUNT;

beforeAll(async () => {
  cluster = await startLocalCluster();
  // A short interval: the leader always has a reconcile (and its status write) coming.
  const teams = await makeTeams(cluster, [TEAM], { interval: "2s" }, cmNames(0, COUNT));
  repo = teams.repos.get(TEAM) ?? expect.fail("no team repo");
  proxy = await startFaultProxy(cluster.dir);
  proxied = proxy.writeKubeconfig(join(cluster.dir, "..", "proxied.kubeconfig"));
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.stop();
});

function the<T>(v: T | undefined): T {
  return v ?? expect.fail("beforeAll did not finish");
}

async function holder(): Promise<string | undefined> {
  const lease = await the(cluster).api.readObject({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "tenantry-agent", namespace: TEAM } });
  return (lease as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
}

const isLease = (r: ProxyRecord): boolean => r.path.includes("/leases/");
const isWrite = (r: ProxyRecord): boolean => r.method !== "GET";

function logTime(a: AgentProcess, msg: string): number | undefined {
  const line = a.logs.find((l) => l.msg === msg);
  return line === undefined ? undefined : Date.parse(String(line.time));
}

/**
 * One run. With `inFlight`, agent-a's status writes are slowed (4 s) and the cut comes while
 * one is on its way: it reaches the blackhole and waits there, as a TCP segment in a real
 * partition would, and is delivered at the heal unless agent-a gave the request up.
 */
async function partitionRun(mode: PartitionMode, run: number, inFlight = false): Promise<void> {
  const c = the(cluster);
  const p = the(proxy);
  const args = ["--namespace", TEAM, "--leader-elect"];
  const a = await startAgent([...args, "--kubeconfig", proxied, "--identity", "agent-a"]);
  let b: AgentProcess | undefined;
  try {
    expect(await until(async () => ((await holder()) === "agent-a" && reconciledCount(a, KEY) > 0 ? true : undefined), 60_000), "agent-a never led").toBe(true);
    b = await startAgent([...args, "--kubeconfig", c.kubeconfig, "--identity", "agent-b"]);
    await sleep(3_000);
    expect(reconciledCount(b, KEY), "agent-b reconciled while agent-a led").toBe(0);

    const recFrom = p.records.length;
    const aReconciled = reconciledCount(a, KEY);
    if (inFlight) {
      p.inject({ match: (r) => r.method === "PATCH" && r.path.endsWith("/status"), fault: { kind: "delay", ms: 4_000 } });
      const onItsWay = await until(() => Promise.resolve(p.records.slice(recFrom).some((r) => r.fault === "delay" && r.outcome === undefined) ? true : undefined), 30_000, 20);
      expect(onItsWay, "agent-a wrote no status while its writes were slowed").toBe(true);
    }
    await p.partition(mode);
    p.clear();
    const cut = Date.now();
    const names = [...(repo.head?.names ?? []).slice(5), ...cmNames(fresh, 5)];
    fresh += 5;
    const want = repo.push(names, `partition-${mode}-${String(run)}-${String(cut)}`);
    const bAgent = b;
    const tookOver = await until(async () => ((await holder()) === "agent-b" ? Date.now() : undefined), 60_000, 200);
    const bLeads = logTime(bAgent, "became leader") ?? tookOver ?? Infinity;
    const result = await converge(c.api, TEAM, want, cut, 60_000);
    await sleep(Math.max(0, (tookOver ?? Date.now()) + AFTER_TAKEOVER_MS - Date.now()));
    await p.heal();
    const healed = Date.now();
    await sleep(WATCH_MS);
    // When agent-a said it stepped down (it stops acting by its clock at the renew deadline
    // whether or not it has said so).
    const aStepped = logTime(a, "lost leadership");

    const fromA = p.records.slice(recFrom);
    // Writes of agent-a that the API server received after agent-b led (held ones delivered at the heal count at the heal).
    const late = fromA.filter((r) => isWrite(r) && !isLease(r) && r.upstreamStatus !== undefined && (r.outcome === "held-then-forwarded" ? healed : r.at) >= bLeads);
    const leaseWrites = fromA.filter((r) => isWrite(r) && isLease(r) && r.upstreamStatus !== undefined && r.upstreamStatus < 300 && r.at >= bLeads);
    const aAfter = reconciledCount(a, KEY) - aReconciled;
    // TENANTRY_FAULT_DEBUG=1: what agent-a sent through the proxy, and its last log lines.
    if (process.env.TENANTRY_FAULT_DEBUG === "1") {
      process.stderr.write(`DEBUG cut=${String(cut)} bLeads=${String(bLeads - cut)} healed=${String(healed - cut)}\n`);
      for (const r of fromA) process.stderr.write(`DEBUG ${r.method} ${r.path} at=${String(r.at - cut)} done=${r.done === undefined ? "-" : String(r.done - cut)} ${r.outcome ?? "pending"} ${String(r.upstreamStatus ?? "")} ${r.fault ?? ""}\n`);
      for (const l of a.logs.slice(-15)) process.stderr.write(`DEBUG A ${JSON.stringify(l).slice(0, 300)}\n`);
    }
    record({
      row: `two agents, the leader partitioned (${mode}${inFlight ? ", a status write in flight" : ""})`,
      converged: result.ms !== undefined,
      recoveryMs: result.ms ?? NaN,
      note: `from the cut to agent-b applying the revision; agent-b led after ${tookOver === undefined ? "(never)" : `${((tookOver - cut) / 1000).toFixed(1)} s`}; agent-a said it stepped down after ${aStepped === undefined ? "(never)" : `${((aStepped - cut) / 1000).toFixed(1)} s${aStepped >= healed ? " (after the heal)" : ""}`}; agent-a writes delivered after agent-b led: ${String(late.length)}${late.length > 0 ? ` (${late.slice(0, 3).map((r) => `${r.method} ${r.path}`).join(", ")})` : ""}; Lease writes of agent-a accepted after: ${String(leaseWrites.length)}; agent-a reconciles after the cut: ${String(aAfter)}`,
    });
    expect(tookOver, "agent-b never took the Lease").toBeDefined();
    expect(result.last).toBeUndefined();
    // Soft: the other runs of the row still run (and are recorded) when one of these fails.
    expect.soft(late.map((r) => `${r.method} ${r.path} (${r.outcome ?? "?"})`), `run ${String(run)}: agent-a wrote after agent-b led`).toEqual([]);
    expect.soft(leaseWrites.map((r) => `${r.method} ${r.path}`), `run ${String(run)}: a Lease write of agent-a was accepted after agent-b led`).toEqual([]);
    expect.soft(aAfter, `run ${String(run)}: agent-a reconciled after it was cut off`).toBe(0);
    expect.soft(aStepped, `run ${String(run)}: agent-a never said it lost leadership; its log after the cut: ${JSON.stringify(a.logs.filter((l) => Date.parse(String(l.time)) >= cut).map((l) => `${String(l.time)} ${String(l.msg)}${typeof l.error === "string" ? `: ${l.error}` : ""}`).slice(0, 12))}`).toBeDefined();
    expect.soft(await holder()).toBe("agent-b");
  } finally {
    await p.heal();
    // Stopping releases the Lease: the next run starts with agent-a leading again.
    if (b !== undefined) expect(await b.stop()).toBe(0);
    expect(await a.stop()).toBe(0);
  }
}

describe("two agents, the leader cut off from the API server", () => {
  for (const mode of ["blackhole", "refuse"] as const) {
    it(`${mode} (${String(RUNS)} run(s)): the other takes over and converges; the cut-off one stops acting`, { timeout: RUNS * 150_000 }, async () => {
      for (let run = 1; run <= RUNS; run++) await partitionRun(mode, run);
    });
  }

  // Failed every time on 78c3702 (a request already sent was not aborted when the lease was
  // lost). Since 607b079 it passes when agent-a's renewal times out on a pooled connection, and
  // still fails when the renewal needed a new connection: Node fires a request's `timeout` only
  // after twice its value then (measured), so agent-a notices at ~20 s, after agent-b leads at
  // ~15 s, and only then aborts the write (docs/reliability.md, "Known failures").
  it(`blackhole with a status write of the leader on its way (${String(RUNS)} run(s)): it never lands after the other leads`, { timeout: RUNS * 150_000 }, async () => {
    for (let run = 1; run <= RUNS; run++) await partitionRun("blackhole", run, true);
  });
});
