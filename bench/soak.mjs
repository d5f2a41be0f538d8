// Soak (issue 17): `tenantry agent` with N team GitSyncs (default 200), each on its own bare
// Git remote, and a push (with its signed webhook) every few seconds for a while (default
// 30 min). Samples the agent's RSS, open file descriptors and threads from /proc, its Node
// handles, resources and heap from its own /metrics (prom-client's process metrics), the
// reconciles and failures it logged, tenantry's scratch directories in its temp dir, and each
// push's time to be applied; prints the series, a small text plot of each, and a summary
// (flat or not, leaked temp dirs, status-update conflicts, pushes never applied). Prints
// figures only: exits 0 unless the soak itself cannot run. It starts its OWN control plane
// (scripts/local-cluster.sh, no Gatekeeper) in a temp dir and stops everything it started.
//
//   npm run bench:soak                          (builds dist/ first; 30 minutes)
//   node bench/soak.mjs --minutes 3 [--teams 200] [--push-every 3] [--sample 10]
//
// Options (or env): --minutes SOAK_MINUTES (30), --teams SOAK_TEAMS (200), --push-every
// SOAK_PUSH_EVERY seconds (3), --sample SOAK_SAMPLE seconds (10), --keep (SOAK_KEEP=1: keep
// the temp dir; the cluster is still stopped). Progress goes to stderr, results to stdout.

import { execFile, execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "tenantry.js");
const CLUSTER_SCRIPT = join(ROOT, "scripts", "local-cluster.sh");
const GIT_ID = ["-c", "user.name=soak", "-c", "user.email=soak@localhost", "-c", "commit.gpgsign=false"];
const HOOK_SECRET = "soak-webhook-token";
/** tenantry's scratch directories: fetch checkouts, ls-remote homes, the build service's home. */
const SCRATCH = /^tenantry-(src|ls|build-home)-/;

function option(name, env, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : process.env[env];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`soak: --${name} must be a positive number, not '${v}'\n`);
    process.exit(2);
  }
  return n;
}

const MINUTES = option("minutes", "SOAK_MINUTES", 30);
const TEAMS = Math.round(option("teams", "SOAK_TEAMS", 200));
const PUSH_EVERY_S = option("push-every", "SOAK_PUSH_EVERY", 3);
const SAMPLE_S = option("sample", "SOAK_SAMPLE", 10);
const KEEP = process.argv.includes("--keep") || process.env.SOAK_KEEP === "1";

const t0 = Date.now();
const progress = (msg) => process.stderr.write(`[soak ${String(Math.round((Date.now() - t0) / 1000)).padStart(5)}s] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const la = () => loadavg().map((l) => l.toFixed(2)).join(" ");

function run(file, args, { env, timeoutMs = 300_000 } = {}) {
  return new Promise((done, fail) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${file} ${args.slice(0, 3).join(" ")}: ${(stderr || err.message).trim().split("\n").slice(-3).join(" | ")}`));
      else done({ stdout, stderr });
    });
  });
}

function git(cwd, ...args) {
  return execFileSync("git", [...GIT_ID, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 }).trim();
}

