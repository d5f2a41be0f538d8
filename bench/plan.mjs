// Benchmark of `tenantry plan` on a large admin repo: BENCH_TEAMS teams (default 1000), and
// a change to one shared template (a rule added to ClusterRole tenantry:team-admin in
// cluster/common/rbac.yaml), which reaches every team. Goal: <= 5 s. Prints figures only:
// it never asserts the goal and exits 0 unless the benchmark itself cannot run.
//
//   npm run build && node bench/plan.mjs
//   BENCH_TEAMS=1000 BENCH_RUNS=5 node bench/plan.mjs
//
// Env: BENCH_TEAMS  teams in the admin repo (default 1000)
//      BENCH_RUNS   CLI runs measured (default 5)
//      BENCH_KEEP=1 keep the temp dir (its path is printed)
//
// The repo is rendered in-process with dist/'s generator (renderInit, renderTeamOverlay),
// written once and committed; progress goes to stderr, results to stdout.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "tenantry.js");
const TEAMS = intEnv("BENCH_TEAMS", 1000);
const RUNS = intEnv("BENCH_RUNS", 5);
const GIT = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"];

function intEnv(name, fallback) {
  const v = Number.parseInt(process.env[name] ?? "", 10);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const progress = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
const git = (cwd, ...args) => execFileSync("git", [...GIT, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });

const { renderInit } = await import(dist("generate/init.js"));
const { resolveTeamSpec } = await import(dist("model/team-spec.js"));
const { renderTeamOverlay } = await import(dist("render/repos.js"));
const { templates } = await import(dist("repo/templates.js"));
const { findBinary, generatedVersions: versions } = await import(dist("toolchain.js"));

const work = mkdtempSync(join(tmpdir(), "tenantry-bench-plan-"));
const repo = join(work, "admin");

function write(path, content) {
  const file = join(repo, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

progress(`rendering an admin repo with ${TEAMS} teams in ${repo}`);
let t0 = performance.now();
const { tree, config } = renderInit(templates, { clusterName: "bench", gitUrl: "git@github.com:acme/admin.git", policyEngine: "both" }, versions());
for (const [path, content] of tree) write(path, content);
const names = Array.from({ length: TEAMS }, (_, i) => `team${String(i + 1).padStart(4, "0")}`);
for (const name of names) {
  const spec = resolveTeamSpec(name, {}, null, config);
  for (const [path, content] of renderTeamOverlay(templates, config, spec, versions())) write(path, content);
}
const teamsFile = "cluster/teams/kustomization.yaml";
const teamsText = readFileSync(join(repo, teamsFile), "utf8").replace(/resources:.*$/s, "");
write(teamsFile, `${teamsText}resources:\n${names.map((n) => `  - ../${n}\n`).join("")}`);
git(repo, "init", "--quiet", "--initial-branch=main");
git(repo, "add", "--all");
git(repo, "commit", "--quiet", "-m", "base");
const rbac = "cluster/common/rbac.yaml";
const before = readFileSync(join(repo, rbac), "utf8");
const after = before.replace("    verbs: [get, list, watch]\n---", "    verbs: [get, list, watch]\n  - apiGroups: [\"\"]\n    resources: [podtemplates]\n    verbs: [get, list, watch]\n---");
if (after === before) throw new Error(`could not edit ${rbac}: the template changed; update bench/plan.mjs`);
write(rbac, after);
git(repo, "commit", "--quiet", "-am", "head: a shared template changed");
const files = git(repo, "ls-files").split("\n").filter(Boolean).length;
progress(`repo ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${files} files, 2 commits`);

const samples = [];
let last;
for (let i = 1; i <= RUNS; i++) {
  t0 = performance.now();
  last = spawnSync(process.execPath, [BIN, "plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: repo, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  samples.push(ms);
  progress(`run ${i}: ${ms.toFixed(0)} ms, exit ${last.status}`);
  if (last.status !== 0 && last.status !== 3) {
    process.stderr.write(last.stderr);
    throw new Error(`tenantry plan failed with exit ${last.status}`);
  }
}
const plan = JSON.parse(last.stdout);
const sorted = [...samples].sort((a, b) => a - b);
const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const worktrees = git(repo, "worktree", "list").trim().split("\n").length;

const out = [
  `cpus:       ${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
  `node:       ${process.version}`,
  `build:      ${findBinary("build").source}`,
  `repo:       ${TEAMS} teams, ${files} files; head changes ClusterRole tenantry:team-admin (cluster/common/rbac.yaml)`,
  `plan:       ${plan.summary.changed} changed, ${plan.summary.added} added, ${plan.summary.removed} removed; ${plan.summary.teamsAffected.length} teams affected; risk flags: ${plan.risks.map((r) => r.kind).join(", ") || "none"}; exit ${last.status}`,
  `worktrees:  ${worktrees} after the runs (1 = only the repo's own: none left behind)`,
  `tenantry plan (CLI process, ${RUNS} runs): median ${(median / 1000).toFixed(2)} s, min ${(sorted[0] / 1000).toFixed(2)} s, max ${(sorted[sorted.length - 1] / 1000).toFixed(2)} s (goal <= 5 s)`,
];
process.stdout.write(`${out.join("\n")}\n`);

if (process.env.BENCH_KEEP === "1") progress(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
