// Side by side (issue 18): the same admin repo of N teams (default 200), on one local control
// plane in one run, synced once by Flux's source-controller + kustomize-controller and once by
// tenantry's agent. For each engine:
//   1. cold apply to Ready: from the push of the admin repo holding all N team overlays until the
//      admin sync and every team's sync object is Ready at its repo's commit;
//   2. no-op resync: every sync object is asked to run again with nothing changed; the write
//      requests that reach the API server meanwhile (a real validating admission webhook that
//      records every CREATE/UPDATE/DELETE, dry runs apart) and the objects whose
//      resourceVersion moved;
//   3. push->applied p50/p99 over BENCH_PUSHES team pushes, each with its trigger: tenantry's
//      signed webhook to the agent, Flux's `reconcile.fluxcd.io/requestedAt` annotation on the
//      team's GitRepository and Kustomization (what Flux's Receiver does);
//   4. peak RSS of the engine's processes (tenantry: the agent and its children; Flux: both
//      controllers), sampled from /proc every 250 ms, and each process's VmHWM.
// Flux runs first, then its controllers are stopped and tenantry's agent runs; each engine has
// its own team names (tf-*, tt-*), admin repo and team repos. Team repos are served over SSH by
// a real sshd (the tests' pattern: the `git` user, git-shell) since Flux takes ssh:// and
// http(s):// only; both engines fetch them the same way.
//
// It starts its OWN control plane (scripts/local-cluster.sh start DIR --with-flux) in a temp dir,
// stops it and every process it started, and removes the temp dir. Prints progress on stderr
// and the table on stdout, and writes the table into docs/engines.md between its markers
// (section "Side by side"; --no-write or BENCH_NO_WRITE=1 leaves the doc alone). Prints
// figures only: exits 0 unless the bench itself cannot run.
//
//   npm run bench:engines                          (builds dist/ first)
//   BENCH_TEAMS=20 BENCH_PUSHES=10 node bench/engines.mjs --no-write
//
// Env: BENCH_TEAMS      teams per engine (default 200)
//      BENCH_PUSHES     team pushes for the latency (default 30)
//      BENCH_ENGINES    which engines, in order (default "flux,tenantry")
//      BENCH_TIMEOUT_S  the whole run is abandoned (and cleaned up) after this (default 3600)
//      BENCH_KEEP=1     keep the temp dir (its path is printed); processes are still stopped

import { execFile, execFileSync, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "tenantry.js");
const CLUSTER_SCRIPT = join(ROOT, "scripts", "local-cluster.sh");
const DOC = join(ROOT, "docs", "engines.md");
const BEGIN = "<!-- engines-table:begin (bench/engines.mjs writes this part) -->";
const END = "<!-- engines-table:end -->";
const TEAMS = intEnv("BENCH_TEAMS", 200);
const PUSHES = intEnv("BENCH_PUSHES", 30);
const TIMEOUT_S = intEnv("BENCH_TIMEOUT_S", 3600);
const ENGINES = (process.env.BENCH_ENGINES ?? "flux,tenantry").split(",").map((s) => s.trim()).filter((s) => s === "flux" || s === "tenantry");
const WRITE = !process.argv.includes("--no-write") && process.env.BENCH_NO_WRITE !== "1";
const HOOK_SECRET = "bench-webhook-token";
const GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"];
const KS = "kustomize.toolkit.fluxcd.io/v1";
const GR = "source.toolkit.fluxcd.io/v1";
const GS = "tenantry.dev/v1alpha1";
const SAMPLE_MS = 250;

