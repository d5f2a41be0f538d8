// What every fault test stands on: its OWN local control plane (scripts/local-cluster.sh, no
// Gatekeeper: the shared cluster of test/cluster is never disturbed), teams made by the real
// CLI and applied from a real admin repo, team repos of ConfigMaps behind bare git remotes,
// the check that the cluster holds exactly what Git says (nothing lost, nothing orphaned),
// and the record of each run of a row (bench/faults.mjs reads it into docs/reliability.md).
//
// TENANTRY_FAULT_RUNS=N runs each row N times (the tests default to a few; the bench to
// more); TENANTRY_FAULT_REPORT=FILE appends one JSON line per run of a row to FILE.

import { execFile, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import { type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { RestClient } from "../../src/cluster/rest.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync } from "../../src/model/gitsync.js";
import { SYNC_NAME_LABEL, SYNC_NAMESPACE_LABEL } from "../../src/model/labels.js";
import { repoRoot, runCli } from "../helpers/cli.js";
import { git } from "../helpers/git.js";

const run = promisify(execFile);
const SCRIPT = join(repoRoot, "scripts", "local-cluster.sh");

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How many times each row runs: TENANTRY_FAULT_RUNS, else `fallback`. */
export function runsOf(fallback: number): number {
  const n = Number.parseInt(process.env.TENANTRY_FAULT_RUNS ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export interface RunRecord {
  readonly row: string;
  readonly converged: boolean;
  /** From the end of the fault (or, for a fault that is tolerated while it lasts, from its start) to convergence. */
  readonly recoveryMs: number;
  /** What the run saw: the condition while the fault lasted, requests, kill points. */
  readonly note?: string;
}

/** Appends one run of a row to TENANTRY_FAULT_REPORT (and says it on stderr). */
export function record(r: RunRecord): void {
  const test = expect.getState().currentTestName;
  process.stderr.write(`fault row "${r.row}": ${r.converged ? `converged ${(r.recoveryMs / 1000).toFixed(2)} s after the fault` : "DID NOT CONVERGE"}${r.note === undefined ? "" : ` (${r.note})`}\n`);
  const file = process.env.TENANTRY_FAULT_REPORT;
  if (file !== undefined && file !== "") appendFileSync(file, `${JSON.stringify({ ...r, test, at: new Date().toISOString() })}\n`);
}

/** Polls `probe` every `everyMs` until it returns a value; undefined after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

/** A control plane of the test file's own. */
export interface LocalCluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly admin: KubeAccess;
  readonly api: RestClient;
  /** `local-cluster.sh ACTION DIR COMPONENT` with SIGKILL `graceSeconds` after SIGTERM. */
  component(action: "restart" | "stop-component" | "start-component", component: "etcd" | "apiserver" | "controller-manager", graceSeconds?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalCluster(): Promise<LocalCluster> {
  const work = mkdtempSync(join(tmpdir(), "tenantry-faults-"));
  const dir = join(work, "cluster");
  const started = Date.now();
  try {
    await run("bash", [SCRIPT, "start", dir], { env: { ...process.env, TENANTRY_CLUSTER_TIMEOUT: "240" }, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    await run("bash", [SCRIPT, "stop", dir]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  process.stderr.write(`faults: control plane in ${dir} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  const kubeconfig = join(dir, "kubeconfig");
  const admin = loadAccess(kubeconfig);
  return {
    dir,
    kubeconfig,
    admin,
    api: RestClient.forConfig(admin),
    component: async (action, component, graceSeconds = 2) => {
      await run("bash", [SCRIPT, action, dir, component], { env: { ...process.env, TENANTRY_STOP_GRACE: String(graceSeconds) } });
    },
    stop: async () => {
      await run("bash", [SCRIPT, "stop", dir]).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** What one revision of a team repo holds: ConfigMaps `names`, each with data.rev = `rev`. */
export interface Revision {
  readonly sha: string;
  readonly names: readonly string[];
  readonly rev: string;
}

/** A team repo of ConfigMaps and its bare remote. */
export class TeamRepo {
  readonly dir: string;
  readonly remotePath: string;
  /** The last revision pushed. */
  head: Revision | undefined;

  constructor(
    readonly team: string,
    work: string,
  ) {
    this.dir = join(work, `${team}-repo`);
    this.remotePath = join(work, `${team}.git`);
    mkdirSync(this.dir, { recursive: true });
    git(this.dir, "init", "--quiet", "--initial-branch=main");
    this.initRemote();
  }

  get url(): string {
    return `file://${this.remotePath}`;
  }

  /** (Re)creates an empty bare remote. */
  initRemote(): void {
    rmSync(this.remotePath, { recursive: true, force: true });
    execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", this.remotePath]);
  }

  /** Writes ConfigMaps `names` with data.rev = `rev` (plus `pad` bytes each), commits and pushes; an orphan commit when `unrelated`. */
  push(names: readonly string[], rev: string, opts: { unrelated?: boolean; pad?: number } = {}): Revision {
    const pad = "x".repeat(opts.pad ?? 0);
    const docs = names.map((name) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { rev, ...(pad === "" ? {} : { pad }) } }));
    if (opts.unrelated === true) git(this.dir, "checkout", "--quiet", "--orphan", `unrelated-${rev}`);
    writeFileSync(join(this.dir, "cms.yaml"), `${docs.join("\n---\n")}\n`);
    writeFileSync(join(this.dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cms.yaml\n");
    git(this.dir, "add", "--all");
    git(this.dir, "commit", "--quiet", "--allow-empty", "-m", `rev ${rev}`);
    git(this.dir, "push", "--quiet", "--force", this.url, "HEAD:main");
    this.head = { sha: git(this.dir, "rev-parse", "HEAD"), names: [...names], rev };
    return this.head;
  }

  /** Pushes what the local repo holds again (after the remote was lost). */
  repush(): void {
    git(this.dir, "push", "--quiet", "--force", this.url, "HEAD:main");
  }
}

/** `cm-<from>` .. `cm-<from+count-1>`. */
export function cmNames(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `cm-${String(from + i).padStart(4, "0")}`);
}

export interface Teams {
  readonly work: string;
  readonly repos: Map<string, TeamRepo>;
}

/**
 * An admin repo (`tenantry init`, policy engine vap: no Gatekeeper here) with `teams` (tier
 * large: quota for 1000 ConfigMaps), applied once directly; each team's GitSync points at a
 * bare remote holding `initial` ConfigMaps, with `spec` merged in.
 */
export async function makeTeams(cluster: LocalCluster, teams: readonly string[], spec: Record<string, unknown>, initial: readonly string[] = cmNames(0, 5)): Promise<Teams> {
  const work = join(cluster.dir, "..", "repos");
  mkdirSync(work, { recursive: true });
  const admin = join(work, "admin");
  const init = await runCli(["init", admin, "--cluster-name", "faults", "--git-url", "https://git.example.com/a/admin.git", "--policy-engine", "vap"]);
  expect(init.code, init.stderr).toBe(0);
  const repos = new Map<string, TeamRepo>();
  for (const team of teams) {
    const repo = new TeamRepo(team, work);
    repos.set(team, repo);
    repo.push(initial, "0");
    const r = await runCli(["create-team", team, "--repo-url", repo.url, "--tier", "large"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
  }
  // The admin repo is applied once, directly: these tests are about team GitSyncs.
  await applyObjects(cluster.admin, await buildDir(admin));
  for (const team of teams) {
    await cluster.api.mergePatch(gitSyncHeader(team), { spec });
  }
  return { work, repos };
}

export function gitSyncHeader(team: string): { apiVersion: string; kind: string; metadata: { name: string; namespace: string } } {
  return { apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: team, namespace: team } };
}

export async function gitSync(api: RestClient, team: string): Promise<GitSync> {
  return (await api.readObject(gitSyncHeader(team))) as GitSync;
}

export function readyOf(gs: GitSync): { status: string; reason: string; message: string } | undefined {
  const c = gs.status?.conditions?.find((x) => x.type === "Ready");
  return c === undefined ? undefined : { status: c.status, reason: c.reason, message: c.message };
}

/** The ConfigMaps the team's GitSync applied (by its labels), name -> data.rev. */
export async function liveConfigMaps(api: RestClient, team: string): Promise<Map<string, string | undefined>> {
  const list = await api.listObjects("v1", "ConfigMap", team, `${SYNC_NAMESPACE_LABEL}=${team},${SYNC_NAME_LABEL}=${team}`);
  return new Map(list.items.filter((o) => (o.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined).map((o) => [o.metadata.name, (o as { data?: Record<string, string> }).data?.rev]));
}

/**
 * Why the cluster does not hold exactly `want` for `team`, or undefined when it does:
 * the GitSync Ready at `want`'s commit; every ConfigMap of Git live with its data (nothing
 * lost); no ConfigMap of this GitSync that Git does not have (nothing orphaned); the
 * inventory exactly Git's ConfigMaps.
 */
export async function divergence(api: RestClient, team: string, want: Revision): Promise<string | undefined> {
  const gs = await gitSync(api, team);
  const revision = `main@sha1:${want.sha}`;
  if (gs.status?.lastAppliedRevision !== revision) return `lastAppliedRevision ${gs.status?.lastAppliedRevision ?? "(none)"}, not ${revision}`;
  const ready = readyOf(gs);
  if (ready?.status !== "True") return `Ready=${ready?.status ?? "?"} ${ready?.reason ?? ""}: ${ready?.message ?? ""}`;
  const live = await liveConfigMaps(api, team);
  const wanted = new Set(want.names);
  const lost = want.names.filter((n) => live.get(n) !== want.rev);
  const orphans = [...live.keys()].filter((n) => !wanted.has(n));
  const inventory = (gs.status.inventory?.entries ?? []).filter((e) => e.id.endsWith("__ConfigMap")).map((e) => e.id.split("_")[1] ?? "");
  const staleInventory = inventory.filter((n) => !wanted.has(n));
  const missingInventory = want.names.filter((n) => !inventory.includes(n));
  const problems = [
    lost.length > 0 ? `${lost.length} lost or stale (${lost.slice(0, 3).join(", ")}…)` : "",
    orphans.length > 0 ? `${orphans.length} orphaned (${orphans.slice(0, 3).join(", ")}…)` : "",
    staleInventory.length > 0 ? `inventory holds ${staleInventory.length} Git does not` : "",
    missingInventory.length > 0 ? `inventory lacks ${missingInventory.length}` : "",
  ].filter((p) => p !== "");
  return problems.length === 0 ? undefined : problems.join("; ");
}

/** Waits until the cluster holds `want`; the time it took (ms from `since`), or undefined with the last divergence. */
export async function converge(api: RestClient, team: string, want: Revision, since: number, timeoutMs: number): Promise<{ ms?: number; last?: string }> {
  let last: string | undefined;
  const ok = await until(async () => {
    last = await divergence(api, team, want);
    return last === undefined ? true : undefined;
  }, timeoutMs);
  return ok === true ? { ms: Date.now() - since } : { last: last ?? "the API server did not answer" };
}

/** How many ConfigMaps of `team` already carry data.rev = `rev`. */
export async function appliedCount(api: RestClient, team: string, rev: string): Promise<number> {
  return [...(await liveConfigMaps(api, team)).values()].filter((r) => r === rev).length;
}

/** tenantry's scratch directories in the temp dir right now (fetch checkouts, ls-remote homes, the build service home). */
export function scratchDirs(): string[] {
  return readdirSync(tmpdir()).filter((n) => /^tenantry-(src|ls|build-home)-/.test(n));
}

/** A random number generator from a seed (mulberry32), so a failing run can be repeated. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HOOK_SECRET = "fault-webhook-token";

/** A Secret holding the webhook token, for GitSyncs with webhookSecretRef: {name: webhook}. */
export async function webhookSecret(api: RestClient, team: string): Promise<void> {
  await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "webhook", namespace: team }, stringData: { token: HOOK_SECRET } }, { fieldManager: "fault-test", force: true });
}

/** A signed GitHub push of `sha` to the agent's webhook port; the HTTP status. */
export async function hook(port: number, team: string, sha: string): Promise<number> {
  const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
  const res = await fetch(`http://127.0.0.1:${String(port)}/hooks/${team}/${team}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}` },
    body,
  });
  await res.text();
  return res.status;
}
