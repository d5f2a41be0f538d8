// The fault table (issue 17): runs the fault tests of test/faults/ (each file on a control plane
// of its own) with every row repeated, reads what each run recorded, and prints the table
// (fault, runs, converged, recovery p50/max, whether every assertion of the row held) and
// writes it into docs/reliability.md between its markers. Prints figures; exits 0 unless the
// bench itself cannot run (a row that fails is a row of the table, not a crash).
//
//   npm run bench:faults                     (builds dist/ first)
//   node bench/faults.mjs --runs 5 --kill-runs 20 [--no-write] [--files git,partition]
//
// Options (or env):
//   --runs N        BENCH_FAULT_RUNS       runs of each row (default 5)
//   --kill-runs N   BENCH_FAULT_KILL_RUNS  runs of the SIGKILL row (default 20)
//   --files a,b     BENCH_FAULT_FILES      only these test/faults/<name>.test.ts files
//   --no-write                             print only; leave docs/reliability.md alone
//   --seed N        TENANTRY_FAULT_SEED    the kill points' seed (printed either way)

import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DOC = join(ROOT, "docs", "reliability.md");
const BEGIN = "<!-- fault-table:begin (bench/faults.mjs writes this part) -->";
const END = "<!-- fault-table:end -->";

/** The table's rows in the issue's order: the name each test records, and what the recovery column measures. */
const ROWS = [
  ["kube-apiserver restarted mid-apply", "API server up again → converged"],
  ["etcd stopped and started mid-apply", "etcd up again (5 s down) → converged"],
  ["API server slow (+300 ms per request)", "push → converged, under the latency"],
  ["API server answers 500 to applies", "fault ends (8 s) → converged"],
  ["API server answers 429 (Retry-After: 1)", "fault ends (8 s) → converged"],
  ["connections dropped after the API server applied", "fault ends (8 s) → converged"],
  ["git remote deleted mid-run", "remote restored → converged"],
  ["git remote corrupted", "remote repaired → converged"],
  ["git force-pushed to an unrelated history mid-run", "force-push → converged"],
  ["git ref disappears", "branch pushed again → converged"],
  ["agent SIGKILLed at a random point", "new agent started → converged"],
  ["two agents, the leader partitioned (blackhole)", "cut → the other agent applied the push"],
  ["two agents, the leader partitioned (refuse)", "cut → the other agent applied the push"],
  ["two agents, the leader partitioned (blackhole, a status write in flight)", "cut → the other agent applied the push"],
];

function option(name, env, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  return process.env[env] ?? fallback;
}

function positive(v, what) {
  const n = Number.parseInt(String(v), 10);
  if (!Number.isFinite(n) || n < 1) {
    process.stderr.write(`bench:faults: ${what} must be a positive number, not '${v}'\n`);
    process.exit(2);
  }
  return n;
}

const RUNS = positive(option("runs", "BENCH_FAULT_RUNS", "5"), "--runs");
const KILL_RUNS = positive(option("kill-runs", "BENCH_FAULT_KILL_RUNS", "20"), "--kill-runs");
const WRITE = !process.argv.includes("--no-write");
const SEED = option("seed", "TENANTRY_FAULT_SEED", String(Date.now() % 1_000_000));
const allFiles = readdirSync(join(ROOT, "test", "faults")).filter((f) => f.endsWith(".test.ts")).map((f) => f.replace(/\.test\.ts$/, "")).sort();
const only = option("files", "BENCH_FAULT_FILES", "");
const files = only === "" ? allFiles : only.split(",").map((f) => f.trim()).filter((f) => f !== "");
for (const f of files) {
  if (!allFiles.includes(f)) {
    process.stderr.write(`bench:faults: no test/faults/${f}.test.ts (have: ${allFiles.join(", ")})\n`);
    process.exit(2);
  }
}
if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
  process.stderr.write("bench:faults: dist/ is missing: run `npm run build` (or `npm run bench:faults`)\n");
  process.exit(2);
}

const started = Date.now();
/** HEAD, and whether src/ differs from it (other people may commit while this runs). */
function revision() {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return `${head}${dirty ? " with uncommitted changes in src/" : ""}`;
  } catch {
    return "?";
  }
}
const revisionAtStart = revision();
let distBuilt = "?";
try {
  distBuilt = new Date(statSync(join(ROOT, "dist", "cli", "main.js")).mtimeMs).toISOString().slice(0, 16).replace("T", " ");
} catch {
  // checked above
}
const progress = (msg) => process.stderr.write(`[bench:faults ${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${msg}\n`);
const work = mkdtempSync(join(tmpdir(), "tenantry-bench-faults-"));
const report = join(work, "runs.jsonl");
let child;
for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
  process.once(sig, () => {
    progress(`${sig}: stopping vitest (each fault file stops its own control plane in afterAll)`);
    child?.kill("SIGTERM");
    setTimeout(() => process.exit(code), 15_000).unref();
  });
}