function intEnv(name, fallback) {
  const v = Number.parseInt(process.env[name] ?? "", 10);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const benchStart = performance.now();
const elapsed = () => `${((performance.now() - benchStart) / 1000).toFixed(0).padStart(4)}s`;
const la = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const progress = (msg) => process.stderr.write(`[engines ${elapsed()}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sec = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : "—");

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}

function run(file, args, { cwd, env, timeoutMs = 120_000 } = {}) {
  return new Promise((done, fail) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) {
        err.message = `${file} ${args.slice(0, 4).join(" ")}: ${(stderr || stdout || err.message).trim().split("\n").slice(-6).join(" | ")}`;
        err.stdout = stdout;
        err.stderr = stderr;
        fail(err);
      } else done({ stdout, stderr });
    });
  });
}

let gitSshCommand = "";
function git(cwd, ...args) {
  try {
    return gitRaw(cwd, ...args);
  } catch (e) {
    throw new Error(`git ${args.join(" ").slice(0, 200)} (in ${cwd}): ${String(e.stderr ?? e.message).trim().slice(0, 500)}`);
  }
}
function gitRaw(cwd, ...args) {
  return execFileSync("git", [...GIT_ID, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000, env: { ...process.env, GIT_SSH_COMMAND: gitSshCommand, GIT_TERMINAL_PROMPT: "0" } }).trim();
}

/** Commits everything in `dir`, if anything changed. */
function commitAll(dir, message) {
  git(dir, "add", "--all");
  if (git(dir, "status", "--porcelain") !== "") git(dir, "commit", "--quiet", "-m", message);
}

async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function waitUntil(what, probe, timeoutMs, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// ---- /proc ---------------------------------------------------------------------------------

let CLK_TCK = 100;
try {
  CLK_TCK = Number.parseInt(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim(), 10) || 100;
} catch {
  // 100 on every Linux this runs on
}

/** CPU seconds of a process: its own (user+sys) and its waited-for children's. */
function procCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return { own: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK };
  } catch {
    return { own: NaN, children: NaN };
  }
}

function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** `pid` and all its descendants (from /proc/<pid>/task/<pid>/children). */
function tree(pid) {
  const out = [];
  const walk = (p) => {
    out.push(p);
    try {
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/)) if (c !== "") walk(Number(c));
    } catch {
      // gone
    }
  };
  walk(pid);
  return out;
}

/** Samples the summed VmRSS of `roots()` (each with its descendants when `withChildren`) every SAMPLE_MS. */
function rssSampler(roots, withChildren) {
  let peak = 0;
  let peakChildren = 0;
  let maxChildren = 0;
  let atPeak = "";
  const comm = (p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").trim();
    } catch {
      return "?";
    }
  };
  const timer = setInterval(() => {
    let sum = 0;
    let kids = 0;
    let n = 0;
    const by = new Map();
    for (const r of roots()) {
      const pids = withChildren ? tree(r) : [r];
      for (const p of pids) {
        const v = procStatus(p).rss;
        if (!Number.isFinite(v)) continue;
        sum += v;
        const c = comm(p);
        const e = by.get(c) ?? { n: 0, mb: 0 };
        by.set(c, { n: e.n + 1, mb: e.mb + v });
        if (p !== r) {
          kids += v;
          n++;
        }
      }
    }
    if (sum > peak) atPeak = [...by].sort((a, b) => b[1].mb - a[1].mb).map(([c, e]) => `${c} x${e.n} ${e.mb.toFixed(0)} MB`).join(", ");
    peak = Math.max(peak, sum);
    peakChildren = Math.max(peakChildren, kids);
    maxChildren = Math.max(maxChildren, n);
  }, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return { peak, peakChildren, maxChildren, atPeak };
    },
  };
}

// ---- cleanup: every process this bench starts is stopped -----------------------------------

const work = mkdtempSync(join(tmpdir(), "tenantry-bench-engines-"));
chmodSync(work, 0o755); // the sshd's git user reads the repos below it
const clusterDir = join(work, "cluster");
const children = new Set();
let clusterStarted = false;
let cleaning;
const cleanups = [];

function cleanup() {
  cleaning ??= (async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (e) {
        progress(`WARNING: cleanup step failed: ${e.message}`);
      }
    }
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      progress(`stopping leftover process ${c.pid}`);
      c.kill("SIGTERM");
      const gone = await Promise.race([new Promise((r) => c.once("exit", () => r(true))), sleep(5000).then(() => false)]);
      if (!gone) c.kill("SIGKILL");
    }
    if (clusterStarted) {
      progress("stopping the control plane");
      try {
        execFileSync("bash", [CLUSTER_SCRIPT, "stop", clusterDir], { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
      } catch (e) {
        progress(`WARNING: local-cluster.sh stop failed: ${e.message}`);
      }
    }
    if (process.env.BENCH_KEEP === "1") progress(`kept ${work}`);
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
setTimeout(() => {
  progress(`BENCH_TIMEOUT_S=${TIMEOUT_S} reached: abandoning the run`);
  void cleanup().finally(() => process.exit(3));
}, TIMEOUT_S * 1000).unref();

// ---- sshd (test/helpers/sshd.ts, in plain JS) ----------------------------------------------

async function startSshd() {
  const user = execFileSync("getent", ["passwd", "git"], { encoding: "utf8" }).trim().split(":");
  if (user[6] !== "/usr/bin/git-shell") throw new Error("user git with login shell /usr/bin/git-shell is needed (see test/helpers/sshd.ts)");
  const uid = Number(user[2]);
  const gid = Number(user[3]);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = join(work, "sshd");
  const etc = join(dir, "etc");
  const repos = join(dir, "repos");
  const client = join(dir, "client");
  mkdirSync(etc, { recursive: true, mode: 0o700 });
  mkdirSync(repos, { recursive: true, mode: 0o755 });
  mkdirSync(client, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o755);
  execFileSync("chown", [`${uid}:${gid}`, repos]);
  const authorizedKeys = join(dir, "authorized_keys");
  const writerKey = join(client, "writer");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench-writer", "-f", writerKey]);
  writeFileSync(authorizedKeys, `restrict ${readFileSync(`${writerKey}.pub`, "utf8").trim()}\n`, { mode: 0o644 });
  const hostKey = join(etc, "ssh_host_ed25519_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench-host", "-f", hostKey]);
  const port = await freePort();
  const config = join(etc, "sshd_config");
  writeFileSync(
    config,
    [
      "ListenAddress 127.0.0.1",
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "AuthorizedKeysCommand none",
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin no",
      "AllowUsers git",
      "PidFile none",
      "LogLevel ERROR",
      // 2 x N fetches at once under a cold apply: sshd's default (10:30:100) drops the excess.
      "MaxStartups 200:30:400",
      "",
    ].join("\n"),
  );
  const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  let log = "";
  child.stderr.on("data", (c) => {
    log = (log + c.toString("utf8")).slice(-20_000);
  });
  // LogLevel ERROR prints no "listening" line: wait for the port.
  await waitUntil("sshd to listen", () => new Promise((ok) => {
    const s = createNetServer();
    s.once("error", () => ok(true));
    s.listen(port, "127.0.0.1", () => s.close(() => ok(false)));
  }).then((inUse) => (child.exitCode !== null ? Promise.reject(new Error(`sshd exited: ${log}`)) : inUse)), 10_000, 100);
  const [type, data] = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/);
  const knownHostsLine = `[127.0.0.1]:${port} ${type} ${data}`;
  const knownHosts = join(client, "known_hosts");
  writeFileSync(knownHosts, `${knownHostsLine}\n`);
  gitSshCommand = `ssh -F /dev/null -i ${writerKey} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=20`;
  return {
    port,
    repos,
    authorizedKeys,
    knownHosts,
    knownHostsLine,
    log: () => log,
    url: (name) => `ssh://git@127.0.0.1:${port}${join(repos, `${name}.git`)}`,
    bare: (name) => {
      const path = join(repos, `${name}.git`);
      execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path]);
      return path;
    },
    chownRepos: () => execFileSync("chown", ["-R", `${uid}:${gid}`, repos]),
  };
}

// ---- an audit of write requests: a real validating admission webhook -----------------------

