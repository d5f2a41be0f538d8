// Benchmark of tenantry at scale on a local control plane (issue 21): an admin repo grown to
// each team count in BENCH_SIZES (default 200, 1000, 5000), every team with its own GitSync,
// all reconciled by one `tenantry agent`. Prints figures beside their goals; never asserts
// them; exits 0 unless the benchmark itself cannot run. Starts its OWN control plane
// (scripts/local-cluster.sh) in a temp dir and stops it at the end; everything is on 127.0.0.1.
//
//   npm run bench:scale                      (builds dist/ and lib/ first)
//   BENCH_SIZES=50,200 BENCH_PUSHES=5 node bench/scale.mjs
//
// Env: BENCH_SIZES      team counts, ascending; the repo and the cluster grow from one to the next
//      BENCH_PUSHES     team pushes for push->applied at each size (default 20)
//      BENCH_NOOP_RUNS  no-op resyncs of the admin GitSync at each size (default 3)
//      BENCH_STEADY_S   seconds the settled agent runs on before its RSS is read (default 60)
//      BENCH_SVG        where the chart goes (default docs/scale.svg; "-" for none)
//      BENCH_TIMEOUT_S  the whole run is abandoned (and cleaned up) after this (default 10800)
//      BENCH_FROM=FILE  no run: the tables and the chart from a run's recorded figures (its `raw:`
//                       or `figures so far:` JSON)
//      BENCH_KEEP=1     keep the temp dir (its path is printed); the cluster is still stopped
//      BENCH_ONE_AGENT=0  skip 4 and 5 (the one agent over every namespace, and pushes): a 5000-team
//                       run of the deployed shape (4a) takes half the time
//
// At each size, in order:
//   1. create-team --from: the new teams added to the admin repo (one commit), pushed
//   2. cold apply: `tenantry sync --once` of the admin GitSync as a process (clone, render, apply)
//   3. no-op resync: the admin GitSync reconciled again in this process with its render cached,
//      as the agent's periodic run is, status written; the API server's write requests counted
//      (goal at 1000 teams: <= 3 s, 0 object writes)
//  4a. the admin agent as deployed (--namespace tenantry-system): its first run, peak RSS
//   4. one agent over every namespace started: time until every team GitSync has applied its repo,
//      peak and settled RSS (goal <= 200 MB at 1000 teams, growing less than linearly)
//   5. push -> applied: a team pushes its repo and sends a signed webhook while the agent holds
//      every other team (p50/p99)
//   6. `tenantry status -o json` of every GitSync (goal <= 2 s at 5000)
//   7. `tenantry plan` of a change to a template every team uses (goal <= 5 s at 5000)
//   8. the largest object written (the admin GitSync with its inventory; etcd's limit 1.5 MiB),
//      and the GitSync status writes the API server refused with 409 Conflict (goal: none)
//
// Progress goes to stderr, results to stdout.

import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { chart } from "./lib/chart.mjs";
import { apiserverRequests, benchSession, BIN, git, intEnv, la, procCpu, procStatus, progress, rssPeak, requestsSince, ROOT, run, sec, sleep, stats, waitUntil, WRITE_VERBS } from "./lib/harness.mjs";

const SIZES = (process.env.BENCH_SIZES ?? "200,1000,5000").split(",").map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const PUSHES = intEnv("BENCH_PUSHES", 20);
const NOOP_RUNS = intEnv("BENCH_NOOP_RUNS", 3);
const STEADY_S = intEnv("BENCH_STEADY_S", 60);
const ONE_AGENT = process.env.BENCH_ONE_AGENT !== "0";
const SVG = process.env.BENCH_SVG ?? join(ROOT, "docs", "scale.svg");
const HOOK_SECRET = "bench-webhook-token";
const SYSTEM = "tenantry-system";
const GOALS = {
  noop: (n) => (n === 1000 ? "<= 3 s, 0 object writes" : "0 object writes"),
  rss: (n) => (n === 1000 ? "<= 200 MB" : "sublinear"),
  status: (n) => (n === 5000 ? "<= 2 s" : "-"),
  plan: (n) => (n === 5000 ? "<= 5 s" : "-"),
};

