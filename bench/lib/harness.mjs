// Shared parts of the benchmarks that run against a local control plane: processes with
// timeouts, percentiles, /proc readings, the agent as a child process, the control plane's
// lifecycle (every process stopped and the temp dir removed whatever happens), and the API
// server's request counters. Prints nothing itself but through `progress`.

import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "tenantry.js");
export const CLUSTER_SCRIPT = join(ROOT, "scripts", "local-cluster.sh");
export const GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"];

export function intEnv(name, fallback) {
  const v = Number.parseInt(process.env[name] ?? "", 10);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const benchStart = performance.now();
export const la = () => loadavg().map((l) => l.toFixed(2)).join(" ");
export const progress = (msg) => process.stderr.write(`[bench ${((performance.now() - benchStart) / 1000).toFixed(0).padStart(5)}s] ${msg}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const sec = (ms) => (ms / 1000).toFixed(2);

/** Nearest-rank quantiles of `samples`. */
export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => (s.length === 0 ? NaN : s[Math.min(s.length, Math.max(1, Math.ceil(p * s.length))) - 1]);
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

/** Runs a program; resolves with its output, rejects naming it and its stderr's last lines; killed after timeoutMs. */
export function run(file, args, { cwd, env, timeoutMs = 120_000 } = {}) {
  return new Promise((done, fail) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`${file === process.execPath ? "node" : file} ${args.slice(0, 4).join(" ")}: ${(stderr || err.message).trim().split("\n").slice(-3).join(" | ")}`);
        e.code = err.code;
        e.stdout = stdout;
        fail(e);
      } else done({ stdout, stderr });
    });
  });
}

export function git(cwd, ...args) {
  return execFileSync("git", [...GIT_ID, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000, maxBuffer: 256 * 1024 * 1024 }).trim();
}

export async function mapLimit(items, limit, fn) {
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

export async function waitUntil(what, probe, timeoutMs, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

let CLK_TCK = 100;
try {
  CLK_TCK = Number.parseInt(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim(), 10) || 100;
} catch {
  // 100 on every Linux this runs on
}

/** CPU seconds of a process from /proc: its own (user+sys) and its waited-for children's. */
export function procCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return { own: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK };
  } catch {
    return { own: NaN, children: NaN };
  }
}

/** Samples `pid`'s RSS every `ms`; `peak()` is the highest sample and the kernel's high-water mark (MB). */
export function rssPeak(pid, ms) {
  let peak = 0;
  const timer = setInterval(() => {
    const s = procStatus(pid);
    if (s.rss > peak) peak = s.rss;
  }, ms);
  return {
    peak: () => Math.max(peak, procStatus(pid).hwm),
    stop: () => clearInterval(timer),
  };
}

/** RSS and its high-water mark (VmHWM) in MB. */
export function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/**
 * A work dir and, once `start` is called, a local control plane in it; `cleanup` stops every
 * child process and the control plane and removes the dir (BENCH_KEEP=1 keeps the dir). Runs
 * on SIGINT/SIGTERM and after `timeoutS`.
 */
export function benchSession(name, timeoutS) {
  const work = mkdtempSync(join(tmpdir(), `tenantry-bench-${name}-`));
  const clusterDir = join(work, "cluster");
  const children = new Set();
  let clusterStarted = false;
  let cleaning;
  const cleanup = () => {
    cleaning ??= (async () => {
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
  };
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
    process.once(sig, () => {
      progress(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(code));
    });
  }
  setTimeout(() => {
    progress(`BENCH_TIMEOUT_S=${timeoutS} reached: abandoning the run`);
    void cleanup().finally(() => process.exit(3));
  }, timeoutS * 1000).unref();

  return {
    work,
    clusterDir,
    children,
    cleanup,
    /** Starts the control plane (scripts/local-cluster.sh start); resolves with its kubeconfig path and start time. */
    async startCluster() {
      progress(`starting a local control plane in ${clusterDir}`);
      const t0 = performance.now();
      clusterStarted = true; // from here on, cleanup stops it (stop is idempotent)
      const started = await run("bash", [CLUSTER_SCRIPT, "start", clusterDir], { env: { TENANTRY_CLUSTER_TIMEOUT: "240" }, timeoutMs: 300_000 });
      return { kubeconfig: started.stdout.trim().split("\n").pop(), ms: performance.now() - t0 };
    },
    /** The pid of a control-plane component (kube-apiserver, etcd, ...). */
    componentPid(c) {
      return Number.parseInt(readFileSync(join(clusterDir, "pids", `${c}.pid`), "utf8").trim(), 10);
    },
    /** `tenantry agent ARGS` as a child process; resolves once its "agent started" line is read. */
    async startAgent(args, env = {}) {
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
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            let entry;
            try {
              entry = JSON.parse(line);
            } catch {
              entry = { raw: line };
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
          const r = await Promise.race([exited, sleep(60_000).then(() => "timeout")]);
          if (r === "timeout") {
            progress(`agent ${child.pid} did not stop within 60 s of SIGTERM: SIGKILL`);
            child.kill("SIGKILL");
            await exited;
          }
          children.delete(child);
          return r;
        },
      };
    },
  };
}

/**
 * The API server's request counters (apiserver_request_total) read with the pinned kubectl,
 * as a map from "VERB resource[/subresource] code" to a count; `since(before)` subtracts.
 */
export async function apiserverRequests(kubectl, kubeconfig) {
  const { stdout } = await run(kubectl, ["--kubeconfig", kubeconfig, "get", "--raw", "/metrics"], { timeoutMs: 60_000 });
  const counts = new Map();
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ""} ${labels.code}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

/** What `after` counted beyond `before`, for keys matching `filter`. */
export function requestsSince(before, after, filter = () => true) {
  const d = new Map();
  for (const [k, v] of after) {
    const n = v - (before.get(k) ?? 0);
    if (n > 0 && filter(k)) d.set(k, n);
  }
  return d;
}

export const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"]);
