// Benchmark of `tenantry create-team` at scale, as whole CLI processes: a bulk --from of
// BENCH_TEAMS teams into a new repo, then single create-teams in repos of BENCH_SMALL and
// BENCH_TEAMS teams. Prints figures beside their goals and earlier figures; it never asserts
// a goal and always exits 0 (unless the benchmark itself cannot run).
//
//   npm run bench:create-team                 (builds dist/ and lib/ first)
//   BENCH_RUNS=30 BENCH_TEAMS=1000 node bench/create-team.mjs
//
// Env: BENCH_RUNS   CLI runs per measurement (default 30)
//      BENCH_TEAMS  teams of the bulk run, present for the "large" CLI case (default 1000)
//      BENCH_SMALL  teams present for the "small" CLI case (default 10)
//      BENCH_KEEP=1 keep the temp dir (its path is printed)
//
// Progress goes to stderr, results to stdout.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

// ---- build ----------------------------------------------------------------------------

// `npm run bench:create-team` built dist/ and lib/ (the bundle bin/tenantry.js runs).
if (!existsSync(join(ROOT, "lib", "tenantry.cjs"))) {
  process.stderr.write("bench:create-team: lib/ is missing: run `npm run build` (or `npm run bench:create-team`)\n");
  process.exit(1);
}

const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
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

function cli(args, cwd) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`tenantry ${args.join(" ")} failed (${r.status}): ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
  return r;
}

function initRepo(dir) {
  cli(["init", dir, "--cluster-name", "bench", "--git-url", GIT_URL], work);
}

function teamList(prefix, n) {
  const file = join(work, `${prefix}-${n}.yaml`);
  const teams = Array.from({ length: n }, (_, i) => `    - name: ${teamName(prefix, i + 1)}`);
  writeFileSync(file, ["apiVersion: tenantry.dev/v1alpha1", "kind: TeamList", "metadata:", "  name: bench", "spec:", "  teams:", ...teams, ""].join("\n"));
  return file;
}

// ---- 1. bulk: create-team --from ------------------------------------------------------

progress(`1. tenantry create-team --from (${TEAMS} teams) --commit into a new repo`);
const bigRepo = join(work, "big");
initRepo(bigRepo);
let bulkMs;
{
  const list = teamList("team", TEAMS);
  const t0 = performance.now();
  cli(["create-team", "--from", list, "--commit"], bigRepo);
  bulkMs = performance.now() - t0;
  progress(`1. ${(bulkMs / 1000).toFixed(1)} s`);
}
line(`1. create-team --from, ${TEAMS} teams into a new repo, one CLI process, every overlay built, one commit`);
line(`   goal < 10 s; measured ${(bulkMs / 1000).toFixed(1)} s (before: 97.5 s for init + 1000 teams in-process with a build per team)`);
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
initRepo(smallRepo);
cli(["create-team", "--from", teamList("small", SMALL)], smallRepo);

progress(`2. spawning CLI processes, ${RUNS} runs each`);
const rows = [];
rows.push(measure("node -e ''", () => ["-e", ""], work));
rows.push(measure("tenantry --help", () => [BIN, "--help"], work));
rows.push(measure(`create-team, ${SMALL} teams in repo`, (i) => [BIN, "create-team", teamName("new", i)], smallRepo));
rows.push(measure(`create-team, ${TEAMS} teams in repo`, (i) => [BIN, "create-team", teamName("new", i)], bigRepo));
// Same team count again, to see run-to-run noise (and order effects) on this machine.
rows.push(measure(`create-team, ${SMALL + RUNS} teams in repo (repeat)`, (i) => [BIN, "create-team", teamName("again", i)], smallRepo));

line(`2. CLI process wall time, ${RUNS} runs each (goal: create-team p50 <= 250 ms, p95 <= 400 ms, flat in team count;`);
line(`   before: p50 694 ms at 10 teams, 1058 ms at 1000)`);
line(`   ${"command".padEnd(44)} ${"median".padStart(7)} ${"p95".padStart(7)} ${"min".padStart(7)} ${"max".padStart(7)}  failed`);
for (const r of rows) {
  line(
    `   ${r.label.padEnd(44)} ${r.median.toFixed(0).padStart(7)} ${r.p95.toFixed(0).padStart(7)} ${r.min.toFixed(0).padStart(7)} ${r.max.toFixed(0).padStart(7)}  ${r.failures}${r.failures ? ` (${r.firstError})` : ""}`,
  );
}
line("   (ms; create-team teams grow by one per run; p95 is nearest-rank)");
line(`loadavg at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);

process.stdout.write(out.join("\n") + "\n");

if (process.env.BENCH_KEEP === "1") progress(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