// Made by main(): BENCH_FROM starts nothing.
let session;
let work;
const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
const cli = (args, opts = {}) => run(process.execPath, [BIN, ...args], { timeoutMs: 3_600_000, ...opts });
const teamName = (i) => `t${String(i).padStart(5, "0")}`;
const out = [];
const line = (s = "") => out.push(s);

/** A bare remote and a checkout of it holding `files`, pushed; returns its file:// URL and the revision. */
function remoteRepo(name, files) {
  const bare = join(work, "remotes", `${name}.git`);
  const dir = join(work, name);
  git(work, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  git(work, "init", "--quiet", "--initial-branch=main", dir);
  git(dir, "add", "--all");
  git(dir, "commit", "--quiet", "-m", name);
  git(dir, "push", "--quiet", `file://${bare}`, "HEAD:main");
  return { url: `file://${bare}`, dir, revision: `main@sha1:${git(dir, "rev-parse", "HEAD")}` };
}

const configMap = (name, data) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });
const KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - config.yaml\n";

async function main() {
  session = benchSession("scale", intEnv("BENCH_TIMEOUT_S", 10_800));
  work = session.work;
  if (!existsSync(join(ROOT, "lib", "tenantry.cjs")) || !existsSync(join(ROOT, "dist", "sync", "reconcile.js"))) throw new Error("dist/ or lib/ is missing: run `npm run build` (or `npm run bench:scale`)");
  const { loadAccess } = await import(dist("cluster/access.js"));
  const { RestClient } = await import(dist("cluster/rest.js"));
  const { applyObjects } = await import(dist("cluster/apply.js"));
  const { buildDir } = await import(dist("build/kustomize.js"));
  const { reconcile } = await import(dist("sync/reconcile.js"));
  const { recordOutcome, recordPendingInventory } = await import(dist("sync/gitsync-status.js"));
  const { RenderCache } = await import(dist("sync/render-cache.js"));
  const { inventoryCount } = await import(dist("model/inventory-store.js"));
  const { findBinary } = await import(dist("toolchain.js"));
  const kubectl = findBinary("kubectl").file;

  line(`machine:   ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}; loadavg at start ${la()}`);
  line(`sizes:     ${SIZES.join(", ")} teams; BENCH_PUSHES=${PUSHES}, BENCH_NOOP_RUNS=${NOOP_RUNS}`);
  const { kubeconfig, ms: clusterMs } = await session.startCluster();
  progress(`control plane ready in ${sec(clusterMs)} s`);
  const admin = loadAccess(kubeconfig);
  const api = RestClient.forConfig(admin);
  const pids = { apiserver: session.componentPid("kube-apiserver"), etcd: session.componentPid("etcd") };

  // ---- repos: the admin repo, one small repo every team syncs, one repo for the pushing team ----
  mkdirSync(join(work, "remotes"), { recursive: true });
  const adminBare = join(work, "remotes", "admin.git");
  const adminRepo = join(work, "admin");
  git(work, "init", "--quiet", "--bare", "--initial-branch=main", adminBare);
  await cli(["init", adminRepo, "--cluster-name", "bench", "--git-url", `file://${adminBare}`, "--policy-engine", "vap"], { cwd: work });
  const small = remoteRepo("small", { "kustomization.yaml": KUSTOMIZATION, "config.yaml": configMap("bench-small", { hello: "world" }) });
  const hook = remoteRepo("hook", { "kustomization.yaml": KUSTOMIZATION, "config.yaml": configMap("bench-push", { push: "0" }) });
  const hookTeam = teamName(1);

  // Bootstrap, as an admin does once: the CRD, tenantry-system and the admin GitSync.
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", "common")));
  const adminHeader = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: SYSTEM } };
  const gsHeader = (ns) => ({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: ns, namespace: ns } });
  const conflicts0 = await apiserverRequests(kubectl, kubeconfig);

  const results = [];
  let teams = 0;
  for (const size of SIZES) {
    const r = { teams: size };
    results.push(r);
    progress(`==== ${size} teams (loadavg ${la()}) ====`);

    // 1. the new teams, one create-team --from and one commit
    const list = join(work, `teams-${size}.yaml`);
    const entries = Array.from({ length: size - teams }, (_, k) => teamName(teams + k + 1)).map((name) => `    - name: ${name}\n      repoUrl: "${name === hookTeam ? hook.url : small.url}"`);
    writeFileSync(list, ["apiVersion: tenantry.dev/v1alpha1", "kind: TeamList", "metadata: {name: bench}", "spec:", "  teams:", ...entries, ""].join("\n"));
    let t0 = performance.now();
    await cli(["create-team", "--from", list, "--commit"], { cwd: adminRepo });
    r.createFrom = performance.now() - t0;
    git(adminRepo, "push", "--quiet", "--force", `file://${adminBare}`, "HEAD:main");
    progress(`1. create-team --from ${size - teams} teams: ${sec(r.createFrom)} s`);
    teams = size;

    // 2. cold apply of the new teams' objects (the others unchanged), as a process
    const cpu0 = { a: procCpu(pids.apiserver).own, e: procCpu(pids.etcd).own };
    t0 = performance.now();
    const synced = await cli(["sync", "--once", "--namespace", SYSTEM, "--name", "admin", "--kubeconfig", kubeconfig], { cwd: work });
    r.coldApply = performance.now() - t0;
    r.coldCpu = { apiserver: procCpu(pids.apiserver).own - cpu0.a, etcd: procCpu(pids.etcd).own - cpu0.e };
    r.syncMessage = synced.stdout.trim().split("\n").pop();
    progress(`2. cold apply: ${sec(r.coldApply)} s: ${r.syncMessage}`);

    // The controller-manager makes each new team's default ServiceAccount, the agent's
    // ReplicaSet and Pod (stored, never run) at its own pace: wait for it, so the figures
    // after this are not taken beside it.
    t0 = performance.now();
    let seen = "";
    let stable = 0;
    try {
      await waitUntil(
        "the controller-manager to settle",
        async () => {
          const [rss, pods] = await Promise.all([api.listObjects("apps/v1", "ReplicaSet", undefined, "app.kubernetes.io/name=tenantry-agent"), api.listObjects("v1", "Pod", undefined, "app.kubernetes.io/name=tenantry-agent")]);
          const now = `${rss.items.length}/${pods.items.length}`;
          stable = now === seen ? stable + 1 : 0;
          seen = now;
          return rss.items.length >= size && pods.items.length >= size && stable >= 2;
        },
        1_800_000,
        5000,
      );
    } catch (e) {
      progress(`WARNING: ${e.message} (agent ReplicaSets/Pods: ${seen})`);
    }
    r.controllerSettle = performance.now() - t0;
    progress(`2. the controller-manager made the teams' agent ReplicaSets and Pods (${seen}) in ${sec(r.controllerSettle)} s more`);

    // 3. no-op resyncs with the render cached, status written, writes counted
    const renders = new RenderCache();
    const once = async () => {
      const gs = await api.readObject(adminHeader);
      const outcome = await reconcile(gs, { agent: admin, renders, recordPending: (e) => recordPendingInventory(admin, gs, e) });
      await recordOutcome(admin, gs, outcome);
      return outcome;
    };
    t0 = performance.now();
    await once(); // renders (and caches) the revision
    r.firstRender = performance.now() - t0;
    r.noop = [];
    for (let i = 0; i < NOOP_RUNS; i++) {
      const before = await apiserverRequests(kubectl, kubeconfig);
      t0 = performance.now();
      const o = await once();
      const ms = performance.now() - t0;
      // tenantry writes objects with server-side apply (verb APPLY) and its status with a PATCH;
      // the controller-manager, still at work on the new teams, never applies.
      const writes = requestsSince(before, await apiserverRequests(kubectl, kubeconfig), (k) => WRITE_VERBS.has(k.split(" ")[0]));
      const objectWrites = [...writes].filter(([k]) => k.startsWith("APPLY ")).reduce((a, [, n]) => a + n, 0);
      const statusWrites = [...writes].filter(([k]) => k.includes("gitsyncs/status")).reduce((a, [, n]) => a + n, 0);
      r.noop.push({ ms, objectWrites, statusWrites, message: o.message });
      progress(`3. no-op resync ${i + 1}: ${sec(ms)} s, ${objectWrites} server-side applies, ${statusWrites} GitSync status writes (all writes the API server saw meanwhile: ${[...writes].map(([k, n]) => `${k} x${n}`).join(", ") || "none"}); ${o.reason}: ${o.message}`);
    }

    // 8a. the largest object written: the admin GitSync with its inventory
    const adminGs = await api.readObject(adminHeader);
    r.adminGitSyncBytes = JSON.stringify(adminGs).length;
    r.inventory = inventoryCount(adminGs.status?.inventory);
    r.inventoryForm = typeof adminGs.status?.inventory?.compressed === "string" ? "compressed" : "entries";

    // 4a. the admin agent as deployed (cluster/common's Deployment: --namespace tenantry-system
    // --leader-elect; each team's GitSync has its own agent in its namespace): its first run of
    // the admin GitSync in a fresh process (render, compare, status), RSS sampled
    {
      const adminAgent = await session.startAgent(["--kubeconfig", kubeconfig, "--namespace", SYSTEM, "--leader-elect"]);
      const apid = adminAgent.child.pid;
      const sampled = rssPeak(apid, 100);
      const ran = () => adminAgent.logs.find((l) => l.msg === "reconciled" && l.gitsync === `${SYSTEM}/admin`);
      await waitUntil("the admin agent's first run", () => Promise.resolve(ran() !== undefined), 1_800_000, 200);
      await sleep(5000);
      sampled.stop();
      r.adminAgentPeak = sampled.peak();
      r.adminAgentRss = procStatus(apid).rss;
      r.adminAgentRun = ran().seconds * 1000;
      await adminAgent.stop();
      progress(`4a. admin agent (--namespace ${SYSTEM}): first run ${sec(r.adminAgentRun)} s; RSS peak ${r.adminAgentPeak.toFixed(0)} MB, 5 s later ${r.adminAgentRss.toFixed(0)} MB`);
    }

    if (ONE_AGENT) {
      // 4. one agent over all namespaces (the admin GitSync and every team's): every team GitSync
      // applied, RSS sampled
      const wantRevision = (ns) => (ns === hookTeam ? hook.revision : small.revision);
      const agent = await session.startAgent(["--kubeconfig", kubeconfig, "--trigger-spacing", "0"]);
      const pid = agent.child.pid;
      const sampler = rssPeak(pid, 200);
      t0 = performance.now();
      let lastCount = -1;
      await waitUntil(
        `all ${size} team GitSyncs applied`,
        async () => {
          const items = (await api.listObjects("tenantry.dev/v1alpha1", "GitSync")).items.filter((g) => g.metadata.namespace !== SYSTEM);
          const done = items.filter((g) => g.status?.lastAppliedRevision === wantRevision(g.metadata.namespace)).length;
          if (done !== lastCount && (done === size || Math.floor(done / 500) !== Math.floor(lastCount / 500))) progress(`4. agent: ${done}/${size} team GitSyncs applied, RSS ${procStatus(pid).rss.toFixed(0)} MB`);
          lastCount = done;
          return done >= size;
        },
        3_600_000,
        2000,
      );
      r.agentSettle = performance.now() - t0;
      // Steady state: BENCH_STEADY_S of periodic runs (the admin GitSync's interval) and watch events.
      await sleep(STEADY_S * 1000);
      r.agentPeak = sampler.peak();
      r.agentRss = procStatus(pid).rss;
      const agentRuns = agent.logs.filter((l) => l.msg === "reconciled" && l.gitsync === `${SYSTEM}/admin`).map((l) => l.seconds * 1000);
      r.agentAdminRuns = agentRuns;
      progress(`4. agent settled ${size} team GitSyncs in ${sec(r.agentSettle)} s; RSS peak ${r.agentPeak.toFixed(0)} MB, after a minute ${r.agentRss.toFixed(0)} MB; admin runs ${agentRuns.map((ms) => sec(ms)).join(", ")} s`);

      // 5. push -> applied for one team while the agent holds all the others
      await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "bench-webhook", namespace: hookTeam }, stringData: { token: HOOK_SECRET } }, { fieldManager: "bench", force: true });
      await api.apply({ ...gsHeader(hookTeam), spec: { webhookSecretRef: { name: "bench-webhook" } } }, { fieldManager: "bench", force: true });
      await sleep(3500); // the agent's watch sees the GitSync's new webhook Secret name
      const latencies = [];
      let failures = 0;
      let timeouts = 0;
      for (let i = 1; i <= PUSHES && timeouts < 3; i++) {
        writeFileSync(join(hook.dir, "config.yaml"), configMap("bench-push", { push: `${size}-${i}` }));
        git(hook.dir, "commit", "--quiet", "-am", `push ${i}`);
        git(hook.dir, "push", "--quiet", hook.url.replace("file://", ""), "HEAD:main");
        const sha = git(hook.dir, "rev-parse", "HEAD");
        const body = JSON.stringify({ ref: "refs/heads/main", after: sha, repository: { full_name: "bench/hook" } });
        const sent = performance.now();
        const res = await fetch(`http://127.0.0.1:${agent.port}/hooks/${hookTeam}/${hookTeam}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}` },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await res.text();
        if (res.status !== 202) {
          failures++;
          progress(`5. push ${i}: webhook answered ${res.status}`);
          continue;
        }
        try {
          await waitUntil(`revision ${sha}`, async () => (await api.readObject(gsHeader(hookTeam))).status?.lastAppliedRevision === `main@sha1:${sha}`, 120_000, 20);
          latencies.push(performance.now() - sent);
        } catch (e) {
          failures++;
          timeouts++;
          progress(`5. push ${i}: ${e.message}${timeouts === 3 ? "; no more pushes at this size (3 timed out)" : ""}`);
        }
      }
      hook.revision = `main@sha1:${git(hook.dir, "rev-parse", "HEAD")}`;
      r.push = stats(latencies);
      r.pushFailures = failures;
      r.pushTimeouts = timeouts;
      progress(`5. push -> applied: p50 ${r.push.p50?.toFixed(0)} ms, p99 ${r.push.p99?.toFixed(0)} ms (${latencies.length} of ${PUSHES})`);
      await agent.stop();
      sampler.stop();
    }

    // 6. status of every GitSync
    const statusRuns = [];
    for (let i = 0; i < 3; i++) {
      t0 = performance.now();
      const s = await cli(["status", "--kubeconfig", kubeconfig, "-o", "json"], { cwd: work });
      statusRuns.push(performance.now() - t0);
      if (i === 0) r.statusRows = JSON.parse(s.stdout).gitsyncs.length;
    }
    r.status = stats(statusRuns);
    progress(`6. status of ${r.statusRows} GitSyncs: median ${sec(r.status.p50)} s`);

    // 7. plan of a change to a template every team's overlay uses (ClusterRole tenantry:team-admin)
    const rbac = join(adminRepo, "cluster", "common", "rbac.yaml");
    const before = readFileSync(rbac, "utf8");
    const after = before.replace("    verbs: [get, list, watch]\n---", "    verbs: [get, list, watch]\n  - apiGroups: [\"\"]\n    resources: [podtemplates]\n    verbs: [get, list, watch]\n---");
    if (after === before) throw new Error("could not edit cluster/common/rbac.yaml: the template changed; update bench/scale.mjs (as bench/plan.mjs)");
    git(adminRepo, "checkout", "--quiet", "-b", `plan-${size}`);
    writeFileSync(rbac, after);
    git(adminRepo, "commit", "--quiet", "-am", "a shared template changed");
    t0 = performance.now();
    const planned = await cli(["plan", "--base", "main", "--head", "HEAD", "-o", "json"], { cwd: adminRepo }).catch((e) => (e.code === 3 ? { stdout: e.stdout } : Promise.reject(e)));
    r.plan = performance.now() - t0;
    const summary = JSON.parse(planned.stdout).summary;
    r.planTeams = summary.teamsAffected.length;
    git(adminRepo, "checkout", "--quiet", "main");
    git(adminRepo, "branch", "--quiet", "-D", `plan-${size}`);
    progress(`7. plan: ${sec(r.plan)} s, ${summary.changed} changed, ${r.planTeams} teams affected`);
    // A run stopped later keeps what it measured (BENCH_FROM takes this line's JSON).
    progress(`figures so far: ${JSON.stringify(recorded(results, new Map(), new Map()))}`);
  }

  // 8b. status writes refused with 409 over the whole run
  const conflicts = requestsSince(conflicts0, await apiserverRequests(kubectl, kubeconfig), (k) => k.includes("gitsyncs/status") && k.endsWith(" 409"));
  const statusWrites = requestsSince(conflicts0, await apiserverRequests(kubectl, kubeconfig), (k) => k.includes("gitsyncs/status") && WRITE_VERBS.has(k.split(" ")[0]));

  report(results, statusWrites, conflicts);
}

