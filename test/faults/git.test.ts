// Fault rows of the Git remote, on a control plane of this file's own, with the agent running
// throughout: the remote deleted in the middle of an apply, its objects corrupted under a new
// commit, a force-push of an unrelated history in the middle of an apply, and the branch
// deleted. While the remote is unusable: Ready=False GitOperationFailed naming it, and nothing
// pruned (the last applied revision stays whole); once it is back (or, for the force-push,
// at once) the cluster converges to what Git holds: nothing lost, nothing orphaned.

import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgent } from "../helpers/agent.js";
import { git } from "../helpers/git.js";
import { watchReady } from "./conditions.js";
import { appliedCount, cmNames, converge, divergence, type LocalCluster, makeTeams, record, type Revision, runsOf, startLocalCluster, type TeamRepo, until } from "./fixture.js";

const TEAM = "fault-git";
const COUNT = 150;
const RUNS = runsOf(1);
/** Short, so a broken remote is seen (and a mended one picked up) within seconds. */
const INTERVAL = "2s";

let cluster: LocalCluster | undefined;
let agent: AgentProcess | undefined;
let repo: TeamRepo;
let fresh = COUNT;

beforeAll(async () => {
  cluster = await startLocalCluster();
  const teams = await makeTeams(cluster, [TEAM], { interval: INTERVAL });
  repo = teams.repos.get(TEAM) ?? expect.fail("no team repo");
  agent = await startAgent(["--namespace", TEAM, "--kubeconfig", cluster.kubeconfig]);
  const base = repo.push(cmNames(0, COUNT), "base");
  expect((await converge(cluster.api, TEAM, base, Date.now(), 60_000)).last).toBeUndefined();
});

afterAll(async () => {
  await agent?.stop("SIGKILL");
  await cluster?.stop();
});

function c(): LocalCluster {
  return cluster ?? expect.fail("beforeAll did not finish");
}

function head(): Revision {
  return repo.head ?? expect.fail("nothing pushed");
}

/** The next revision's objects: ten leave Git, ten come, every one's data changes. */
function nextNames(): string[] {
  const names = [...head().names.slice(10), ...cmNames(fresh, 10)];
  fresh += 10;
  return names;
}

/**
 * A broken remote: `breakIt` runs (after `before`, which may push), the test waits for
 * Ready=False GitOperationFailed matching `named`, checks that `applied` is still whole, then
 * `mend` and waits for `want`.
 */
async function brokenRemote(row: string, opts: { breakIt: () => void; named: RegExp; applied: () => Revision; mend: () => void; want: () => Revision }): Promise<void> {
  const { api } = c();
  const watch = watchReady(api, TEAM);
  const broken = Date.now();
  opts.breakIt();
  const seen = await until(() => Promise.resolve(watch.failures().find((x) => x.reason === "GitOperationFailed")), 30_000);
  // While it lasts, the last applied revision stays whole: nothing pruned, nothing lost.
  const applied = opts.applied();
  const whole = await divergence(api, TEAM, applied).then((d) => (d?.startsWith("Ready=False") === true ? undefined : d));
  opts.mend();
  const healed = Date.now();
  const result = await converge(api, TEAM, opts.want(), healed, 60_000);
  await watch.stop();
  record({
    row,
    converged: result.ms !== undefined,
    recoveryMs: result.ms ?? NaN,
    note: `Ready=False after ${seen === undefined ? "(never)" : `${((seen.at - broken) / 1000).toFixed(1)} s`}: ${seen === undefined ? "(none)" : `${seen.reason}: ${seen.message.slice(0, 140)}`}`,
  });
  expect(result.last).toBeUndefined();
  // Soft: the other runs of the row still run (and are recorded) when one of these fails.
  expect.soft(seen, "no Ready=False GitOperationFailed while the remote was broken").toBeDefined();
  expect.soft(seen?.message).toMatch(opts.named);
  expect.soft(whole, "the last applied revision did not stay whole while the remote was broken").toBeUndefined();
}

