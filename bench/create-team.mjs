// Benchmark of `tenantry init` + `create-team` at scale. Prints figures only: it never
// asserts a goal and always exits 0 (unless the benchmark itself cannot run).
//
//   npm run bench:create-team                 (builds dist/ first)
//   BENCH_RUNS=30 BENCH_TEAMS=1000 node bench/create-team.mjs
//
// Env: BENCH_RUNS   CLI runs per measurement (default 30)
//      BENCH_TEAMS  teams created in-process / present for the "large" CLI case (default 1000)
//      BENCH_SMALL  teams present for the "small" CLI case (default 10)
//      BENCH_KEEP=1 keep the temp dir (its path is printed)
//
// Progress goes to stderr, results to stdout.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "tenantry.js");
const RUNS = intEnv("BENCH_RUNS", 30);
const TEAMS = intEnv("BENCH_TEAMS", 1000);
const SMALL = intEnv("BENCH_SMALL", 10);
const GIT_URL = "git@github.com:acme/admin.git";

function intEnv(name, fallback) {
  const v = Number.parseInt(process.env[name] ?? "", 10);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const progress = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const teamName = (prefix, i, width = 4) => `${prefix}${String(i).padStart(width, "0")}`;

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  // nearest-rank
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const median = s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p95: quantile(s, 0.95), min: s[0], max: s[s.length - 1] };
}

function nproc() {
  try {
    return execFileSync("nproc", { encoding: "utf8" }).trim();
  } catch {
    return String(availableParallelism?.() ?? cpus().length);
  }
}

// ---- build ---------------------------------------------------------------------------