async function startWriteAudit(api) {
  const dir = join(work, "audit-pki");
  mkdirSync(dir, { recursive: true });
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=bench audit CA", "-keyout", "ca.key", "-out", "ca.crt");
  ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt");
  const writes = [];
  const server = createHttpsServer({ key: readFileSync(join(dir, "server.key")), cert: readFileSync(join(dir, "server.crt")) }, (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let r = {};
      try {
        r = JSON.parse(Buffer.concat(chunks).toString("utf8")).request ?? {};
      } catch {
        // not a review
      }
      writes.push({ at: performance.now(), op: r.operation ?? "", resource: r.resource?.resource ?? "", group: r.resource?.group ?? "", sub: r.subResource ?? "", namespace: r.namespace ?? "", name: r.name ?? "", user: r.userInfo?.username ?? "", dryRun: r.dryRun === true });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: r.uid, allowed: true } }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const header = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "bench-write-audit" } };
  await api.apply(
    {
      ...header,
      webhooks: [
        {
          name: "write-audit.bench.tenantry.test",
          admissionReviewVersions: ["v1"],
          sideEffects: "None", // so dry runs are sent too (and marked)
          failurePolicy: "Ignore",
          timeoutSeconds: 5,
          clientConfig: { url: `https://127.0.0.1:${server.address().port}/validate`, caBundle: Buffer.from(readFileSync(join(dir, "ca.crt"))).toString("base64") },
          rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE", "UPDATE", "DELETE"], resources: ["*/*"], scope: "*" }],
        },
      ],
    },
    { fieldManager: "bench", force: true },
  );
  const close = async () => {
    await api.deleteObject(header).catch(() => undefined);
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r()));
  };
  cleanups.push(close);
  await waitUntil("the audit webhook to be called", async () => {
    await api.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bench-audit-probe", namespace: "default" } }, { fieldManager: "bench", dryRun: true }).catch(() => undefined);
    return writes.some((w) => w.name === "bench-audit-probe") ? true : undefined;
  }, 30_000, 250);
  return { writes, close };
}

// ---- the tenantry agent as a process ---------------------------------------------------------

async function startAgent(args, env) {
  const child = spawn(process.execPath, [BIN, "agent", "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  children.add(child);
  const logs = [];
  let buffer = "";
  const exited = new Promise((r) => child.once("exit", (code, signal) => r(code ?? signal)));
  const port = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`agent did not start within 60 s: ${buffer.slice(0, 500)}`)), 60_000);
    child.stderr.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let entry;
        try {
          entry = JSON.parse(text);
        } catch {
          entry = { raw: text };
        }
        entry.at = performance.now();
        logs.push(entry);
        if (entry.msg === "agent started") {
          clearTimeout(timer);
          ok(entry.port);
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`agent exited with ${code} before it started: ${buffer.slice(0, 500)}`));
    });
  });
  return {
    child,
    port,
    logs,
    async stop() {
      child.kill("SIGTERM");
      const r = await Promise.race([exited, sleep(40_000).then(() => "timeout")]);
      if (r === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
      children.delete(child);
    },
  };
}

// ---- main ------------------------------------------------------------------------------------

const out = [];
const line = (s = "") => out.push(s);

async function main() {
  const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
  if (!existsSync(join(ROOT, "dist", "cluster", "rest.js"))) throw new Error("dist/ is missing: run `npm run build` (or `npm run bench:engines`)");
  const { planCreateTeam } = await import(dist("generate/team.js"));
  const { applyChanges } = await import(dist("repo/changes.js"));
  const { templates } = await import(dist("repo/templates.js"));
  const { renderTeamRepo } = await import(dist("render/repos.js"));
  const { generatedVersions: versions } = await import(dist("toolchain.js"));
  const { RestClient } = await import(dist("cluster/rest.js"));
  const { loadAccess } = await import(dist("cluster/access.js"));

  const fluxVersion = /FLUX_VERSION=(\S+)/.exec(readFileSync(join(ROOT, "tools", "versions.env"), "utf8"))?.[1] ?? "?";
  const meta = {
    started: new Date().toISOString(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    node: process.version,
    laStart: la(),
    commit: (() => {
      try {
        return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
      } catch {
        return "?";
      }
    })(),
    fluxVersion,
  };
  progress(`BENCH_TEAMS=${TEAMS} BENCH_PUSHES=${PUSHES} engines ${ENGINES.join(", ")}; ${meta.cores} cores, loadavg ${meta.laStart}`);

  // ---- control plane with Flux's controllers ----
  progress(`starting a local control plane with Flux in ${clusterDir}`);
  let t0 = performance.now();
  clusterStarted = true;
  const started = await run("bash", [CLUSTER_SCRIPT, "start", clusterDir, "--with-flux"], { env: { TENANTRY_CLUSTER_TIMEOUT: "300" }, timeoutMs: 1_200_000 });
  const kubeconfig = started.stdout.trim().split("\n").pop();
  progress(`control plane ready in ${sec(performance.now() - t0)} s: ${kubeconfig}`);
  const admin = loadAccess(kubeconfig);
  const api = RestClient.forConfig(admin);
  const adminUser = await api.whoami().catch(() => "?");
  const pidOf = (c) => Number.parseInt(readFileSync(join(clusterDir, "pids", `${c}.pid`), "utf8").trim(), 10);
  const cp = { apiserver: pidOf("kube-apiserver"), etcd: pidOf("etcd"), kcm: pidOf("kube-controller-manager") };

  const sshd = await startSshd();
  progress(`sshd on 127.0.0.1:${sshd.port}`);
  // One deploy key for every team sync of both engines (read access to every repo; a bench).
  const deployKey = join(work, "sshd", "client", "deploy");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench-deploy", "-f", deployKey]);
  appendFileSync(sshd.authorizedKeys, `restrict ${readFileSync(`${deployKey}.pub`, "utf8").trim()}\n`);
  const keyData = { identity: readFileSync(deployKey, "utf8"), "identity.pub": readFileSync(`${deployKey}.pub`, "utf8"), known_hosts: `${sshd.knownHostsLine}\n` };

  const results = {};
  for (const engine of ENGINES) {
    try {
      results[engine] = await runEngine(engine);
    } catch (e) {
      progress(`${engine} FAILED: ${e.stack ?? e}`);
      results[engine] = { engine, error: e.message, teamNames: Array.from({ length: TEAMS }, (_, i) => `${engine === "flux" ? "tf" : "tt"}-${String(i).padStart(Math.max(3, String(TEAMS - 1).length), "0")}`) };
    }
    if (engine === "flux") {
      // Nothing of Flux runs while the other engine is measured.
      for (const c of ["kustomize-controller", "source-controller"]) {
        await run("bash", [CLUSTER_SCRIPT, "stop-component", clusterDir, c], { timeoutMs: 60_000 }).catch((e) => progress(`WARNING: stop-component ${c}: ${e.message}`));
      }
      progress("Flux's controllers stopped");
      // The local control plane's Service range is small (a /24): the first engine's team
      // Services (one per team repo) would leave none for the second. Nothing recreates them now.
      const flux = results.flux?.teamNames ?? [];
      await mapLimit(flux, 8, (ns) => api.deleteObject({ apiVersion: "v1", kind: "Service", metadata: { name: "podinfo", namespace: ns } }).catch(() => undefined));
      progress(`deleted the Services of the ${flux.length} Flux teams`);
    }
  }
  meta.laEnd = la();
  return { meta, results };

  // ---------------------------------------------------------------------------------------------

  async function runEngine(engine) {
    const prefix = engine === "flux" ? "tf" : "tt";
    const width = Math.max(3, String(TEAMS - 1).length);
    const teams = Array.from({ length: TEAMS }, (_, i) => `${prefix}-${String(i).padStart(width, "0")}`);
    const r = { engine, teams: TEAMS, laStart: la(), teamNames: teams };
    progress(`==== ${engine}: ${TEAMS} teams ${teams[0]}..${teams.at(-1)}; loadavg ${r.laStart}`);
    const dir = join(work, engine);
    mkdirSync(dir, { recursive: true });

    // ---- the admin repo (no teams yet) and its bootstrap ----
    const adminName = `admin-${engine}`;
    sshd.bare(adminName);
    const adminUrl = sshd.url(adminName);
    const adminRepo = join(dir, "admin");
    await run(process.execPath, [BIN, "init", adminRepo, "--engine", engine, "--cluster-name", `bench-${engine}`, "--git-url", adminUrl, "--policy-engine", "vap"], { timeoutMs: 120_000 });
    if (engine === "tenantry") {
      // The admin GitSync takes webhooks too (the trigger of the cold apply and the resync).
      const f = join(adminRepo, "cluster", "common", "sync.yaml");
      const text = readFileSync(f, "utf8");
      const edited = text.replace(/^(  secretRef:\n    name: admin-deploy-key\n)/m, "$1  webhookSecretRef:\n    name: admin-webhook\n");
      if (edited === text) throw new Error(`cannot add webhookSecretRef to ${f}`);
      writeFileSync(f, edited);
    }
    // init commits the repo it creates (older versions did not).
    if (!existsSync(join(adminRepo, ".git"))) git(adminRepo, "init", "--quiet", "--initial-branch=main");
    commitAll(adminRepo, "init");
    sshd.chownRepos();
    git(adminRepo, "push", "--quiet", adminUrl, "HEAD:main");

    let agent;
    const enginePids = () => (engine === "flux" ? [pidOf("source-controller"), pidOf("kustomize-controller")] : agent === undefined ? [] : [agent.child.pid]);
    if (engine === "tenantry") {
      // The agent of every namespace (cluster/common/agent.yaml's role, with the admin's kubeconfig),
      // impersonating each team's ServiceAccount for its GitSync: one process, like Flux's two.
      // Spacing 0: a webhook runs its GitSync at once (this measures the pipeline).
      mkdirSync(join(work, "tmp"), { recursive: true });
      agent = await startAgent(["--kubeconfig", kubeconfig, "--trigger-spacing", "0"], { TMPDIR: join(work, "tmp") });
      progress(`tenantry agent pid ${agent.child.pid}, webhooks on ${agent.port}`);
    }
    const sampler = rssSampler(enginePids, engine === "tenantry");

    progress(`bootstrap (${engine})`);
    t0 = performance.now();
    try {
      const b = await run(process.execPath, [BIN, "bootstrap", "--kubeconfig", kubeconfig, "--admin-repo", adminRepo, "--host", "ssh", "--authorized-keys", sshd.authorizedKeys, "--known-hosts", sshd.knownHosts, "--timeout", "5m"], { cwd: adminRepo, timeoutMs: 420_000 });
      progress(`  bootstrap done in ${sec(performance.now() - t0)} s: ${b.stdout.trim().split("\n").slice(-3).join(" | ")}`);
      r.bootstrap = `${sec(performance.now() - t0)} s`;
    } catch (e) {
      progress(`  bootstrap FAILED: ${e.message}`);
      r.bootstrap = `failed: ${e.message.slice(0, 300)}`;
      throw e;
    }
    chmodSync(sshd.authorizedKeys, 0o644);

    // ---- team repos, namespaces and deploy-key Secrets ----
    progress(`${TEAMS} team repos (the create-team scaffold + bench.yaml), pushed to their bare remotes`);
    const teamDirs = join(dir, "teams");
    mkdirSync(teamDirs, { recursive: true });
    const plans = new Map();
    for (const team of teams) {
      const plan = planCreateTeam(templates, adminRepo, team, {});
      applyChanges(adminRepo, plan.changes);
      plans.set(team, plan);
    }
    if (engine === "tenantry") {
      for (const team of teams) {
        const f = join(adminRepo, "cluster", team, "sync.yaml");
        const text = readFileSync(f, "utf8");
        const edited = text.replace(new RegExp(`^(  secretRef:\\n    name: ${team}-deploy-key\\n)`, "m"), "$1  webhookSecretRef:\n    name: webhook\n");
        if (edited === text) throw new Error(`cannot add webhookSecretRef to ${f}`);
        writeFileSync(f, edited);
      }
    }
    const teamSha = new Map();
    const writeBench = (team, n) => writeFileSync(join(teamDirs, team, "bench.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-push\ndata:\n  push: "${n}"\n`);
    for (const team of teams) {
      const repo = join(teamDirs, team);
      mkdirSync(repo, { recursive: true });
      applyChanges(repo, { writes: renderTeamRepo(templates, plans.get(team).config, plans.get(team).spec, versions()), deletes: [] });
      const k = readFileSync(join(repo, "kustomization.yaml"), "utf8");
      const withBench = k.replace(/^resources:\n/m, "resources:\n  - bench.yaml\n");
      if (withBench === k) throw new Error(`cannot add bench.yaml to ${repo}/kustomization.yaml`);
      writeFileSync(join(repo, "kustomization.yaml"), withBench);
      writeBench(team, 0);
      const bare = sshd.bare(team);
      git(repo, "init", "--quiet", "--initial-branch=main");
      git(repo, "add", "--all");
      git(repo, "commit", "--quiet", "-m", "scaffold");
      git(repo, "push", "--quiet", `file://${bare}`, "HEAD:main");
      teamSha.set(team, git(repo, "rev-parse", "HEAD"));
    }
    sshd.chownRepos();
    const expectUrl = plans.get(teams[0]).spec.repoUrl;
    if (expectUrl !== sshd.url(teams[0])) throw new Error(`team repo URL ${expectUrl} is not the bench's remote ${sshd.url(teams[0])}`);
    // What `tenantry keys create` + `keys known-hosts` would leave: each team's deploy-key Secret
    // (before the push, so no engine meets a missing Secret and backs off), and for tenantry the
    // webhook Secret. The Namespaces are created bare here for that; the admin sync labels them.
    progress(`${TEAMS} Namespaces with their deploy-key Secrets`);
    await mapLimit(teams, 8, async (team) => {
      // Created (POST), not applied: an object without managedFields that meets its first
      // server-side apply gets a `before-first-apply` entry, which kustomize-controller merges
      // into its own and re-applies on every run (2 writes per Namespace per resync, seen here).
      await api.createObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: team, labels: { "tenantry.test/bench": "pre-created" } } }, { fieldManager: "bench" });
      await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: `${team}-deploy-key`, namespace: team }, stringData: keyData }, { fieldManager: "bench", force: true });
      if (engine === "tenantry") await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "webhook", namespace: team }, stringData: { token: HOOK_SECRET } }, { fieldManager: "bench", force: true });
    });
    if (engine === "tenantry") await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "admin-webhook", namespace: "tenantry-system" }, stringData: { token: HOOK_SECRET } }, { fieldManager: "bench", force: true });
    commitAll(adminRepo, `${TEAMS} teams`);

    // ---- sync objects and triggers ----
    const adminRef = engine === "flux" ? { ns: "flux-system", name: "flux-system" } : { ns: "tenantry-system", name: "admin" };
    const cond = (o) => o?.status?.conditions?.find((c) => c.type === "Ready");
    const applied = (o, sha) => cond(o)?.status === "True" && (o?.status?.lastAppliedRevision ?? "").endsWith(sha);
    const listSync = async () => (engine === "flux" ? (await api.listObjects(KS, "Kustomization")).items : (await api.listObjects(GS, "GitSync")).items);
    const readSync = (ns, name) => api.readObject({ apiVersion: engine === "flux" ? KS : GS, kind: engine === "flux" ? "Kustomization" : "GitSync", metadata: { name, namespace: ns } });
    let nonce = 0;
    /** Flux: the requestedAt annotation (GitRepository, then Kustomization); tenantry: a signed GitHub push webhook. */
    const trigger = async (ns, name, sha) => {
      if (engine === "flux") {
        const token = `${new Date().toISOString()}-${++nonce}`;
        const patch = { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": token } } };
        await api.mergePatch({ apiVersion: GR, kind: "GitRepository", metadata: { name, namespace: ns } }, patch);
        await api.mergePatch({ apiVersion: KS, kind: "Kustomization", metadata: { name, namespace: ns } }, patch);
        return token;
      }
      const body = JSON.stringify({ ref: "refs/heads/main", after: sha, repository: { full_name: `bench/${name}` }, bench: ++nonce });
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`http://127.0.0.1:${agent.port}/hooks/${ns}/${name}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}` },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (res.status === 202) return undefined;
        if (res.status === 503 && attempt < 20) {
          await sleep(200);
          continue;
        }
        throw new Error(`webhook ${ns}/${name}: ${res.status} ${text.slice(0, 200)}`);
      }
    };
    const cpuMark = () => {
      const pids = enginePids();
      const e0 = pids.map((p) => procCpu(p));
      const a0 = procCpu(cp.apiserver).own;
      const d0 = procCpu(cp.etcd).own;
      const k0 = procCpu(cp.kcm).own;
      return () => {
        const e1 = pids.map((p) => procCpu(p));
        return {
          engine: e1.reduce((s, c, i) => s + (c.own - e0[i].own) + (c.children - e0[i].children), 0),
          engineChildren: e1.reduce((s, c, i) => s + (c.children - e0[i].children), 0),
          apiserver: procCpu(cp.apiserver).own - a0,
          etcd: procCpu(cp.etcd).own - d0,
          kcm: procCpu(cp.kcm).own - k0,
        };
      };
    };

    // ---- 1. cold apply ----
    progress(`1. cold apply: pushing the admin repo with ${TEAMS} team overlays; loadavg ${la()}`);
    const adminSha = git(adminRepo, "rev-parse", "HEAD");
    const cpu1 = cpuMark();
    t0 = performance.now();
    git(adminRepo, "push", "--quiet", adminUrl, "HEAD:main");
    const tPushed = performance.now();
    await trigger(adminRef.ns, adminRef.name, adminSha);
    const readyAt = new Map();
    let adminAt = NaN;
    let lastN = -1;
    await waitUntil(
      `the admin sync and ${TEAMS} team syncs Ready`,
      async () => {
        const items = await listSync();
        const now = performance.now();
        for (const o of items) {
          const ns = o.metadata.namespace;
          if (ns === adminRef.ns && o.metadata.name === adminRef.name) {
            if (Number.isNaN(adminAt) && applied(o, adminSha)) adminAt = now - t0;
          } else if (teamSha.has(ns) && o.metadata.name === ns && !readyAt.has(ns) && applied(o, teamSha.get(ns))) readyAt.set(ns, now - t0);
        }
        const n = readyAt.size;
        if (n !== lastN && (n === TEAMS || Math.floor(n / Math.max(1, Math.ceil(TEAMS / 8))) !== Math.floor(lastN / Math.max(1, Math.ceil(TEAMS / 8))))) progress(`  ${sec(now - t0)} s: admin ${Number.isNaN(adminAt) ? "not yet" : `applied at ${sec(adminAt)} s`}, ${n}/${TEAMS} teams Ready; loadavg ${la()}`);
        lastN = n;
        return !Number.isNaN(adminAt) && n >= TEAMS;
      },
      1_800_000,
      500,
    ).catch(async (e) => {
      const items = await listSync().catch(() => []);
      const notReady = items.filter((o) => teamSha.has(o.metadata.namespace) && !readyAt.has(o.metadata.namespace)).slice(0, 3);
      throw new Error(`${e.message}; e.g. ${notReady.map((o) => `${o.metadata.namespace}: ${JSON.stringify(cond(o) ?? null)}`).join("; ")}`);
    });
    r.cold = { total: performance.now() - t0, push: tPushed - t0, admin: adminAt, firstTeam: Math.min(...readyAt.values()), medianTeam: quantile([...readyAt.values()].sort((a, b) => a - b), 0.5), cpu: cpu1() };
    progress(`  cold apply: ${sec(r.cold.total)} s (admin applied at ${sec(adminAt)} s, first team ${sec(r.cold.firstTeam)} s); CPU s engine ${r.cold.cpu.engine.toFixed(1)} / apiserver ${r.cold.cpu.apiserver.toFixed(1)} / etcd ${r.cold.cpu.etcd.toFixed(1)} / controller-manager ${r.cold.cpu.kcm.toFixed(1)}`);
    if (engine === "flux") {
      // The GitRepositories' Ready (fetch) and how long kustomize-controller spent on the admin repo.
      const k = await readSync(adminRef.ns, adminRef.name);
      r.adminInventory = k.status?.inventory?.entries?.length;
    } else {
      const a = agent.logs.filter((l) => l.msg === "reconciled" && l.gitsync === "tenantry-system/admin" && l.revision?.endsWith(adminSha));
      r.adminRun = a[0]?.seconds;
      r.adminInventory = (await readSync(adminRef.ns, adminRef.name)).status?.inventory?.entries?.length;
      const teamRuns = agent.logs.filter((l) => l.msg === "reconciled" && teamSha.has(l.gitsync?.split("/")[0] ?? ""));
      r.teamRun = stats(teamRuns.map((l) => l.seconds * 1000));
    }

    // Let the cluster settle (controller-manager: ReplicaSets, Pods, default SAs; the engines' follow-ups).
    await sleep(5000);

    // ---- 2. no-op resync ----
    progress(`2. no-op resync of the admin sync and ${TEAMS} team syncs, writes audited; loadavg ${la()}`);
    const audit = await startWriteAudit(api);
    const rvKinds = [
      ["v1", "Namespace"], ["v1", "ConfigMap"], ["v1", "Secret"], ["v1", "ServiceAccount"], ["v1", "Service"], ["v1", "ResourceQuota"], ["v1", "LimitRange"],
      ["apps/v1", "Deployment"], ["rbac.authorization.k8s.io/v1", "Role"], ["rbac.authorization.k8s.io/v1", "RoleBinding"], ["rbac.authorization.k8s.io/v1", "ClusterRole"], ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
      ["networking.k8s.io/v1", "NetworkPolicy"], ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"], ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"],
      ["apiextensions.k8s.io/v1", "CustomResourceDefinition"],
      ...(engine === "flux" ? [[GR, "GitRepository"], [KS, "Kustomization"]] : [[GS, "GitSync"]]),
    ];
    const mine = (o) => o.metadata.namespace === undefined || teamSha.has(o.metadata.namespace) || o.metadata.namespace === adminRef.ns || (o.kind === "Namespace" && teamSha.has(o.metadata.name));
    const snapshot = async () => {
      const m = new Map();
      for (const [v, k] of rvKinds) for (const o of (await api.listObjects(v, k)).items) if (mine({ ...o, kind: k })) m.set(`${k}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o.metadata.resourceVersion);
      return m;
    };
    const before = await snapshot();
    const syncKeys = [`${adminRef.ns}/${adminRef.name}`, ...teams.map((t) => `${t}/${t}`)];
    const cpu2 = cpuMark();
    const auditFrom = audit.writes.length;
    const tNoop = performance.now();
    const tokens = new Map();
    await mapLimit(syncKeys, 8, async (key) => {
      const [ns, name] = key.split("/");
      tokens.set(key, await trigger(ns, name, ns === adminRef.ns ? adminSha : teamSha.get(ns)));
    });
    const tTriggered = performance.now();
    await waitUntil(
      `every sync object to have run again`,
      async () => {
        if (engine === "flux") {
          const [ks, grs] = await Promise.all([api.listObjects(KS, "Kustomization"), api.listObjects(GR, "GitRepository")]);
          const handled = (items) => items.filter((o) => tokens.has(`${o.metadata.namespace}/${o.metadata.name}`) && o.status?.lastHandledReconcileAt === tokens.get(`${o.metadata.namespace}/${o.metadata.name}`)).length;
          return handled(ks.items) >= syncKeys.length && handled(grs.items) >= syncKeys.length;
        }
        const ran = new Set(agent.logs.filter((l) => l.at >= tNoop && typeof l.gitsync === "string").map((l) => l.gitsync));
        return syncKeys.every((k) => ran.has(k));
      },
      900_000,
      250,
    );
    const tDone = performance.now();
    await sleep(3000); // late writes (Events, status) still count
    const cpuNoop = cpu2();
    const auditTo = audit.writes.length;
    await audit.close();
    cleanups.splice(cleanups.indexOf(audit.close), 1);
    const after = await snapshot();
    const writes = audit.writes.slice(auditFrom, auditTo).filter((w) => w.name !== "bench-audit-probe");
    const rvChanged = [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v).map(([k]) => k);
    const isEngineUser = (u) =>
      engine === "flux" ? u.startsWith("system:serviceaccount:flux-system:") || teams.some((t) => u === `system:serviceaccount:${t}:${t}`) : u === adminUser || teams.some((t) => u === `system:serviceaccount:${t}:${t}`);
    const isTrigger = (w) => engine === "flux" && w.user === adminUser && (w.resource === "gitrepositories" || w.resource === "kustomizations") && w.sub === "";
    const engineWrites = writes.filter((w) => isEngineUser(w.user) && !isTrigger(w));
    // Reviews and token requests are answered, never stored.
    const VIRTUAL = /^(self)?subject(access|rules)?reviews$|^localsubjectaccessreviews$|^tokenreviews$|^selfsubjectreviews$/;
    const isVirtual = (w) => VIRTUAL.test(w.resource) || w.sub === "token";
    const stored = engineWrites.filter((w) => !w.dryRun && !isVirtual(w));
    if (process.env.BENCH_DEBUG === "1") writeFileSync(`/tmp/bench-engines-audit-${engine}.json`, JSON.stringify(writes, null, 1));
    const group = (list) => {
      const m = new Map();
      for (const w of list) {
        const k = `${w.op} ${w.resource}${w.sub ? `/${w.sub}` : ""}`;
        m.set(k, (m.get(k) ?? 0) + 1);
      }
      return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(", ");
    };
    r.noop = {
      wall: tDone - tNoop,
      triggerMs: tTriggered - tNoop,
      stored: stored.length,
      storedStatus: stored.filter((w) => w.sub === "status").length,
      storedEvents: stored.filter((w) => w.resource === "events").length,
      storedObjects: stored.filter((w) => w.sub !== "status" && w.resource !== "events").length,
      dryRun: engineWrites.filter((w) => w.dryRun).length,
      virtual: engineWrites.filter((w) => !w.dryRun && isVirtual(w)).length,
      byKind: group(stored),
      dryByKind: group(engineWrites.filter((w) => w.dryRun)),
      others: group(writes.filter((w) => !isEngineUser(w.user) && !isTrigger(w) && !w.dryRun)),
      othersUsers: [...new Set(writes.filter((w) => !isEngineUser(w.user) && !isTrigger(w)).map((w) => w.user))].join(", "),
      triggers: writes.filter(isTrigger).length,
      rvChanged: rvChanged.length,
      rvChangedNonSync: rvChanged.filter((k) => !/^(GitSync|GitRepository|Kustomization)\//.test(k)).length,
      rvExamples: rvChanged.filter((k) => !/^(GitSync|GitRepository|Kustomization)\//.test(k)).slice(0, 5).join(", "),
      objects: before.size,
      cpu: cpuNoop,
    };
    progress(`  no-op resync: ${sec(r.noop.wall)} s; engine write requests stored ${r.noop.stored} (${r.noop.byKind || "none"}), dry runs ${r.noop.dryRun}; resourceVersions moved: ${r.noop.rvChanged} (${r.noop.rvChangedNonSync} not sync objects) of ${before.size}`);

    // ---- 3. push -> applied ----
    progress(`3. ${PUSHES} team pushes, each with its trigger; loadavg ${la()}`);
    const lat = [];
    const fromCommit = [];
    const failures = [];
    const cpu3 = cpuMark();
    for (let i = 1; i <= PUSHES; i++) {
      const team = teams[(i - 1) % TEAMS];
      const repo = join(teamDirs, team);
      const tCommit = performance.now();
      writeBench(team, i);
      git(repo, "add", "--all");
      git(repo, "commit", "--quiet", "-m", `push ${i}`);
      git(repo, "push", "--quiet", sshd.url(team), "HEAD:main");
      const sha = git(repo, "rev-parse", "HEAD");
      const tSend = performance.now();
      try {
        await trigger(team, team, sha);
        await waitUntil(`${team} at ${sha.slice(0, 8)}`, async () => applied(await readSync(team, team), sha), 120_000, 20);
      } catch (e) {
        failures.push(`${team}: ${e.message}`);
        progress(`  push ${i}: ${e.message}`);
        continue;
      }
      const done = performance.now();
      lat.push(done - tSend);
      fromCommit.push(done - tCommit);
      if (i % 10 === 0 || i === PUSHES) progress(`  ${i}/${PUSHES} pushes, last ${(done - tSend).toFixed(0)} ms`);
    }
    r.push = { lat: stats(lat), fromCommit: stats(fromCommit), failures, cpu: cpu3() };

    // ---- 4. RSS ----
    await sleep(2000);
    const rss = sampler.stop();
    r.rss = { ...rss, hwm: enginePids().map((p) => ({ pid: p, ...procStatus(p) })) };
    r.processes = engine === "flux" ? "source-controller + kustomize-controller" : "tenantry agent (all namespaces) + its children (git, ssh, kustomize)";
    r.laEnd = la();
    if (agent !== undefined) {
      r.agentWarnings = agent.logs.filter((l) => l.level === "warn" || l.level === "error").length;
      r.agentFirstWarning = agent.logs.find((l) => l.level === "warn" || l.level === "error");
      await agent.stop();
    }
    progress(`  ${engine}: peak RSS ${rss.peak.toFixed(0)} MB (sampled, sum), VmHWM ${r.rss.hwm.map((h) => `${h.hwm.toFixed(0)} MB`).join(" + ")}; loadavg ${r.laEnd}`);
    return r;
  }
}

// ---- the table ---------------------------------------------------------------------------------

function table({ meta, results }) {
  const f = results.flux;
  const t = results.tenantry;
  const cell = (r, fn) => {
    if (r === undefined) return "—";
    try {
      return fn(r);
    } catch {
      return "—";
    }
  };
  const failedNotes = Object.values(results).filter((r) => r.error !== undefined).map((r) => `${r.engine} did not finish: ${r.error.slice(0, 500)}`);
  const hwmSum = (r) => r.rss.hwm.reduce((s, h) => s + h.hwm, 0);
  const rows = [
    ["cold apply to Ready (admin push → every team sync Ready)", (r) => `${sec(r.cold.total)} s`],
    ["… admin sync applied (all of cluster/ at its commit)", (r) => `${sec(r.cold.admin)} s`],
    ["… first / median team sync Ready", (r) => `${sec(r.cold.firstTeam)} s / ${sec(r.cold.medianTeam)} s`],
    ["… CPU s during it: engine / kube-apiserver / etcd / controller-manager", (r) => `${r.cold.cpu.engine.toFixed(1)} / ${r.cold.cpu.apiserver.toFixed(1)} / ${r.cold.cpu.etcd.toFixed(1)} / ${r.cold.cpu.kcm.toFixed(1)}`],
    ["no-op resync: write requests stored (objects / status / Events)", (r) => `${r.noop.stored} (${r.noop.storedObjects} / ${r.noop.storedStatus} / ${r.noop.storedEvents})`],
    ["… dry-run write requests (and reviews, never stored)", (r) => `${r.noop.dryRun} (${r.noop.virtual})`],
    ["… resourceVersions moved (excluding the sync objects)", (r) => `${r.noop.rvChanged} (${r.noop.rvChangedNonSync}) of ${r.noop.objects}`],
    ["… wall time until every sync object ran again", (r) => `${sec(r.noop.wall)} s`],
    ["… CPU s: engine / kube-apiserver", (r) => `${r.noop.cpu.engine.toFixed(1)} / ${r.noop.cpu.apiserver.toFixed(1)}`],
    [`push → applied p50 / p99 (${PUSHES} team pushes, trigger sent → Ready at the commit)`, (r) => `${r.push.lat.p50.toFixed(0)} / ${r.push.lat.p99.toFixed(0)} ms`],
    ["… commit → applied p50 / p99 (incl. git push over ssh)", (r) => `${r.push.fromCommit.p50.toFixed(0)} / ${r.push.fromCommit.p99.toFixed(0)} ms`],
    ["… pushes not applied within 120 s", (r) => `${r.push.failures.length}`],
    ["peak RSS, sampled every 250 ms (sum of the engine's processes)", (r) => `${r.rss.peak.toFixed(0)} MB`],
    ["… VmHWM per process", (r) => r.rss.hwm.map((h) => `${h.hwm.toFixed(0)}`).join(" + ") + ` = ${hwmSum(r).toFixed(0)} MB`],
    ["load average (1 min) at the engine's start / end", (r) => `${r.laStart.split(" ")[0]} / ${r.laEnd.split(" ")[0]}`],
  ];
  const lines = [];
  lines.push(`| ${TEAMS} teams | tenantry agent | Flux ${meta.fluxVersion} |`);
  lines.push("|---|---:|---:|");
  for (const [label, fn] of rows) lines.push(`| ${label} | ${cell(t, fn)} | ${cell(f, fn)} |`);
  const notes = [...failedNotes];
  if (t?.teamRun !== undefined) notes.push(`tenantry: the admin GitSync's run took ${t.adminRun?.toFixed(1) ?? "?"} s (fetch, kustomize build of cluster/common and each overlay, apply of ${t.adminInventory ?? "?"} objects); team GitSync runs p50 ${t.teamRun.p50.toFixed(0)} ms, max ${t.teamRun.max.toFixed(0)} ms; agent warn/error log lines ${t.agentWarnings}${t.agentFirstWarning ? ` (first: ${JSON.stringify(t.agentFirstWarning).slice(0, 240)})` : ""}.`);
  if (f !== undefined && f.error === undefined) notes.push(`flux: the admin Kustomization's inventory holds ${f.adminInventory ?? "?"} objects.`);
  for (const r of [t, f]) {
    if (r === undefined || r.error !== undefined) continue;
    notes.push(`${r.engine}: no-op stored writes by kind: ${r.noop.byKind || "none"}; dry runs: ${r.noop.dryByKind || "none"}; moved: ${r.noop.rvExamples || "none"}; others' writes meanwhile (not counted): ${r.noop.others || "none"}.`);
    notes.push(`${r.engine}: at the RSS peak: ${r.rss.atPeak}; child processes peaked at ${r.rss.peakChildren.toFixed(0)} MB (at most ${r.rss.maxChildren} at once); push CPU s engine ${r.push.cpu.engine.toFixed(1)} for ${PUSHES} pushes; bootstrap ${r.bootstrap}.`);
    if (r.push.failures.length > 0) notes.push(`${r.engine}: push failures: ${r.push.failures.slice(0, 3).join("; ")}`);
  }
  const header = `Measured by \`npm run bench:engines\` (BENCH_TEAMS=${TEAMS}, BENCH_PUSHES=${PUSHES}) on ${meta.started.slice(0, 10)} at commit ${meta.commit}: ${meta.cores} cores (${meta.cpu}), Node ${meta.node}; load average at start ${meta.laStart}, at end ${meta.laEnd ?? la()} (other agents' test suites ran on the machine: expect noise).`;
  return { header, lines, notes };
}

function writeDoc(text) {
  let doc = readFileSync(DOC, "utf8");
  if (!doc.includes(BEGIN)) {
    doc = `${doc.replace(/\n*$/, "\n")}\n## Side by side\n\n${BEGIN}\n${END}\n`;
  }
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (b < a) throw new Error(`${DOC}: ${END} before ${BEGIN}`);
  writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${text}\n${doc.slice(b)}`);
  progress(`wrote the table into ${DOC}`);
}

let failed;
let result;
try {
  result = await main();
} catch (e) {
  failed = e;
  progress(`FAILED: ${e.stack ?? e}`);
}
await cleanup();
if (result !== undefined) {
  const { header, lines, notes } = table(result);
  const text = [header, "", ...lines, "", ...notes.map((n) => `- ${n}`)].join("\n");
  process.stdout.write(`${text}\n`);
  if (WRITE && failed === undefined) writeDoc(text);
}
process.stdout.write(`bench wall time: ${sec(performance.now() - benchStart)} s\n`);
process.exit(failed === undefined ? 0 : 1);
