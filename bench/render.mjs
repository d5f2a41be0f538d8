// Benchmark of the reconciler's first render of an admin repo: `kustomize build` of the root,
// split into cluster/common and one build per team overlay (build/kustomize.ts buildSplit,
// through the build service), in a fresh process each time, as an agent that just started
// renders it. Prints figures beside their goals; never asserts them; exits 0 unless the
// benchmark itself cannot run.
//
//   npm run bench:render                      (builds dist/ and lib/ first)
//   BENCH_SIZES=200,1000 BENCH_RUNS=3 node bench/render.mjs
//
// Env: BENCH_SIZES  team counts (default 200,1000)
//      BENCH_RUNS   fresh-process renders per size (default 3)
//
// Progress goes to stderr, results to stdout.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "tenantry.js");
const SIZES = (process.env.BENCH_SIZES ?? "200,1000").split(",").map(Number).filter((n) => n > 0);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3) || 3);
const GOALS = { 200: "<= 2 s (before: 11.7 s)", 1000: "<= 8 s" };
const progress = (m) => process.stderr.write(`[bench] ${m}\n`);

if (!existsSync(join(ROOT, "lib", "tenantry.cjs"))) {
  progress("lib/ is missing: run `npm run build` (or `npm run bench:render`)");
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "tenantry-bench-render-"));
const cli = (args, cwd) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tenantry ${args.join(" ")}: ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
};
// One fresh process renders the repo and prints its figures as JSON.
const RENDER = `
const { buildSplit } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist", "build", "kustomize.js")).href)});
const t0 = performance.now();
const objects = await buildSplit(process.argv[1], ".");
process.stdout.write(JSON.stringify({ ms: performance.now() - t0, objects: objects.length, rss: process.memoryUsage().rss }));
process.exit(0);
`;

const out = [`nproc: ${cpus().length}, node ${process.version}, ${cpus()[0]?.model ?? "?"}; loadavg at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`, ""];
out.push("first render of an admin repo (fresh process: cluster/common + one build per team overlay)");
out.push(`   ${"teams".padStart(6)} ${"objects".padStart(8)} ${"median s".padStart(9)} ${"min s".padStart(7)} ${"max s".padStart(7)} ${"RSS MB".padStart(7)}  goal`);
try {
  for (const n of SIZES) {
    const repo = join(work, `repo-${n}`);
    progress(`making an admin repo of ${n} teams (create-team --from)`);
    cli(["init", repo, "--cluster-name", "bench", "--git-url", "git@github.com:acme/admin.git"], work);
    const list = join(work, `teams-${n}.yaml`);
    writeFileSync(list, ["apiVersion: tenantry.dev/v1alpha1", "kind: TeamList", "metadata: {name: bench}", "spec:", "  teams:", ...Array.from({ length: n }, (_, i) => `    - name: team${String(i + 1).padStart(4, "0")}`), ""].join("\n"));
    cli(["create-team", "--from", list], repo);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", RENDER, repo], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`render failed: ${r.stderr.trim().split("\n")[0]}`);
      runs.push(JSON.parse(r.stdout));
      progress(`${n} teams, run ${i + 1}: ${(runs[i].ms / 1000).toFixed(2)} s`);
    }
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)];
    const rss = Math.max(...runs.map((r) => r.rss)) / 1024 / 1024;
    out.push(`   ${String(n).padStart(6)} ${String(runs[0].objects).padStart(8)} ${(median / 1000).toFixed(2).padStart(9)} ${(ms[0] / 1000).toFixed(2).padStart(7)} ${(ms[ms.length - 1] / 1000).toFixed(2).padStart(7)} ${rss.toFixed(0).padStart(7)}  ${GOALS[n] ?? "-"}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
out.push(`loadavg at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
process.stdout.write(`${out.join("\n")}\n`);
