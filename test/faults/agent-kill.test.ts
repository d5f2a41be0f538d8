// The agent SIGKILLed at random points, on a control plane of this file's own. Each run pushes
// a revision that changes every object, removes thirty and adds thirty (so a run has a fetch,
// a build, an apply, a prune and a status write to be killed in), starts an agent, kills it
// after a random delay inside the span a whole reconcile takes (every other run: a random
// delay after its apply has begun), starts a new agent, and
// asserts convergence: every object of Git live with its data, nothing orphaned (what the
// killed run applied and Git then dropped is pruned), the inventory exact.
//
// TENANTRY_FAULT_RUNS runs (default 5; bench/faults.mjs runs 20); TENANTRY_FAULT_SEED repeats
// a sequence of kill points (the seed is printed).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgent } from "../helpers/agent.js";
import { appliedCount, cmNames, converge, gitSync, type LocalCluster, makeTeams, record, type Revision, runsOf, scratchDirs, seeded, sleep, startLocalCluster, type TeamRepo, until } from "./fixture.js";

const TEAM = "fault-kill";
const COUNT = 300;
/** Bytes of padding per object, so the apply is long enough to be killed in (~4.8 MB in all). */
const PAD = 16_384;
const RUNS = runsOf(5);
const SEED = Number.parseInt(process.env.TENANTRY_FAULT_SEED ?? "", 10) || Date.now() % 1_000_000;

let cluster: LocalCluster | undefined;
let repo: TeamRepo;
let fresh = COUNT;
const agents: AgentProcess[] = [];

const sharedTmp = process.env.TMPDIR;
let ownTmp: string | undefined;

beforeAll(async () => {
  // A temp dir of this file's own: what the agents leave there is theirs (other processes on
  // the machine make tenantry scratch dirs in the shared one).
  ownTmp = mkdtempSync(join(tmpdir(), "tenantry-faults-kill-"));
  process.env.TMPDIR = ownTmp;
  cluster = await startLocalCluster();
  const teams = await makeTeams(cluster, [TEAM], { interval: "1h" });
  repo = teams.repos.get(TEAM) ?? expect.fail("no team repo");
});

afterAll(async () => {
  for (const a of agents) await a.stop("SIGKILL").catch(() => undefined);
  await cluster?.stop();
  if (sharedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = sharedTmp;
  if (ownTmp !== undefined) rmSync(ownTmp, { recursive: true, force: true });
});

function c(): LocalCluster {
  return cluster ?? expect.fail("beforeAll did not finish");
}

/** `tenantry-src-` of `tenantry-src-AbC123`. */
function prefixOf(dir: string): string {
  return dir.replace(/[^-]+$/, "");
}

function agentArgs(): string[] {
  return ["--namespace", TEAM, "--kubeconfig", c().kubeconfig];
}

async function agentNow(): Promise<AgentProcess> {
  const a = await startAgent(agentArgs());
  agents.push(a);
  return a;
}

/** The next revision: thirty leave Git, thirty come, every object's data changes. */
function next(rev: string): Revision {
  const names = [...(repo.head?.names ?? []).slice(30), ...cmNames(fresh, 30)];
  fresh += 30;
  return repo.push(names, rev, { pad: PAD });
}

/** Where a run was when it was killed, judged from the cluster afterwards. */
async function killPoint(want: Revision): Promise<string> {
  const applied = await appliedCount(c().api, TEAM, want.rev);
  const gs = await gitSync(c().api, TEAM);
  if (gs.status?.lastAppliedRevision === `main@sha1:${want.sha}`) return "after the status write";
  if (applied === 0) return "before the apply (start, fetch, build)";
  if (applied < want.names.length) return "during the apply";
  return "after the apply (prune, status)";
}

describe("a SIGKILLed agent", () => {
  it(`killed at a random point of a reconcile, ${String(RUNS)} times: each time a new agent converges, nothing lost or orphaned`, { timeout: 60_000 + RUNS * 90_000 }, async () => {
    const { api } = c();
    process.stderr.write(`agent-kill: TENANTRY_FAULT_SEED=${String(SEED)}\n`);
    const random = seeded(SEED);
    const scratchBefore = new Set(scratchDirs());
    // How long a whole run takes from the agent's start, to spread the kill points over it.
    const warm = next("warm-up");
    const first = await agentNow();
    const t0 = Date.now();
    const span = await converge(api, TEAM, warm, t0, 120_000);
    expect(span.last).toBeUndefined();
    const windowMs = Math.max(1000, (span.ms ?? 3000) * 1.2);
    expect(await first.stop()).toBe(0);
    const points = new Map<string, number>();
    for (let run = 1; run <= RUNS; run++) {
      const want = next(`kill-${String(run)}-${String(Date.now())}`);
      const victim = await agentNow();
      const started = Date.now();
      // Odd runs: anywhere in the span of a run. Even runs: once the apply has begun (it is a
      // small part of the span, and the one with the most to lose), plus up to 150 ms.
      if (run % 2 === 1) await sleep(Math.round(random() * windowMs));
      else {
        await until(async () => ((await appliedCount(api, TEAM, want.rev)) > 0 ? true : undefined), 30_000, 10);
        await sleep(Math.round(random() * 150));
      }
      const delay = Date.now() - started;
      await victim.stop("SIGKILL");
      const point = await killPoint(want);
      points.set(point, (points.get(point) ?? 0) + 1);
      const restarted = Date.now();
      const survivor = await agentNow();
      const result = await converge(api, TEAM, want, restarted, 120_000);
      const code = await survivor.stop();
      record({ row: "agent SIGKILLed at a random point", converged: result.ms !== undefined, recoveryMs: result.ms ?? NaN, note: `killed ${String(delay)} ms after its start (${point}); recovery from the new agent's start` });
      expect(result.last, `run ${String(run)}: killed ${String(delay)} ms after start (${point}); seed ${String(SEED)}`).toBeUndefined();
      expect(code).toBe(0);
    }
    const leaked = scratchDirs().filter((d) => !scratchBefore.has(d));
    process.stderr.write(`agent-kill: kill points ${JSON.stringify(Object.fromEntries(points))}; scratch dirs the ${String(RUNS * 2 + 1)} agents left in their temp dir: ${String(leaked.length)} ${JSON.stringify(Object.fromEntries([...new Set(leaked.map(prefixOf))].map((p) => [p, leaked.filter((d) => prefixOf(d) === p).length])))}\n`);
  });
});