/** Runs vitest on `names` with `runs` runs per row; resolves with the JSON reporter's results. */
function vitest(names, runs) {
  const json = join(work, `vitest-${names.join("-")}.json`);
  const args = [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--project", "faults", "--reporter=default", "--reporter=json", `--outputFile.json=${json}`, ...names.map((n) => `test/faults/${n}.test.ts`)];
  progress(`vitest ${names.join(", ")} with TENANTRY_FAULT_RUNS=${runs}`);
  return new Promise((done) => {
    child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, TENANTRY_FAULT_RUNS: String(runs), TENANTRY_FAULT_REPORT: report, TENANTRY_FAULT_SEED: SEED } });
    child.once("exit", (code) => {
      let results = [];
      try {
        results = JSON.parse(readFileSync(json, "utf8")).testResults ?? [];
      } catch {
        progress(`no JSON results from vitest (exit ${code})`);
      }
      done({ code, results });
    });
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

const s = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "—");

async function main() {
  const tests = [];
  const others = files.filter((f) => f !== "agent-kill");
  if (others.length > 0) tests.push(...(await vitest(others, RUNS)).results);
  if (files.includes("agent-kill")) tests.push(...(await vitest(["agent-kill"], KILL_RUNS)).results);

  // Test name ("describe > it") -> passed?
  const outcome = new Map();
  for (const file of tests) for (const a of file.assertionResults ?? []) outcome.set([...(a.ancestorTitles ?? []), a.title].join(" > "), { passed: a.status === "passed", failure: (a.failureMessages ?? [])[0]?.split("\n")[0] ?? "" });
  const runs = existsSync(report) ? readFileSync(report, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)) : [];

  const known = new Map(ROWS);
  const names = [...ROWS.map(([n]) => n), ...new Set(runs.map((r) => r.row).filter((n) => !known.has(n)))];
  const lines = [];
  const failures = [];
  lines.push("| fault | runs | converged | recovery p50 | recovery max | every assertion held | recovery measured from |");
  lines.push("|---|---:|---:|---:|---:|---|---|");
  for (const name of names) {
    const mine = runs.filter((r) => r.row === name);
    if (mine.length === 0) continue;
    const ok = mine.filter((r) => r.converged && Number.isFinite(r.recoveryMs)).map((r) => r.recoveryMs).sort((a, b) => a - b);
    const verdicts = [...new Set(mine.map((r) => r.test))].map((t) => outcome.get(t)).filter((v) => v !== undefined);
    const held = verdicts.length > 0 && verdicts.every((v) => v.passed);
    if (!held) for (const v of verdicts) if (!v.passed) failures.push(`${name}: ${v.failure.replace(/\x1b\[[0-9;]*m/g, "")}`);
    lines.push(`| ${name} | ${mine.length} | ${ok.length}/${mine.length} | ${s(quantile(ok, 0.5))} | ${s(ok.at(-1) ?? NaN)} | ${verdicts.length === 0 ? "?" : held ? "yes" : "**no**"} | ${known.get(name) ?? ""} |`);
  }
  const revisionAtEnd = revision();
  const commit = revisionAtEnd === revisionAtStart ? revisionAtStart : `${revisionAtStart} (${revisionAtEnd} at the end)`;
  const meta = [
    `Measured by \`npm run bench:faults\` (${RUNS} runs per row, ${KILL_RUNS} SIGKILLs, kill seed ${SEED}) on ${new Date().toISOString().slice(0, 10)} at commit ${commit}, dist/ built ${distBuilt} UTC: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(" ")} (other test suites ran on the machine); ${Math.round((Date.now() - started) / 1000)} s in all.`,
  ];
  const text = [...meta, "", ...lines, ...(failures.length > 0 ? ["", "Assertions that failed:", "", ...failures.map((f) => `- ${f.slice(0, 400)}`)] : [])].join("\n");
  process.stdout.write(`${text}\n`);
  const notes = runs.map((r) => `${r.row}: ${r.converged ? s(r.recoveryMs) : "DID NOT CONVERGE"}${r.note ? ` — ${r.note}` : ""}`);
  process.stdout.write(`\nEach run:\n${notes.map((n) => `  ${n}`).join("\n")}\n`);
  if (WRITE) {
    const doc = readFileSync(DOC, "utf8");
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${DOC} has no ${BEGIN} ... ${END} markers`);
    writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${text}\n${doc.slice(b)}`);
    progress(`wrote the table into ${DOC}`);
  }
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