progress("building dist/ (npx tsc -p tsconfig.build.json)");
{
  const t0 = performance.now();
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  // tsc still emits on type errors (no noEmitOnError): warn, and measure what was emitted.
  if (r.status !== 0) progress(`WARNING: tsc exited ${r.status}; measuring the dist/ it emitted anyway`);
  progress(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
const { init } = await import(dist("generate/init.js"));
const { createTeam, planCreateTeam } = await import(dist("generate/team.js"));
const { applyChanges } = await import(dist("repo/changes.js"));
const { templates } = await import(dist("repo/templates.js"));

const work = mkdtempSync(join(tmpdir(), "tenantry-bench-"));
const out = [];
const line = (s = "") => out.push(s);

let kustomizeVersion = "?";
try {
  const { findBinary } = await import(dist("toolchain.js"));
  const k = findBinary("build");
  kustomizeVersion = `${k.source}: ${k.file}`;
} catch (e) {
  kustomizeVersion = `not found (${e.message})`;
}

line(`nproc:     ${nproc()}`);
line(`node:      ${process.version}`);
line(`cpu:       ${cpus()[0]?.model ?? "?"}`);
line(`build service: ${kustomizeVersion}`);
line(`loadavg:   ${loadavg().map((l) => l.toFixed(2)).join(" ")} (at start; other load on the machine skews the figures)`);
line(`runs:      BENCH_RUNS=${RUNS}, BENCH_TEAMS=${TEAMS}, BENCH_SMALL=${SMALL}`);
line();

const initOptions = (name) => ({ clusterName: name, gitUrl: GIT_URL, platformTeam: undefined, policyEngine: "both" });

/** The no-kustomize path: exactly createTeam's plan + write, without buildOverlay. */
function createTeamNoValidate(root, team) {
  const plan = planCreateTeam(templates, root, team, {});
  applyChanges(root, plan.changes);
  return plan;
}

async function initAndTeams(label, dir, n, { validate }) {
  const t0 = performance.now();
  await init(templates, dir, initOptions("bench"));
  const tInit = performance.now() - t0;
  const t1 = performance.now();
  const every = Math.max(1, Math.floor(n / 10));
  let tBucket = performance.now();
  for (let i = 1; i <= n; i++) {
    const team = teamName("team", i);
    if (validate) await createTeam(templates, dir, team, {}, { dryRun: false, commit: false });
    else createTeamNoValidate(dir, team);
    if (i % every === 0 || i === n) {
      const now = performance.now();
      progress(`${label}: ${i}/${n} teams, last ${every}: ${((now - tBucket) / every).toFixed(1)} ms/team`);
      tBucket = now;
    }
  }
  const tTeams = performance.now() - t1;
  return { tInit, tTeams, total: tInit + tTeams };
}

// ---- 1. init + N teams in-process -----------------------------------------------------

const inproc = [];
{
  const dir = join(work, "inproc-full");
  progress(`1a. in-process init + ${TEAMS} createTeam (with kustomize build per team)`);
  inproc.push(["createTeam (with kustomize build)", await initAndTeams("1a", dir, TEAMS, { validate: true })]);
}
const bigRepo = join(work, "inproc-novalidate");
{
  progress(`1b. in-process init + ${TEAMS} planCreateTeam+applyChanges (no kustomize)`);
  inproc.push(["planCreateTeam+applyChanges (no kustomize)", await initAndTeams("1b", bigRepo, TEAMS, { validate: false })]);
}

line(`1. init + ${TEAMS} teams in one process (goal: < 10 s)`);
line(`   ${"variant".padEnd(44)} ${"total s".padStart(8)} ${"init ms".padStart(8)} ${"ms/team".padStart(8)}`);
for (const [label, r] of inproc) {
  line(
    `   ${label.padEnd(44)} ${(r.total / 1000).toFixed(2).padStart(8)} ${r.tInit.toFixed(0).padStart(8)} ${(r.tTeams / TEAMS).toFixed(2).padStart(8)}`,
  );
}
line();

// ---- 2. CLI process timings ------------------------------------------------------------

function timeProcess(args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const ms = performance.now() - t0;
  return { ms, ok: r.status === 0, err: r.status === 0 ? "" : (r.stderr || r.stdout || "").trim().split("\n")[0] };
}

function measure(label, argsFor, cwd) {
  const samples = [];
  let failures = 0;
  let firstError = "";
  for (let i = 1; i <= RUNS; i++) {
    const r = timeProcess(argsFor(i), cwd);
    samples.push(r.ms);
    if (!r.ok) {
      failures++;
      firstError ||= r.err;
    }
  }
  const s = stats(samples);
  progress(`2. ${label}: median ${s.median.toFixed(0)} ms, p95 ${s.p95.toFixed(0)} ms${failures ? `, ${failures} FAILED: ${firstError}` : ""}`);
  return { label, ...s, failures, firstError };
}

const smallRepo = join(work, "small");
progress(`2. preparing an admin repo with ${SMALL} teams`);
await initAndTeams("2-prep", smallRepo, SMALL, { validate: false });

progress(`2. spawning CLI processes, ${RUNS} runs each`);
const cli = [];
cli.push(measure("node -e ''", () => ["-e", ""], work));
cli.push(measure("tenantry --help", () => [BIN, "--help"], work));
cli.push(measure(`create-team, ${SMALL} teams in repo`, (i) => [BIN, "create-team", teamName("new", i)], smallRepo));
cli.push(measure(`create-team, ${TEAMS} teams in repo`, (i) => [BIN, "create-team", teamName("new", i)], bigRepo));
// Same team count again, to see run-to-run noise (and order effects) on this machine.
cli.push(measure(`create-team, ${SMALL + RUNS} teams in repo (repeat)`, (i) => [BIN, "create-team", teamName("again", i)], smallRepo));

line(`2. CLI process wall time, ${RUNS} runs each (goal: create-team p50 <= 250 ms, flat in team count)`);
line(`   ${"command".padEnd(44)} ${"median".padStart(7)} ${"p95".padStart(7)} ${"min".padStart(7)} ${"max".padStart(7)}  failed`);
for (const r of cli) {
  line(
    `   ${r.label.padEnd(44)} ${r.median.toFixed(0).padStart(7)} ${r.p95.toFixed(0).padStart(7)} ${r.min.toFixed(0).padStart(7)} ${r.max.toFixed(0).padStart(7)}  ${r.failures}${r.failures ? ` (${r.firstError})` : ""}`,
  );
}
line("   (ms; create-team teams grow by one per run; p95 is nearest-rank)");
line(`loadavg at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);

process.stdout.write(out.join("\n") + "\n");

if (process.env.BENCH_KEEP === "1") progress(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