describe("the git remote", () => {
  it(`deleted in the middle of an apply, then restored (${String(RUNS)} run(s))`, { timeout: RUNS * 120_000 }, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const rev = `deleted-${String(run)}-${String(Date.now())}`;
      const want = repo.push(nextNames(), rev);
      expect(await until(async () => ((await appliedCount(c().api, TEAM, rev)) >= 10 ? true : undefined), 60_000, 50)).toBe(true);
      await brokenRemote("git remote deleted mid-run", {
        breakIt: () => {
          rmSync(repo.remotePath, { recursive: true, force: true });
        },
        named: new RegExp(`${repo.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*(does not appear to be a git repository|not found|No such)`, "s"),
        // The run under way had fetched the revision: it finishes applying it.
        applied: () => want,
        mend: () => {
          repo.initRemote();
          repo.repush();
        },
        want: () => want,
      });
    }
  });

  it(`corrupted: a new commit whose objects the remote cannot read, then repaired (${String(RUNS)} run(s))`, { timeout: RUNS * 120_000 }, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const applied = head();
      // The new commit reaches the remote under another ref, its cms.yaml is overwritten with
      // garbage, and only then does main point at it: the agent never sees it whole.
      const rev = `corrupt-${String(run)}-${String(Date.now())}`;
      const names = nextNames();
      const docs = names.map((name) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { rev } }));
      writeFileSync(join(repo.dir, "cms.yaml"), `${docs.join("\n---\n")}\n`);
      git(repo.dir, "commit", "--quiet", "-am", `rev ${rev}`);
      const sha = git(repo.dir, "rev-parse", "HEAD");
      const blob = git(repo.dir, "rev-parse", "HEAD:cms.yaml");
      git(repo.dir, "push", "--quiet", "--force", repo.url, "HEAD:refs/heads/staging");
      const want: Revision = { sha, names, rev };
      repo.head = want;
      await brokenRemote("git remote corrupted", {
        breakIt: () => {
          const object = join(repo.remotePath, "objects", blob.slice(0, 2), blob.slice(2));
          rmSync(object, { force: true });
          writeFileSync(object, "this is not a git object\n");
          execFileSync("git", ["update-ref", "refs/heads/main", sha], { cwd: repo.remotePath });
        },
        named: /corrupt|inflate|unable to read|fatal|error/i,
        applied: () => applied,
        mend: () => {
          repo.initRemote();
          repo.repush();
        },
        want: () => want,
      });
    }
  });

  it(`force-pushed to an unrelated history in the middle of an apply (${String(RUNS)} run(s))`, { timeout: RUNS * 120_000 }, async () => {
    const { api } = c();
    for (let run = 1; run <= RUNS; run++) {
      const rev = `before-${String(run)}-${String(Date.now())}`;
      repo.push(nextNames(), rev);
      expect(await until(async () => ((await appliedCount(api, TEAM, rev)) >= 10 ? true : undefined), 60_000, 50)).toBe(true);
      // A history sharing no commit with the one being applied: half its names, and new ones.
      const kept = head().names.slice(Math.floor(head().names.length / 2));
      const names = [...kept, ...cmNames(fresh, COUNT - kept.length)];
      fresh += COUNT - kept.length;
      const pushed = Date.now();
      const want = repo.push(names, `unrelated-${String(run)}-${String(Date.now())}`, { unrelated: true });
      const result = await converge(api, TEAM, want, pushed, 60_000);
      record({ row: "git force-pushed to an unrelated history mid-run", converged: result.ms !== undefined, recoveryMs: result.ms ?? NaN, note: "no failure: from the force-push to convergence" });
      expect(result.last).toBeUndefined();
    }
  });

  it(`its branch deleted, then pushed again (${String(RUNS)} run(s))`, { timeout: RUNS * 120_000 }, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const applied = head();
      await brokenRemote("git ref disappears", {
        breakIt: () => {
          execFileSync("git", ["update-ref", "-d", "refs/heads/main"], { cwd: repo.remotePath });
        },
        named: /refs\/heads\/main|main/,
        applied: () => applied,
        mend: () => {
          repo.repush();
        },
        want: () => applied,
      });
    }
  });
});
