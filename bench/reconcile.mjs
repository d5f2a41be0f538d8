// Benchmark of the reconciler against a real local control plane (issue 5's bench list).
// Prints figures only: it never asserts a goal and exits 0 unless the benchmark itself
// cannot run. It starts its OWN control plane (scripts/local-cluster.sh) in a temp dir and
// stops it at the end; every process it starts is stopped; everything is on 127.0.0.1.
//
//   npm run bench:reconcile                  (builds dist/ first)
//   BENCH_TEAMS=50 BENCH_PUSHES=10 node bench/reconcile.mjs
//
// Env: BENCH_TEAMS       teams per cold-apply set and for the agent RSS run (default 200)
//      BENCH_PUSHES      webhook pushes for the push->applied latency (default 50)
//      BENCH_NOOP_RUNS   no-op resyncs of the tenantry set (default 3)
//      BENCH_TIMEOUT_S   the whole run is abandoned (and cleaned up) after this (default 3600)
//      BENCH_KEEP=1      keep the temp dir (its path is printed); the cluster is still stopped
//
// What it measures (goals in parentheses; never asserted):
//   1. cold apply of N teams' objects, three ways, each on its own set of N fresh team names:
//      (a) tenantry applyObjects, (b) kubectl apply --server-side, (c) a raw SSA floor
//      (tenantry <= 0.5x kubectl, <= 1.3x floor)
//   2. no-op resync of the (a) set with applyObjects + skipUnchanged (<= 2 s, 0 resourceVersion changes),
//      and 2b. the same as whole reconcile() runs of an admin GitSync (render cached after the first)
//   3. push->applied latency through `tenantry agent --namespace <team>` and a signed
//      GitHub push webhook (p50 <= 1 s)
//   4. `tenantry agent` (all namespaces) RSS with N team GitSyncs reconciled (<= 150 MB)
//
// Progress goes to stderr, results to stdout.

import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { benchSession, git, intEnv, la, mapLimit, procCpu, procStatus, progress, ROOT, run, sec, sleep, stats, waitUntil } from "./lib/harness.mjs";

const TEAMS = intEnv("BENCH_TEAMS", 200);
const PUSHES = intEnv("BENCH_PUSHES", 50);
const NOOP_RUNS = intEnv("BENCH_NOOP_RUNS", 3);
const FLOOR_CONCURRENCY = 16;
const HOOK_SECRET = "bench-webhook-token";

function nproc() {
  try {
    return Number.parseInt(execFileSync("nproc", { encoding: "utf8" }).trim(), 10);
  } catch {
    return availableParallelism?.() ?? cpus().length;
  }
}

// Every process this bench starts is stopped, whatever happens (bench/lib/harness.mjs).
const session = benchSession("reconcile", intEnv("BENCH_TIMEOUT_S", 3600));
const { work, cleanup, startAgent } = session;
const benchStart = performance.now();

// ---- main ----------------------------------------------------------------------------

const out = [];
const line = (s = "") => out.push(s);