async function mapLimit(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

// ---- cleanup: everything this soak starts is stopped ----------------------------------

const work = mkdtempSync(join(tmpdir(), "tenantry-soak-"));
const clusterDir = join(work, "cluster");
// The agent gets a temp dir of its own, so what it leaves there is its own (other processes
// on the machine make tenantry scratch dirs in the shared one); so does this process.
const agentTmp = join(work, "agent-tmp");
mkdirSync(agentTmp);
mkdirSync(join(work, "tmp"));
process.env.TMPDIR = join(work, "tmp");
let clusterStarted = false;
let agentChild;
let cleaning;

function cleanup() {
  cleaning ??= (async () => {
    if (agentChild !== undefined && agentChild.exitCode === null && agentChild.signalCode === null) {
      agentChild.kill("SIGKILL");
    }
    if (clusterStarted) {
      progress("stopping the control plane");
      await run("bash", [CLUSTER_SCRIPT, "stop", clusterDir], { timeoutMs: 90_000 }).catch((e) => progress(`WARNING: ${e.message}`));
    }
    if (KEEP) progress(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
  process.once(sig, () => {
    progress(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(code));
  });
}

// ---- the agent's process, seen from outside --------------------------------------------

/** VmRSS and VmHWM (MB) and threads from /proc/PID/status; open descriptors from /proc/PID/fd, by kind. */
function procSample(pid) {
  const out = { rss: NaN, hwm: NaN, threads: NaN, fds: NaN, sockets: NaN, pipes: NaN, files: NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
    out.rss = field("VmRSS") / 1024;
    out.hwm = field("VmHWM") / 1024;
    out.threads = field("Threads");
    const fds = readdirSync(`/proc/${pid}/fd`);
    out.fds = fds.length;
    out.sockets = out.pipes = out.files = 0;
    for (const fd of fds) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (target.startsWith("socket:")) out.sockets++;
      else if (target.startsWith("pipe:")) out.pipes++;
      else out.files++;
    }
  } catch {
    // the process is gone
  }
  return out;
}

/** One Prometheus sample value (the sum over label sets matching `labels`). */
function metric(text, name, labels = "") {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    if (labels !== "" && !rest.includes(labels)) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : NaN;
}

function failuresByReason(text) {
  const out = {};
  for (const m of text.matchAll(/^tenantry_reconcile_failures_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  return out;
}

// ---- plots -----------------------------------------------------------------------------

/** A text plot of `values` (one column per sample, resampled to at most `width`), `height` rows. */
function plot(title, values, unit, { height = 8, width = 72 } = {}) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return [`${title}: no samples`];
  const cols = Math.min(width, values.length);
  const per = values.length / cols;
  const series = Array.from({ length: cols }, (_, i) => {
    const chunk = values.slice(Math.floor(i * per), Math.max(Math.floor(i * per) + 1, Math.floor((i + 1) * per))).filter((x) => Number.isFinite(x));
    return chunk.length === 0 ? NaN : Math.max(...chunk);
  });
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const span = hi - lo || 1;
  const lines = [`${title} (${unit}): min ${fmt(lo)}, max ${fmt(hi)}, first ${fmt(v[0])}, last ${fmt(v.at(-1))}`];
  for (let row = height - 1; row >= 0; row--) {
    const edge = lo + (span * row) / (height - 1);
    const label = row === height - 1 ? fmt(hi) : row === 0 ? fmt(lo) : "";
    lines.push(`${label.padStart(8)} |${series.map((x) => (Number.isFinite(x) && x >= edge - span / (2 * (height - 1)) ? "#" : " ")).join("")}`);
  }
  lines.push(`${"".padStart(8)} +${"-".repeat(cols)} time →`);
  return lines;
}

function fmt(x) {
  if (!Number.isFinite(x)) return "—";
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/** Least-squares slope of `ys` over `xs`, per unit of x. */
function slope(xs, ys) {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length < 2) return NaN;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
  const my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  const num = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

// ---- main ------------------------------------------------------------------------------

const out = [];
const line = (s = "") => out.push(s);

async function main() {
  const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
  const { init } = await import(dist("generate/init.js"));
  const { planCreateTeam } = await import(dist("generate/team.js"));
  const { applyChanges } = await import(dist("repo/changes.js"));
  const { templates } = await import(dist("repo/templates.js"));
  const { buildDir } = await import(dist("build/kustomize.js"));
  const { applyObjects } = await import(dist("cluster/apply.js"));
  const { RestClient } = await import(dist("cluster/rest.js"));
  const { loadAccess } = await import(dist("cluster/access.js"));

  line(`soak: ${TEAMS} team GitSyncs, a push every ${PUSH_EVERY_S} s for ${MINUTES} min, a sample every ${SAMPLE_S} s`);
  line(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, loadavg at start ${la()}`);

  progress(`starting a local control plane in ${clusterDir}`);
  clusterStarted = true;
  const started = await run("bash", [CLUSTER_SCRIPT, "start", clusterDir], { env: { TENANTRY_CLUSTER_TIMEOUT: "240" } });
  const kubeconfig = started.stdout.trim().split("\n").pop();
  const admin = loadAccess(kubeconfig);
  const api = RestClient.forConfig(admin);

  // ---- the teams: an admin repo rendered and applied once, one bare remote per team ----
  const teams = Array.from({ length: TEAMS }, (_, i) => `soak-${String(i).padStart(3, "0")}`);
  const adminRepo = join(work, "admin");
  progress(`admin repo with ${TEAMS} teams; rendering and applying it`);
  await init(templates, adminRepo, { clusterName: "soak", gitUrl: `file://${work}/admin.git`, platformTeam: undefined, policyEngine: "vap" });
  for (const team of teams) applyChanges(adminRepo, planCreateTeam(templates, adminRepo, team, {}).changes);
  const objects = [...(await buildDir(join(adminRepo, "cluster", "common")))];
  await mapLimit(teams, cpus().length, async (team) => {
    objects.push(...(await buildDir(join(adminRepo, "cluster", team))));
  });
  await applyObjects(admin, objects, { force: true });
  // The admin repo's own GitSync points at a remote nobody pushed: suspended, the agent only reads it.
  await api.apply({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: "tenantry-system" }, spec: { suspend: true } }, { fieldManager: "soak", force: true });

  progress(`${TEAMS} team repos with bare remotes, webhook Secrets, GitSyncs`);
  const remotes = join(work, "remotes");
  const repos = join(work, "repos");
  mkdirSync(remotes, { recursive: true });
  mkdirSync(repos, { recursive: true });
  const pushes = new Map(teams.map((t) => [t, 0]));
  const write = (team, n) => {
    const dir = join(repos, team);
    const docs = [0, 1, 2].map((i) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `app-${i}` }, data: { push: String(n), i: String(i) } }));
    writeFileSync(join(dir, "app.yaml"), `${docs.join("\n---\n")}\n`);
  };
  const pushTeam = (team) => {
    const dir = join(repos, team);
    const n = (pushes.get(team) ?? 0) + 1;
    pushes.set(team, n);
    write(team, n);
    git(dir, "add", "--all");
    git(dir, "commit", "--quiet", "-m", `push ${n}`);
    git(dir, "push", "--quiet", "--force", `file://${join(remotes, `${team}.git`)}`, "HEAD:main");
    return git(dir, "rev-parse", "HEAD");
  };
  for (const team of teams) {
    const dir = join(repos, team);
    mkdirSync(dir, { recursive: true });
    git(remotes, "init", "--quiet", "--bare", "--initial-branch=main", `${team}.git`);
    git(dir, "init", "--quiet", "--initial-branch=main");
    writeFileSync(join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - app.yaml\n");
    pushTeam(team);
  }
  await mapLimit(teams, 8, async (team) => {
    await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "webhook", namespace: team }, stringData: { token: HOOK_SECRET } }, { fieldManager: "soak", force: true });
    await api.apply({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team }, spec: { url: `file://${join(remotes, `${team}.git`)}`, interval: "1m", webhookSecretRef: { name: "webhook" } } }, { fieldManager: "soak", force: true });
  });

  // ---- the agent ----
  progress(`starting tenantry agent (all namespaces); loadavg ${la()}`);
  agentChild = spawn(process.execPath, [BIN, "agent", "--kubeconfig", kubeconfig, "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TMPDIR: agentTmp } });
  const pid = agentChild.pid;
  const logs = { lines: 0, reconciled: 0, warn: 0, error: 0, conflicts: 0, lastProblems: [] };
  const portsReady = new Promise((ok, fail) => {
    let buffer = "";
    agentChild.stderr.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        logs.lines++;
        let entry;
        try {
          entry = JSON.parse(text);
        } catch {
          entry = { level: "raw", msg: text };
        }
        if (entry.msg === "agent started") ok({ port: entry.port, metrics: entry.metricsPort });
        if (entry.msg === "reconciled") logs.reconciled++;
        if (entry.level === "warn" || entry.level === "error" || entry.level === "raw") {
          if (entry.level === "error") logs.error++;
          else logs.warn++;
          if (/\b409\b|conflict/i.test(text)) logs.conflicts++;
          logs.lastProblems.push(text.slice(0, 300));
          if (logs.lastProblems.length > 10) logs.lastProblems.shift();
        }
      }
    });
    agentChild.once("exit", (code) => fail(new Error(`the agent exited (${code}) before it started`)));
  });
  const ports = await portsReady;
  const exited = new Promise((r) => agentChild.once("exit", (code, signal) => r(code ?? signal)));

  const gsHeader = (ns) => ({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: ns, namespace: ns } });
  const firstStart = Date.now();
  let last = -1;
  for (;;) {
    const list = await api.listObjects("tenantry.dev/v1alpha1", "GitSync");
    const n = list.items.filter((g) => g.metadata.namespace.startsWith("soak-") && g.status?.lastAppliedRevision !== undefined).length;
    if (n !== last && Math.floor(n / 50) !== Math.floor(last / 50)) progress(`  ${n}/${TEAMS} applied, VmRSS ${procSample(pid).rss.toFixed(0)} MB`);
    last = n;
    if (n >= TEAMS) break;
    if (Date.now() - firstStart > 900_000) throw new Error(`only ${n}/${TEAMS} GitSyncs applied after 15 min`);
    await sleep(1000);
  }
  const firstConverged = (Date.now() - firstStart) / 1000;
  line(`setup: the agent applied all ${TEAMS} GitSyncs ${firstConverged.toFixed(1)} s after its start; the soak starts then`);

  // ---- the soak ----
  const samples = [];
  const latencies = [];
  let pushed = 0;
  let hookFailures = 0;
  let pending = 0;
  const lost = [];
  const soakStart = Date.now();
  const soakEnd = soakStart + MINUTES * 60_000;
  const metricsText = async () => {
    try {
      return await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    } catch {
      return "";
    }
  };
  const takeSample = async () => {
    const p = procSample(pid);
    const m = await metricsText();
    const scratch = readdirSync(agentTmp).filter((n) => SCRATCH.test(n));
    samples.push({
      t: (Date.now() - soakStart) / 1000,
      ...p,
      handles: metric(m, "nodejs_active_handles_total"),
      resources: metric(m, "nodejs_active_resources_total"),
      heap: metric(m, "nodejs_heap_size_used_bytes") / 1024 / 1024,
      reconciles: metric(m, "tenantry_reconcile_duration_seconds_count"),
      failures: m === "" ? NaN : metric(m, "tenantry_reconcile_failures_total") || 0,
      scratch: scratch.length,
      pushed,
      applied: latencies.length,
    });
  };
  const watchApplied = async (team, sha, at) => {
    pending++;
    const want = `main@sha1:${sha}`;
    try {
      for (;;) {
        const gs = await api.readObject(gsHeader(team)).catch(() => undefined);
        const got = gs?.status?.lastAppliedRevision;
        if (got === want) {
          latencies.push(Date.now() - at);
          return;
        }
        if (Date.now() - at > 180_000) {
          lost.push(`${team}@${sha.slice(0, 8)}: last applied ${got ?? "(none)"}`);
          return;
        }
        await sleep(250);
      }
    } finally {
      pending--;
    }
  };
  progress(`soaking for ${MINUTES} min: a push every ${PUSH_EVERY_S} s, a sample every ${SAMPLE_S} s`);
  await takeSample();
  let nextSample = Date.now() + SAMPLE_S * 1000;
  let nextPush = Date.now();
  let turn = 0;
  const watchers = [];
  while (Date.now() < soakEnd) {
    if (Date.now() >= nextPush) {
      nextPush += PUSH_EVERY_S * 1000;
      // Round robin: with 200 teams and a push every 3 s a team is pushed every 10 min, so a
      // push's revision is never superseded before it is applied.
      const team = teams[turn++ % teams.length];
      const at = Date.now();
      const sha = pushTeam(team);
      pushed++;
      const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
      try {
        const res = await fetch(`http://127.0.0.1:${ports.port}/hooks/${team}/${team}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}` },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.text();
        if (res.status !== 202) hookFailures++;
      } catch {
        hookFailures++;
      }
      watchers.push(watchApplied(team, sha, at));
    }
    if (Date.now() >= nextSample) {
      nextSample += SAMPLE_S * 1000;
      await takeSample();
      const s = samples.at(-1);
      progress(`  t=${s.t.toFixed(0)} s: VmRSS ${fmt(s.rss)} MB, fds ${s.fds}, handles ${fmt(s.handles)}, heap ${fmt(s.heap)} MB, reconciles ${fmt(s.reconciles)}, pushes ${pushed} (${latencies.length} applied, ${pending} waiting), scratch dirs ${s.scratch}; loadavg ${la()}`);
    }
    await sleep(Math.max(10, Math.min(nextPush, nextSample) - Date.now()));
  }
  progress(`soak over; waiting for the last pushes to be applied`);
  await Promise.all(watchers);
  await takeSample();
  const finalMetrics = await metricsText();

  progress("stopping the agent (SIGTERM)");
  agentChild.kill("SIGTERM");
  const exitCode = await Promise.race([exited, sleep(45_000).then(() => "did not exit within 45 s")]);
  if (typeof exitCode === "string") agentChild.kill("SIGKILL");
  await sleep(500);
  const scratchAfter = readdirSync(agentTmp).filter((n) => SCRATCH.test(n));
  const byPrefix = {};
  for (const n of scratchAfter) {
    const k = SCRATCH.exec(n)?.[0] ?? n;
    byPrefix[k] = (byPrefix[k] ?? 0) + 1;
  }

  // ---- report ----
  line();
  line(`samples (t s | VmRSS MB | fds: all sockets pipes files | threads | handles | resources | heap MB | reconciles | failures | pushes applied/sent | scratch dirs):`);
  for (const s of samples) {
    line(`  ${fmt(s.t).padStart(6)} | ${fmt(s.rss).padStart(5)} | ${String(s.fds).padStart(4)} ${String(s.sockets).padStart(4)} ${String(s.pipes).padStart(4)} ${String(s.files).padStart(4)} | ${String(s.threads).padStart(3)} | ${fmt(s.handles).padStart(4)} | ${fmt(s.resources).padStart(4)} | ${fmt(s.heap).padStart(5)} | ${fmt(s.reconciles).padStart(6)} | ${fmt(s.failures).padStart(4)} | ${String(s.applied).padStart(4)}/${String(s.pushed).padEnd(4)} | ${s.scratch}`);
  }
  line();
  for (const l of plot("agent VmRSS", samples.map((s) => s.rss), "MB")) line(l);
  line();
  for (const l of plot("agent open file descriptors", samples.map((s) => s.fds), "fds")) line(l);
  line();
  for (const l of plot("agent Node active handles", samples.map((s) => s.handles), "handles")) line(l);
  line();
  for (const l of plot("agent heap used", samples.map((s) => s.heap), "MB")) line(l);
  line();
  const half = samples.filter((s) => s.t >= (MINUTES * 60) / 2);
  const perTenMin = (key) => slope(half.map((s) => s.t), half.map((s) => s[key])) * 600;
  const sorted = [...latencies].sort((a, b) => a - b);
  line(`summary over ${MINUTES} min (${samples.length} samples; trends are least-squares slopes over the second half, per 10 min):`);
  const rss = samples.map((s) => s.rss).filter(Number.isFinite);
  const fds = samples.map((s) => s.fds).filter(Number.isFinite);
  const handles = samples.map((s) => s.handles).filter(Number.isFinite);
  line(`  VmRSS: first ${fmt(rss[0])} MB, last ${fmt(rss.at(-1))} MB, max ${fmt(Math.max(...rss))} MB, trend ${fmt(perTenMin("rss"))} MB/10 min; VmHWM ${fmt(samples.at(-1)?.hwm)} MB`);
  line(`  heap used: first ${fmt(samples[0]?.heap)} MB, last ${fmt(samples.at(-1)?.heap)} MB, trend ${fmt(perTenMin("heap"))} MB/10 min`);
  line(`  open fds: first ${fds[0]}, last ${fds.at(-1)}, max ${Math.max(...fds)}, trend ${fmt(perTenMin("fds"))}/10 min; Node handles: first ${fmt(handles[0])}, last ${fmt(handles.at(-1))}, max ${fmt(Math.max(...handles))}`);
  line(`  reconciles: ${fmt(samples.at(-1)?.reconciles)} (agent log: ${logs.reconciled} reconciled, ${logs.warn} warn, ${logs.error} error lines); failures by reason: ${JSON.stringify(failuresByReason(finalMetrics))}`);
  line(`  pushes: ${pushed} sent, ${latencies.length} applied, ${lost.length} never applied within 180 s, ${hookFailures} webhook answers not 202; push -> applied p50 ${fmt(quantile(sorted, 0.5) / 1000)} s, p90 ${fmt(quantile(sorted, 0.9) / 1000)} s, max ${fmt((sorted.at(-1) ?? NaN) / 1000)} s`);
  line(`  status-update conflicts (409 / "conflict" in warn or error lines of the agent's log): ${logs.conflicts}`);
  line(`  tenantry scratch dirs in the agent's own TMPDIR: ${samples.at(-1)?.scratch ?? "?"} while the agent ran (max ${Math.max(...samples.map((s) => s.scratch))}); left after it exited: ${scratchAfter.length} ${JSON.stringify(byPrefix)}`);
  line(`  agent exit on SIGTERM: ${String(exitCode)}`);
  if (lost.length > 0) line(`  never applied: ${lost.slice(0, 5).join("; ")}`);
  if (logs.lastProblems.length > 0) line(`  last warn/error lines: ${logs.lastProblems.slice(-3).join(" || ")}`);
  line(`loadavg at end: ${la()}; soak wall time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

let failed;
try {
  await main();
} catch (e) {
  failed = e;
  progress(`FAILED: ${e.stack ?? e}`);
}
await cleanup();
process.stdout.write(`${out.join("\n")}\n`);
process.exit(failed === undefined ? 0 : 1);