/** What BENCH_FROM reads back. */
function recorded(results, statusWrites, conflicts) {
  return { results: results.map((r) => ({ ...r, noop: r.noop.map((n) => ({ ms: Math.round(n.ms), objectWrites: n.objectWrites })) })), statusWrites: Object.fromEntries(statusWrites), conflicts: Object.fromEntries(conflicts) };
}

/** The tables and the chart of `results` (one entry per size). */
function report(results, statusWrites, conflicts) {
  const pad = (s, n) => String(s).padStart(n);
  line();
  line(`   ${"teams".padStart(6)} ${"objects".padStart(8)} ${"create --from s".padStart(15)} ${"cold apply s".padStart(12)} ${"render s".padStart(9)} ${"no-op s".padStart(8)} ${"applies".padStart(7)}  no-op goal`);
  for (const r of results) {
    const noop = stats(r.noop.map((n) => n.ms));
    line(`   ${pad(r.teams, 6)} ${pad(r.inventory ?? "?", 8)} ${pad(sec(r.createFrom), 15)} ${pad(sec(r.coldApply), 12)} ${pad(r.firstRender ? sec(r.firstRender) : "-", 9)} ${pad(sec(noop.p50), 8)} ${pad(Math.max(...r.noop.map((n) => n.objectWrites)), 7)}  ${GOALS.noop(r.teams)}`);
  }
  line("   (objects: the admin GitSync's inventory; create --from: the teams added since the previous size; cold apply: `tenantry sync --once`");
  line("    as a process, fetching, rendering and applying the new teams' objects, the others unchanged; render: the first reconcile in");
  line("    this process; no-op: median of the cached-render resyncs, status written; applies: the server-side applies the API server");
  line("    counted in the worst one, the GitSync status write aside; the controller-manager's own writes are never applies)");
  line();
  for (const r of results) line(`   ${r.teams} teams: the controller-manager took ${sec(r.controllerSettle)} s after the cold apply to make the new teams' agent ReplicaSets and Pods`);
  line();
  if (results.some((r) => r.adminAgentPeak !== undefined)) {
    line(`   ${"teams".padStart(6)} ${"admin run s".padStart(12)} ${"RSS peak MB".padStart(12)}  goal`);
    for (const r of results) line(`   ${pad(r.teams, 6)} ${pad(r.adminAgentRun === undefined ? "-" : sec(r.adminAgentRun), 12)} ${pad(r.adminAgentPeak === undefined ? "-" : r.adminAgentPeak.toFixed(0), 12)}  ${GOALS.rss(r.teams)}`);
    line("   (the admin agent as cluster/common deploys it, --namespace tenantry-system --leader-elect: its first run of the admin GitSync");
    line("    in a fresh process, rendering every overlay; each team's GitSync has an agent of its own in its namespace)");
    line();
  }
  line(`   ${"teams".padStart(6)} ${"settle s".padStart(9)} ${"RSS peak MB".padStart(12)} ${"RSS MB".padStart(7)} ${"push p50 ms".padStart(12)} ${"push p99 ms".padStart(12)} ${"status s".padStart(9)} ${"plan s".padStart(7)}  goals (RSS / status / plan)`);
  for (const r of results) {
    const push = (v) => (r.push?.n > 0 ? v.toFixed(0) : r.pushTimeouts > 0 ? ">120000" : "-");
    const mb = (v) => (v === undefined ? "-" : v.toFixed(0));
    line(`   ${pad(r.teams, 6)} ${pad(r.agentSettle === undefined ? "-" : sec(r.agentSettle), 9)} ${pad(mb(r.agentPeak), 12)} ${pad(mb(r.agentRss), 7)} ${pad(push(r.push?.p50), 12)} ${pad(push(r.push?.p99), 12)} ${pad(r.status ? sec(r.status.p50) : "-", 9)} ${pad(r.plan ? sec(r.plan) : "-", 7)}  ${GOALS.rss(r.teams)} / ${GOALS.status(r.teams)} / ${GOALS.plan(r.teams)}`);
  }
  line("   (one agent over every namespace, the admin GitSync and every team's; settle: the agent's start until every team GitSync applied its repo; RSS after a further minute; push: signed webhook sent ->");
  line("    lastAppliedRevision seen, pushes of one team (3 timeouts of 120 s end them); status: median of 3 `tenantry status -o json`;");
  line("    plan: one `tenantry plan`)");
  for (const r of results) {
    if (r.pushTimeouts > 0) line(`   ${r.teams} teams: ${r.pushTimeouts} of ${(r.push?.n ?? 0) + r.pushFailures} pushes not applied within 120 s`);
    for (const note of r.notes ?? []) line(`   ${r.teams} teams: ${note}`);
  }
  line();
  for (const r of results) line(`   largest object written at ${r.teams} teams: the admin GitSync, ${r.adminGitSyncBytes ? `${(r.adminGitSyncBytes / 1024).toFixed(0)} KiB` : "not read"} (inventory of ${r.inventory} objects, ${r.inventoryForm ?? "?"}); etcd's limit 1536 KiB`);
  const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  line(statusWrites.size === 0 ? "   GitSync status writes refused with 409 Conflict: not counted (the run ended before its count)" : `   GitSync status writes: ${total(statusWrites)}, refused with 409 Conflict: ${total(conflicts)} (goal: none)`);
  if (session !== undefined) line(`   loadavg at end: ${la()}`);

  if (SVG !== "-") {
    writeFileSync(SVG, chart(results.map((r) => ({ teams: r.teams, rss: r.agentPeak, noop: stats(r.noop.map((n) => n.ms)).p50 / 1000 }))));
    line(`   chart: ${SVG}`);
  }
  line(`   raw: ${JSON.stringify(recorded(results, statusWrites, conflicts))}`);
}

if (process.env.BENCH_FROM !== undefined) {
  // Tables and chart from a run's recorded figures (its `raw:` line, or a file of them).
  const recorded = JSON.parse(readFileSync(process.env.BENCH_FROM, "utf8"));
  report(recorded.results, new Map(Object.entries(recorded.statusWrites ?? {})), new Map(Object.entries(recorded.conflicts ?? {})));
  process.stdout.write(`${out.join("\n")}\n`);
  process.exit(0);
}

try {
  await main();
} catch (e) {
  progress(`FAILED: ${e.stack ?? e.message}`);
  process.exitCode = 1;
} finally {
  await session?.cleanup();
}
process.stdout.write(`${out.join("\n")}\n`);