async function main() {
  const dist = (p) => pathToFileURL(join(ROOT, "dist", p)).href;
  if (!existsSync(join(ROOT, "dist", "cluster", "apply.js"))) throw new Error("dist/ is missing: run `npm run build` (or `npm run bench:reconcile`)");
  const { init } = await import(dist("generate/init.js"));
  const { planCreateTeam } = await import(dist("generate/team.js"));
  const { applyChanges } = await import(dist("repo/changes.js"));
  const { templates } = await import(dist("repo/templates.js"));
  const { renderTeamRepo } = await import(dist("render/repos.js"));
  const { buildDir } = await import(dist("build/kustomize.js"));
  const { findBinary, generatedVersions: versions } = await import(dist("toolchain.js"));
  const { applyObjects, applyStage, FIELD_MANAGER } = await import(dist("cluster/apply.js"));
  const { RestClient } = await import(dist("cluster/rest.js"));
  const { loadAccess } = await import(dist("cluster/access.js"));
  const { ownershipLabels } = await import(dist("model/labels.js"));
  const { reconcile } = await import(dist("sync/reconcile.js"));
  const { stringify } = await import("yaml");

  const cores = nproc();
  // The pinned kubectl (scripts/install-tools.sh kubectl): the comparison runs the client of the server's release.
  const kubectlFile = findBinary("kubectl").file;
  const kubectlVersion = execFileSync(kubectlFile, ["version", "--client"], { encoding: "utf8", timeout: 10_000 }).split("\n")[0].replace("Client Version: ", "");
  let kustomizeVersion;
  try {
    const k = findBinary("build");
    kustomizeVersion = `${k.source}: ${k.file}`;
  } catch (e) {
    kustomizeVersion = `not found (${e.message})`;
  }
  line(`nproc:     ${cores}`);
  line(`node:      ${process.version}`);
  line(`cpu:       ${cpus()[0]?.model ?? "?"}`);
  line(`kubectl:   ${kubectlVersion}`);
  line(`build service: ${kustomizeVersion}`);
  line(`loadavg:   ${la()} (at start; other load on the machine skews every figure)`);
  line(`runs:      BENCH_TEAMS=${TEAMS}, BENCH_PUSHES=${PUSHES}, BENCH_NOOP_RUNS=${NOOP_RUNS}`);

  // ---- control plane ----
  const { kubeconfig, ms: tCluster } = await session.startCluster();
  let t0;
  progress(`control plane ready in ${sec(tCluster)} s: ${kubeconfig}`);
  const admin = loadAccess(kubeconfig);
  const api = RestClient.forConfig(admin);
  line(`cluster:   ${admin.cluster.server} (started in ${sec(tCluster)} s)`);
  const componentPid = (c) => session.componentPid(c);
  const pids = { apiserver: componentPid("kube-apiserver"), etcd: componentPid("etcd") };
  /** CPU seconds spent by this process (+ its finished children, e.g. kubectl), the apiserver and etcd since `mark()`. */
  const mark = () => {
    const self = process.cpuUsage();
    const kids = procCpu(process.pid).children;
    const a = procCpu(pids.apiserver).own;
    const e = procCpu(pids.etcd).own;
    const t = performance.now();
    return () => {
      const d = process.cpuUsage(self);
      return {
        ms: performance.now() - t,
        client: (d.user + d.system) / 1e6 + (procCpu(process.pid).children - kids),
        apiserver: procCpu(pids.apiserver).own - a,
        etcd: procCpu(pids.etcd).own - e,
      };
    };
  };
  line();

  // ---- admin repo with 3 sets of TEAMS teams ----
  const width = Math.max(3, String(TEAMS - 1).length);
  const setNames = { a: "ta", b: "tb", c: "tc" };
  const teamsOf = (prefix) => Array.from({ length: TEAMS }, (_, i) => `${prefix}-${String(i).padStart(width, "0")}`);
  const sets = Object.fromEntries(Object.entries(setNames).map(([k, p]) => [k, teamsOf(p)]));
  const remotes = join(work, "remotes");
  mkdirSync(remotes, { recursive: true });
  const adminRepo = join(work, "admin");
  progress(`generating an admin repo with 3 x ${TEAMS} teams (init + planCreateTeam + applyChanges, no per-team kustomize)`);
  t0 = performance.now();
  await init(templates, adminRepo, { clusterName: "bench", gitUrl: `file://${remotes}/admin.git`, platformTeam: undefined, policyEngine: "vap" });
  const plans = new Map();
  const all = [...sets.a, ...sets.b, ...sets.c];
  for (const [i, team] of all.entries()) {
    const plan = planCreateTeam(templates, adminRepo, team, {});
    applyChanges(adminRepo, plan.changes);
    plans.set(team, plan);
    if ((i + 1) % TEAMS === 0) progress(`  ${i + 1}/${all.length} teams`);
  }
  const tGenerate = performance.now() - t0;

  progress(`rendering: kustomize build cluster/common and each of the ${all.length} cluster/<team> (concurrency ${cores})`);
  t0 = performance.now();
  const common = await buildDir(join(adminRepo, "cluster", "common"));
  const rendered = new Map();
  await mapLimit(all, cores, async (team, i) => {
    rendered.set(team, await buildDir(join(adminRepo, "cluster", team)));
    if ((i + 1) % 100 === 0) progress(`  rendered ${i + 1}/${all.length}`);
  });
  const tRender = performance.now() - t0;
  const labels = ownershipLabels({ metadata: { namespace: "tenantry-system", name: "admin" }, spec: {} });
  const withLabels = (o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...labels } } });
  const objectsOf = (teams) => teams.flatMap((t) => rendered.get(t)).map(withLabels);
  const objs = { a: objectsOf(sets.a), b: objectsOf(sets.b), c: objectsOf(sets.c) };
  const perTeam = rendered.get(sets.a[0]).length;
  const kinds = [...new Set(objs.a.map((o) => o.kind))];
  line(`setup: admin repo generated in ${sec(tGenerate)} s; ${all.length + 1} kustomize builds in ${sec(tRender)} s (${(tRender / (all.length + 1)).toFixed(0)} ms each, ${cores} at a time)`);
  line(`       each cluster/<team> is built separately: building the aggregate root at this size is superlinear in`);
  line(`       kustomize (kubernetes-sigs/kustomize#5084). ${perTeam} objects per team (${kinds.length} kinds), ${objs.a.length} per set;`);
  line(`       cluster/common (${common.length} objects: CRD, tenantry-system, ClusterRoles, VAPs) is applied once before the runs and`);
  line(`       is not timed; objects carry the admin GitSync's ownership labels, as a reconcile would add them.`);
  line();

  progress(`applying cluster/common (${common.length} objects) once`);
  await applyObjects(admin, common.map(withLabels), { fieldManager: FIELD_MANAGER, force: true });

  // ---- 1. cold apply, three ways ----
  const inSet = (teams) => {
    const names = new Set(teams);
    return (ns) => names.has(ns);
  };

  /** Waits until the controller-manager has finished reacting to a set (default SAs, ReplicaSets, Pods). */
  async function settle(label, teams) {
    const has = inSet(teams);
    const t = performance.now();
    let last = "";
    let stable = 0;
    try {
      await waitUntil(
        `${label} to settle`,
        async () => {
          const [sas, rss, pods] = await Promise.all([
            api.listObjects("v1", "ServiceAccount", undefined, undefined),
            api.listObjects("apps/v1", "ReplicaSet", undefined, "app.kubernetes.io/name=tenantry-agent"),
            api.listObjects("v1", "Pod", undefined, "app.kubernetes.io/name=tenantry-agent"),
          ]);
          const n = (l, f = () => true) => l.items.filter((o) => has(o.metadata.namespace) && f(o)).length;
          const now = `${n(sas, (o) => o.metadata.name === "default")}/${n(rss)}/${n(pods)}`;
          stable = now === last ? stable + 1 : 0;
          last = now;
          return n(sas, (o) => o.metadata.name === "default") >= teams.length && n(rss) >= teams.length && stable >= 3;
        },
        120_000,
        1000,
      );
    } catch (e) {
      progress(`  WARNING: ${e.message} (default SAs/ReplicaSets/Pods: ${last})`);
    }
    progress(`  ${label}: cluster settled in ${sec(performance.now() - t)} s (default SAs/ReplicaSets/Pods ${last}); loadavg ${la()}`);
  }

  progress(`1a. tenantry applyObjects of ${objs.a.length} objects (${TEAMS} teams, set ${setNames.a}-*); loadavg ${la()}`);
  let m = mark();
  await applyObjects(admin, objs.a, { fieldManager: FIELD_MANAGER, force: true });
  const cpuTenantry = m();
  const tTenantry = cpuTenantry.ms;
  progress(`  ${sec(tTenantry)} s`);
  await settle("1a", sets.a);

  progress(`1b. kubectl apply --server-side of ${objs.b.length} objects (set ${setNames.b}-*): namespaces first, then the rest; loadavg ${la()}`);
  const nsFile = join(work, "kubectl-namespaces.yaml");
  const restFile = join(work, "kubectl-rest.yaml");
  const toYaml = (list) => list.map((o) => stringify(o)).join("---\n");
  writeFileSync(nsFile, toYaml(objs.b.filter((o) => applyStage(o) === 0)));
  writeFileSync(restFile, toYaml(objs.b.filter((o) => applyStage(o) !== 0)));
  const kubectl = (file) =>
    run(kubectlFile, ["--kubeconfig", kubeconfig, "--cache-dir", join(work, "kube-cache"), "apply", "--server-side", "--field-manager=bench", "-f", file], { timeoutMs: 900_000 });
  let kubectlRetried = false;
  t0 = performance.now();
  m = mark();
  await kubectl(nsFile);
  const tKubectlNs = performance.now() - t0;
  try {
    await kubectl(restFile);
  } catch (e) {
    progress(`  kubectl failed once, retrying: ${e.message}`);
    kubectlRetried = true;
    await kubectl(restFile);
  }
  const cpuKubectl = m();
  const tKubectl = cpuKubectl.ms;
  progress(`  ${sec(tKubectl)} s (namespaces ${sec(tKubectlNs)} s)`);
  await settle("1b", sets.b);

  progress(`1c. floor: raw SSA PATCH of ${objs.c.length} objects (set ${setNames.c}-*), concurrency ${FLOOR_CONCURRENCY}, namespaces first; loadavg ${la()}`);
  t0 = performance.now();
  m = mark();
  const floorClient = RestClient.forConfig(admin);
  for (const o of [...new Map(objs.c.map((o) => [`${o.apiVersion} ${o.kind}`, o])).values()]) await floorClient.resource(o.apiVersion, o.kind);
  const tFloorDiscovery = performance.now() - t0;
  for (const stage of [objs.c.filter((o) => applyStage(o) === 0), objs.c.filter((o) => applyStage(o) !== 0)]) {
    await mapLimit(stage, FLOOR_CONCURRENCY, (o) => floorClient.apply(o, { fieldManager: "bench-floor", force: true }));
  }
  const cpuFloor = m();
  const tFloor = cpuFloor.ms;
  progress(`  ${sec(tFloor)} s (discovery ${sec(tFloorDiscovery)} s)`);
  await settle("1c", sets.c);

  line(`1. cold apply of ${TEAMS} teams (${objs.a.length} objects) from empty, each way on its own ${TEAMS} fresh team names`);
  line(`   ${"way".padEnd(58)} ${"s".padStart(7)} ${"obj/s".padStart(6)}   CPU s: ${"client".padStart(6)} ${"apisrv".padStart(6)} ${"etcd".padStart(5)}`);
  const cpuCols = (c) => `${c.client.toFixed(1).padStart(6)} ${c.apiserver.toFixed(1).padStart(6)} ${c.etcd.toFixed(1).padStart(5)}`;
  const row = (label, c) => line(`   ${label.padEnd(58)} ${sec(c.ms).padStart(7)} ${(objs.a.length / (c.ms / 1000)).toFixed(0).padStart(6)}          ${cpuCols(c)}`);
  row("(a) tenantry applyObjects (staged, concurrency 16)", cpuTenantry);
  row(`(b) kubectl apply --server-side (ns file, then rest${kubectlRetried ? "; retried once" : ""})`, cpuKubectl);
  row(`(c) floor: RestClient.apply x${FLOOR_CONCURRENCY}, namespaces first`, cpuFloor);
  line(`   tenantry / kubectl = ${(tTenantry / tKubectl).toFixed(2)}x (goal <= 0.5x)`);
  line(`   tenantry / floor   = ${(tTenantry / tFloor).toFixed(2)}x (goal <= 1.3x)`);
  line(`   (CPU s: this bench process, or kubectl for (b); kube-apiserver; etcd. CPU is less skewed by other load than wall time)`);
  line();

  // ---- 2. no-op resync of set a ----
  const setA = inSet(sets.a);
  const idOf = (o) => `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
  const wanted = new Set(objs.a.map(idOf));
  const kindList = [...new Map(objs.a.map((o) => [`${o.apiVersion} ${o.kind}`, o])).values()];
  async function snapshot() {
    const snap = new Map();
    for (const k of kindList) {
      const list = await api.listObjects(k.apiVersion, k.kind);
      for (const o of list.items) {
        const id = idOf({ ...o, apiVersion: k.apiVersion, kind: k.kind });
        if (!wanted.has(id)) continue;
        const mf = (o.metadata.managedFields ?? []).filter((m) => m.manager === FIELD_MANAGER && m.operation === "Apply");
        snap.set(id, { rv: o.metadata.resourceVersion, applyTime: mf.map((m) => m.time).join(",") });
      }
    }
    return snap;
  }
  function diff(before, after) {
    let rv = 0;
    let byApply = 0;
    const changedKinds = new Map();
    for (const [id, b] of before) {
      const a = after.get(id);
      if (a === undefined || a.rv === b.rv) continue;
      rv++;
      const kind = id.split("|")[1];
      changedKinds.set(kind, (changedKinds.get(kind) ?? 0) + 1);
      if (a.applyTime !== b.applyTime) byApply++;
    }
    return { rv, byApply, kinds: [...changedKinds].map(([k, n]) => `${k} ${n}`).join(", ") };
  }
  const noops = [];
  let tList = performance.now();
  let before = await snapshot();
  tList = performance.now() - tList;
  progress(`2. no-op resync of set ${setNames.a}-* (${before.size}/${wanted.size} objects found), ${NOOP_RUNS} runs; loadavg ${la()}`);
  const skipUnchanged = { labelSelector: Object.entries(labels).filter(([k]) => k.startsWith("tenantry.dev/sync-")).map(([k, v]) => `${k}=${v}`).join(",") };
  let unchangedCounts = [];
  for (let i = 0; i < NOOP_RUNS; i++) {
    m = mark();
    const summary = await applyObjects(admin, objs.a, { fieldManager: FIELD_MANAGER, force: true, skipUnchanged });
    unchangedCounts.push(`${summary.unchanged}/${objs.a.length}`);
    const c = m();
    const ms = c.ms;
    const after = await snapshot();
    const d = diff(before, after);
    noops.push({ ms, cpu: c, ...d });
    progress(`  run ${i + 1}: ${sec(ms)} s, ${d.rv} resourceVersion changes (${d.byApply} with a new tenantry apply time)${d.kinds ? `: ${d.kinds}` : ""}`);
    before = after;
  }
  const noopStats = stats(noops.map((n) => n.ms));
  line(`2. no-op resync of the ${TEAMS} teams of (a) with applyObjects (skipUnchanged: ${skipUnchanged.labelSelector}), ${NOOP_RUNS} runs`);
  line(`   objects found unchanged (not sent) per run: ${unchangedCounts.join(", ")}`);
  line(`   time: median ${sec(noopStats.p50)} s, min ${sec(noopStats.min)} s, max ${sec(noopStats.max)} s (goal <= 2 s)`);
  line(`   CPU s per run (client/apiserver/etcd): ${noops.map((n) => `${n.cpu.client.toFixed(1)}/${n.cpu.apiserver.toFixed(1)}/${n.cpu.etcd.toFixed(1)}`).join(", ")}`);
  line(`   for comparison: LISTing the ${kindList.length} kinds across all namespaces (${before.size} of these objects, with managedFields) took ${sec(tList)} s`);
  line(`   resourceVersion changes per run: ${noops.map((n) => n.rv).join(", ")} (goal 0)`);
  line(`   ... of which the tenantry apply wrote (managedFields time moved): ${noops.map((n) => n.byApply).join(", ")}${noops.some((n) => n.kinds) ? `; kinds: ${[...new Set(noops.map((n) => n.kinds).filter(Boolean))].join(" / ")}` : ""}`);
  line(`   (others are controllers writing status between the snapshots, e.g. Deployment/ResourceQuota status)`);
  line();

  // ---- 2b. the same as a whole reconcile: fetch, render (cached after the first run), skip ----
  {
    const benchDir = join(adminRepo, "bench-a");
    mkdirSync(benchDir, { recursive: true });
    writeFileSync(join(benchDir, "kustomization.yaml"), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${sets.a.map((t) => `  - ../cluster/${t}\n`).join("")}`);
    const adminRemote = join(remotes, "admin.git");
    git(work, "init", "--quiet", "--bare", "--initial-branch=main", adminRemote);
    git(adminRepo, "init", "--quiet", "--initial-branch=main");
    git(adminRepo, "add", "--all");
    git(adminRepo, "commit", "--quiet", "-m", "bench");
    git(adminRepo, "push", "--quiet", `file://${adminRemote}`, "HEAD:main");
    const gs = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: "tenantry-system" }, spec: { url: `file://${adminRemote}`, ref: { branch: "main" }, path: "bench-a", interval: "1h", prune: false } };
    progress(`2b. reconcile() of an admin GitSync rendering set ${setNames.a}-* (path bench-a), 1 cold + ${NOOP_RUNS} cached; loadavg ${la()}`);
    const runs = [];
    let before2 = await snapshot();
    for (let i = 0; i <= NOOP_RUNS; i++) {
      m = mark();
      const o = await reconcile(gs, { agent: admin });
      const c = m();
      const after = await snapshot();
      const d = diff(before2, after);
      before2 = after;
      runs.push({ c, o, d });
      progress(`  run ${i}${i === 0 ? " (render not cached)" : ""}: ${sec(c.ms)} s, ${o.reason}: ${o.message}; ${d.rv} resourceVersion changes`);
    }
    const cached = stats(runs.slice(1).map((r) => r.c.ms));
    line(`2b. no-op resync as a whole reconcile (fetch, kustomize build per team, lint, skip, no prune) of the ${TEAMS} teams of (a)`);
    line(`   first run (render not cached): ${sec(runs[0].c.ms)} s, CPU s client ${runs[0].c.client.toFixed(1)} (incl. kustomize) / apiserver ${runs[0].c.apiserver.toFixed(1)}`);
    line(`   render cached: median ${sec(cached.p50)} s, min ${sec(cached.min)} s, max ${sec(cached.max)} s (goal <= 2 s); CPU s per run (client/apiserver/etcd): ${runs.slice(1).map((r) => `${r.c.client.toFixed(1)}/${r.c.apiserver.toFixed(1)}/${r.c.etcd.toFixed(1)}`).join(", ")}`);
    line(`   outcome: ${runs[runs.length - 1].o.message}; resourceVersion changes per run: ${runs.map((r) => r.d.rv).join(", ")} (goal 0)`);
    line();
  }

  // ---- 3. push -> applied through webhooks ----
  const hookTeam = sets.a[0];
  const hookRemote = join(remotes, "hook.git");
  const hookRepo = join(work, "hook-repo");
  progress(`3. webhook latency: team ${hookTeam}, bare remote ${hookRemote}; loadavg ${la()}`);
  git(work, "init", "--quiet", "--bare", "--initial-branch=main", hookRemote);
  const plan = plans.get(hookTeam);
  mkdirSync(hookRepo, { recursive: true });
  applyChanges(hookRepo, { writes: renderTeamRepo(templates, plan.config, plan.spec, versions()), deletes: [] });
  const kust = readFileSync(join(hookRepo, "kustomization.yaml"), "utf8");
  const withBench = kust.replace(/^resources:\n/m, "resources:\n  - bench.yaml\n");
  if (withBench === kust) throw new Error(`cannot add bench.yaml to ${hookRepo}/kustomization.yaml`);
  writeFileSync(join(hookRepo, "kustomization.yaml"), withBench);
  const writeBench = (i) => writeFileSync(join(hookRepo, "bench.yaml"), stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bench-push" }, data: { push: String(i) } }));
  writeBench(0);
  git(hookRepo, "init", "--quiet", "--initial-branch=main");
  const commitAndPush = (msg) => {
    git(hookRepo, "add", "--all");
    git(hookRepo, "commit", "--quiet", "-m", msg);
    git(hookRepo, "push", "--quiet", "--force", `file://${hookRemote}`, "HEAD:main");
    return git(hookRepo, "rev-parse", "HEAD");
  };
  let sha = commitAndPush("initial");
  const gsHeader = (ns) => ({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: ns, namespace: ns } });
  await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "webhook", namespace: hookTeam }, stringData: { token: HOOK_SECRET } }, { fieldManager: "bench", force: true });
  await api.apply({ ...gsHeader(hookTeam), spec: { url: `file://${hookRemote}`, interval: "1h", webhookSecretRef: { name: "webhook" } } }, { fieldManager: "bench", force: true });
  const applied = async (ns) => (await api.readObject(gsHeader(ns))).status?.lastAppliedRevision;
  // Spacing 0: this measures the pipeline. With the default (10 s), pushes closer together
  // than that after a run wait for it: a flood costs one run per spacing (docs/reconciler.md).
  const hookAgent = await startAgent(["--namespace", hookTeam, "--kubeconfig", kubeconfig, "--trigger-spacing", "0"]);
  progress(`  agent pid ${hookAgent.child.pid} on port ${hookAgent.port}; waiting for the first reconcile`);
  const hookCpu0 = procCpu(hookAgent.child.pid);
  await waitUntil("the first reconcile of the hook team", async () => (await applied(hookTeam)) === `main@sha1:${sha}`, 120_000, 100);
  const latencies = [];
  const fromCommit = [];
  const pushMs = [];
  const reconcileS = [];
  const revisions = [];
  let hookErrors = 0;
  for (let i = 1; i <= PUSHES; i++) {
    const tCommit = performance.now();
    writeBench(i);
    sha = commitAndPush(`push ${i}`);
    const tSend = performance.now();
    pushMs.push(tSend - tCommit);
    const body = JSON.stringify({ ref: "refs/heads/main", after: sha, repository: { full_name: "bench/hook" } });
    const res = await fetch(`http://127.0.0.1:${hookAgent.port}/hooks/${hookTeam}/${hookTeam}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": `sha256=${createHmac("sha256", HOOK_SECRET).update(body).digest("hex")}` },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await res.text();
    if (res.status !== 202) {
      hookErrors++;
      progress(`  push ${i}: webhook answered ${res.status}`);
      continue;
    }
    try {
      await waitUntil(`revision ${sha}`, async () => (await applied(hookTeam)) === `main@sha1:${sha}`, 30_000, 20);
    } catch (e) {
      hookErrors++;
      progress(`  push ${i}: ${e.message}`);
      continue;
    }
    const done = performance.now();
    latencies.push(done - tSend);
    fromCommit.push(done - tCommit);
    revisions.push(`main@sha1:${sha}`);
    if (i % 10 === 0 || i === PUSHES) progress(`  ${i}/${PUSHES} pushes, last ${(done - tSend).toFixed(0)} ms`);
  }
  // The agent logs "reconciled" after it wrote the status (and an Event): read them at the end.
  await sleep(1000);
  for (const r of revisions) {
    const l = hookAgent.logs.find((x) => x.msg === "reconciled" && x.revision === r);
    if (l !== undefined) reconcileS.push(l.seconds * 1000);
  }
  const hookStatus = procStatus(hookAgent.child.pid);
  const hookCpu1 = procCpu(hookAgent.child.pid);
  const hookCpu = { own: hookCpu1.own - hookCpu0.own, children: hookCpu1.children - hookCpu0.children };
  const hookWarnings = hookAgent.logs.filter((l) => l.level === "warn" || l.level === "error").length;
  await hookAgent.stop();
  const lat = stats(latencies);
  const latC = stats(fromCommit);
  const rec = stats(reconcileS);
  const push = stats(pushMs);
  line(`3. push->applied over ${PUSHES} signed GitHub push webhooks (tenantry agent --namespace ${hookTeam}, interval 1h)`);
  line(`   ${"ms".padEnd(50)} ${"p50".padStart(6)} ${"p90".padStart(6)} ${"p99".padStart(6)} ${"max".padStart(6)}`);
  const lrow = (label, s) => line(`   ${label.padEnd(50)} ${s.p50.toFixed(0).padStart(6)} ${s.p90.toFixed(0).padStart(6)} ${s.p99.toFixed(0).padStart(6)} ${s.max.toFixed(0).padStart(6)}`);
  lrow("webhook sent -> lastAppliedRevision seen (goal p50 <= 1000)", lat);
  lrow("  the agent's reconcile (its log's `seconds`)", rec);
  lrow("git commit + push (before the webhook)", push);
  lrow("commit -> lastAppliedRevision seen", latC);
  line(`   ${latencies.length}/${PUSHES} applied; ${hookErrors} failed; agent warn/error log lines: ${hookWarnings}; agent VmHWM ${hookStatus.hwm.toFixed(0)} MB`);
  line(`   agent CPU after its start: ${hookCpu.own.toFixed(1)} s own + ${hookCpu.children.toFixed(1)} s children (git, kustomize) = ${(((hookCpu.own + hookCpu.children) * 1000) / (PUSHES + 1)).toFixed(0)} ms per reconcile (${PUSHES + 1} reconciles)`);
  line(`   (the status is polled every 20 ms with RestClient.readObject over a keep-alive connection)`);
  line();

  // ---- 4. agent RSS with TEAMS team GitSyncs ----
  progress(`4. agent RSS: deleting the GitSyncs of sets ${setNames.b}-* and ${setNames.c}-*, pointing the ${TEAMS} of ${setNames.a}-* at one small repo; loadavg ${la()}`);
  await mapLimit([...sets.b, ...sets.c], FLOOR_CONCURRENCY, (ns) => api.deleteObject(gsHeader(ns)).catch(() => undefined));
  const smallRemote = join(remotes, "small.git");
  const smallRepo = join(work, "small-repo");
  git(work, "init", "--quiet", "--bare", "--initial-branch=main", smallRemote);
  mkdirSync(smallRepo, { recursive: true });
  writeFileSync(join(smallRepo, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - config.yaml\n");
  writeFileSync(join(smallRepo, "config.yaml"), stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bench-small" }, data: { hello: "world" } }));
  git(smallRepo, "init", "--quiet", "--initial-branch=main");
  git(smallRepo, "add", "--all");
  git(smallRepo, "commit", "--quiet", "-m", "small");
  git(smallRepo, "push", "--quiet", `file://${smallRemote}`, "HEAD:main");
  const smallRev = `main@sha1:${git(smallRepo, "rev-parse", "HEAD")}`;
  // The admin repo's own GitSync (from cluster/common) points at a remote that was never pushed:
  // suspended, so the agent only reads it.
  await api.apply({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: "tenantry-system" }, spec: { suspend: true } }, { fieldManager: "bench", force: true });
  await mapLimit(sets.a, FLOOR_CONCURRENCY, (ns) => api.apply({ ...gsHeader(ns), spec: { url: `file://${smallRemote}`, interval: "1h" } }, { fieldManager: "bench", force: true }));
  const gsCount = (await api.listObjects("tenantry.dev/v1alpha1", "GitSync")).items.length;
  progress(`  ${gsCount} GitSyncs in the cluster (incl. tenantry-system/admin); starting tenantry agent (all namespaces)`);
  const rssAgent = await startAgent(["--kubeconfig", kubeconfig]);
  const pid = rssAgent.child.pid;
  const agentCpu0 = procCpu(pid);
  let peakSampled = 0;
  const sampler = setInterval(() => {
    const s = procStatus(pid);
    if (s.rss > peakSampled) peakSampled = s.rss;
  }, 200);
  const tAgent = performance.now();
  let converged = NaN;
  let last = -1;
  try {
    await waitUntil(
      `all ${TEAMS} GitSyncs to be applied`,
      async () => {
        const list = await api.listObjects("tenantry.dev/v1alpha1", "GitSync");
        const n = list.items.filter((g) => setA(g.metadata.namespace) && g.status?.lastAppliedRevision === smallRev).length;
        if (n !== last && (n === TEAMS || Math.floor(n / 25) !== Math.floor(last / 25))) progress(`  ${n}/${TEAMS} applied, VmRSS ${procStatus(pid).rss.toFixed(0)} MB`);
        last = n;
        return n >= TEAMS;
      },
      900_000,
      1000,
    );
    converged = performance.now() - tAgent;
  } catch (e) {
    progress(`  ${e.message}`);
  }
  const atConverge = procStatus(pid);
  await sleep(5000);
  const idle = procStatus(pid);
  const agentCpu1 = procCpu(pid);
  const agentCpu = { own: agentCpu1.own - agentCpu0.own, children: agentCpu1.children - agentCpu0.children };
  clearInterval(sampler);
  const reconciles = rssAgent.logs.filter((l) => l.msg === "reconciled");
  const failures = rssAgent.logs.filter((l) => l.level === "warn" || l.level === "error");
  const recS = stats(reconciles.map((l) => l.seconds * 1000));
  await rssAgent.stop();
  line(`4. tenantry agent (all namespaces, concurrency 4) with ${TEAMS} team GitSyncs on one small repo (interval 1h)`);
  line(`   converged (all ${TEAMS} lastAppliedRevision) in ${Number.isNaN(converged) ? "DID NOT CONVERGE" : `${sec(converged)} s`} after start; ${reconciles.length} reconciles logged, ${failures.length} warn/error lines`);
  line(`   reconcile duration (its log): p50 ${recS.p50.toFixed(0)} ms, p90 ${recS.p90.toFixed(0)} ms, max ${recS.max.toFixed(0)} ms`);
  line(`   agent CPU after its start: ${agentCpu.own.toFixed(1)} s own + ${agentCpu.children.toFixed(1)} s children (git, kustomize) = ${(((agentCpu.own + agentCpu.children) * 1000) / Math.max(1, reconciles.length)).toFixed(0)} ms per reconcile`);
  line(`   VmRSS at convergence ${atConverge.rss.toFixed(0)} MB, 5 s later ${idle.rss.toFixed(0)} MB; peak sampled ${Math.max(peakSampled, idle.rss).toFixed(0)} MB; VmHWM ${idle.hwm.toFixed(0)} MB (goal <= 150 MB)`);
  if (failures.length > 0) line(`   first warn/error: ${JSON.stringify(failures[0]).slice(0, 300)}`);
  line();
}

let failed;
try {
  await main();
} catch (e) {
  failed = e;
  progress(`FAILED: ${e.stack ?? e}`);
}
line(`loadavg at end: ${la()}`);
line(`bench wall time: ${sec(performance.now() - benchStart)} s`);
await cleanup();
process.stdout.write(out.join("\n") + "\n");
process.exit(failed === undefined ? 0 : 1);
