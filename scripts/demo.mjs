#!/usr/bin/env node
// `npm run demo`: the whole product on a local control plane, in one command.
//   0. installs what the demo needs (scripts/install-tools.sh --for demo: the rows of
//      tools/tools.txt the demo uses; Debian packages when missing, Go builds the first time)
//   1. starts etcd + kube-apiserver + kube-controller-manager, and Gatekeeper's manager as the
//      API server's validating webhook
//   2. makes an admin repo and three team repos with bare git remotes in a temp directory
//   3. starts the agent and bootstraps the cluster from the admin repo (tenantry bootstrap)
//   4. pushes the example app to one team and a forbidden ClusterRole to another
//   5. one refusal by each policy engine: a pod on :latest refused by the ValidatingAdmissionPolicy,
//      then, with that team's binding deleted by hand, by Gatekeeper's webhook (status names the gap)
//   6. shows status, resources, usage and the refused push's condition
// Everything is stopped at the end; --keep leaves it running and prints how to use it.
// There is no kubelet: pods are admitted and stored, never run.

import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const keep = process.argv.includes("--keep");
const cli = join(root, "bin", "tenantry.js");
const started = Date.now();
const teams = ["web", "payments", "data"];

function step(text) {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`\n[${s}s] ${text}\n`);
}

function run(file, args, opts = {}) {
  return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
}

function tenantry(args, opts = {}) {
  return run(process.execPath, [cli, ...args], opts);
}

function tenantryAsync(args, opts = {}) {
  return new Promise((done, fail) => {
    execFile(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      if (err === null) done(stdout);
      else fail(new Error(`tenantry ${args[0]} failed: ${stdout}${stderr}`));
    });
  });
}

function show(args) {
  process.stdout.write(`$ tenantry ${args.join(" ")}\n`);
  try {
    process.stdout.write(tenantry([...args, "--kubeconfig", kubeconfig]));
  } catch (e) {
    process.stdout.write(`${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

function git(cwd, ...args) {
  return run("git", ["-c", "user.name=demo", "-c", "user.email=demo@localhost", ...args], { cwd }).trim();
}

async function waitFor(what, probe, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function kubectlJson(args) {
  try {
    return JSON.parse(run(kubectl, ["--kubeconfig", kubeconfig, ...args, "-o", "json"]));
  } catch {
    return undefined;
  }
}

const work = mkdtempSync(join(tmpdir(), "tenantry-demo-"));
const clusterDir = join(work, "cluster");
let kubeconfig = "";
let kubectl = "";
let agent;

/** Installs the demo's rows of tools/tools.txt; returns the Go-built tools' directories by name. */
function installTools() {
  const script = join(root, "scripts", "install-tools.sh");
  const names = run("bash", [script, "--for", "demo", "--list"]).trim().split("\n");
  process.stdout.write(`  tools/tools.txt rows for the demo: ${names.join(" ")}\n`);
  process.stdout.write("  Go-built ones not yet cached are built from their modules (about 15 minutes on a new 2-core machine)\n");
  const t0 = Date.now();
  const out = execFileSync("bash", [script, "--for", "demo"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  process.stdout.write(`  tools ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

async function main() {
  step("Installing what the demo needs (scripts/install-tools.sh --for demo)");
  const tools = installTools();
  kubectl = join(tools.kubectl, "kubectl");
  if (!existsSync(join(root, "dist", "cli", "main.js"))) {
    step("Building the CLI (npm run build)");
    run("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  }
  step("Starting a local control plane (etcd, kube-apiserver, kube-controller-manager, Gatekeeper's webhook; no kubelet)");
  kubeconfig = execFileSync("bash", [join(root, "scripts", "local-cluster.sh"), "start", clusterDir, "--with-gatekeeper"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  process.stdout.write(`  KUBECONFIG=${kubeconfig}\n`);

  step("Creating the admin repo and three team repos, each with a bare remote");
  const remote = (name) => {
    const path = join(work, "remotes", `${name}.git`);
    run("git", ["init", "--quiet", "--bare", "--initial-branch=main", path]);
    return `file://${path}`;
  };
  const adminUrl = remote("admin");
  const admin = join(work, "admin");
  process.stdout.write(tenantry(["init", admin, "--cluster-name", "demo", "--git-url", adminUrl, "--platform-team", "@demo/platform"]));
  const teamUrls = {};
  for (const team of teams) {
    teamUrls[team] = remote(team);
    // A short interval: the demo shows a push being picked up without waiting a minute.
    const args = ["create-team", team, "--repo-url", teamUrls[team], "--team-repo-dir", join(work, "teams", team), "--interval", "5s", "--commit"];
    if (team === "payments") args.push("--tier", "medium", "--allow-from", "web");
    process.stdout.write(tenantry(args, { cwd: admin }));
  }
  git(admin, "push", "--quiet", adminUrl, "HEAD:main");
  for (const team of teams) git(join(work, "teams", team), "push", "--quiet", teamUrls[team], "HEAD:main");
  process.stdout.write(tenantry(["list"], { cwd: admin }));

  step("Starting the agent (on a real cluster the Deployment in cluster/common runs it; here there is no kubelet, so a process)");
  agent = spawn(process.execPath, [cli, "agent", "--kubeconfig", kubeconfig, "--host", "127.0.0.1", "--port", "0", "--poll-interval", "1"], { stdio: ["ignore", "ignore", "pipe"] });
  const agentLog = join(work, "agent.log");
  agent.stderr.on("data", (chunk) => writeFileSync(agentLog, chunk, { flag: "a" }));

  step("tenantry bootstrap: applies cluster/common (tenantry-system, the GitSync CRD, the admin repo's GitSync), waits for the admin sync, prints status");
  process.stdout.write(`$ tenantry bootstrap --kubeconfig ${kubeconfig}   (in the admin repo; its file:// remote needs no deploy key)\n`);
  // Asynchronously: the agent's log is read meanwhile.
  process.stdout.write(await tenantryAsync(["bootstrap", "--kubeconfig", kubeconfig, "--timeout", "3m"], { cwd: admin }));
  process.stdout.write("  from now on a git push is the only way to change the cluster\n");
  await waitFor("every team's GitSync to be applied", () =>
    teams.every((t) => kubectlJson(["-n", t, "get", "gitsync", t])?.status?.lastAppliedRevision !== undefined),
  );
  process.stdout.write("  admin repo applied; the teams' repos (example app) applied as each team\n");

  step("Team payments pushes a ClusterRole: the API server would refuse it, tenantry refuses the whole revision first");
  const payments = join(work, "teams", "payments");
  writeFileSync(join(payments, "grab.yaml"), "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: grab-everything\nrules:\n  - apiGroups: ['*']\n    resources: ['*']\n    verbs: ['*']\n");
  const k = readFileSync(join(payments, "kustomization.yaml"), "utf8");
  writeFileSync(join(payments, "kustomization.yaml"), k.replace("  - app.yaml\n", "  - app.yaml\n  - grab.yaml\n"));
  git(payments, "add", "--all");
  git(payments, "commit", "--quiet", "-m", "grab everything");
  git(payments, "push", "--quiet", teamUrls.payments, "HEAD:main");
  await waitFor("payments' GitSync to report the refused revision", () =>
    kubectlJson(["-n", "payments", "get", "gitsync", "payments"])?.status?.conditions?.some((c) => c.type === "Ready" && c.reason === "LintFailed"),
  );

  step("Team data pushes a pod on :latest: the policies refuse it (policy engine both: ValidatingAdmissionPolicy first)");
  const data = join(work, "teams", "data");
  const latest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: unpinned\nspec:\n  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}\n  containers:\n    - name: app\n      image: ghcr.io/stefanprodan/podinfo:latest\n      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";
  writeFileSync(join(data, "unpinned.yaml"), latest);
  const wk = readFileSync(join(data, "kustomization.yaml"), "utf8");
  writeFileSync(join(data, "kustomization.yaml"), wk.replace("  - app.yaml\n", "  - app.yaml\n  - unpinned.yaml\n"));
  git(data, "add", "--all");
  git(data, "commit", "--quiet", "-m", "an unpinned pod");
  git(data, "push", "--quiet", teamUrls.data, "HEAD:main");
  const refusedBy = await waitFor("data's GitSync to report the refused revision", () =>
    kubectlJson(["-n", "data", "get", "gitsync", "data"])?.status?.conditions?.find((c) => c.type === "Ready" && c.reason === "ApplyFailed" && c.message.includes("tenantry-image-tags")),
  );
  process.stdout.write(`  data's GitSync: ${refusedBy.reason}: ${refusedBy.message}\n`);

  step("An admin deletes data's ValidatingAdmissionPolicyBinding by hand: Gatekeeper's webhook still refuses, and status names the gap");
  run(kubectl, ["--kubeconfig", kubeconfig, "delete", "validatingadmissionpolicybinding", "data-image-tags"]);
  const pod = join(work, "unpinned-pod.yaml");
  writeFileSync(pod, latest.replace("metadata:\n", "metadata:\n  namespace: data\n"));
  const byGatekeeper = await waitFor("Gatekeeper's refusal", () => {
    try {
      run(kubectl, ["--kubeconfig", kubeconfig, "--as", "system:serviceaccount:data:data", "create", "--dry-run=server", "-f", pod]);
      return undefined;
    } catch (e) {
      return /validation\.gatekeeper\.sh/.test(e.stderr ?? "") ? e.stderr.trim() : undefined;
    }
  }, 30_000);
  process.stdout.write(`$ kubectl --as system:serviceaccount:data:data create --dry-run=server -f unpinned-pod.yaml\n  ${byGatekeeper}\n`);
  show(["status"]);
  process.stdout.write(`$ tenantry sync --namespace tenantry-system --name admin   (the admin repo puts the binding back)\n`);
  tenantry(["sync", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", kubeconfig]);

  step("What tenantry shows");
  show(["status"]);
  show(["resources", "web"]);
  show(["usage", "web"]);
  const cond = kubectlJson(["-n", "payments", "get", "gitsync", "payments"]).status.conditions.find((c) => c.type === "Ready");
  process.stdout.write(`$ kubectl -n payments get gitsync payments  (Ready condition)\n  ${cond.status} ${cond.reason}: ${cond.message}\n`);
  step(`Done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function cleanup(ok) {
  if (keep && ok) {
    process.stdout.write(`\nLeft running (--keep):\n  export KUBECONFIG=${kubeconfig}\n  npx tenantry status\n  admin repo: ${join(work, "admin")}  team repos: ${join(work, "teams")}\n  agent pid ${agent?.pid}: kill ${agent?.pid}\n  stop everything: kill ${agent?.pid}; scripts/local-cluster.sh stop ${clusterDir}; rm -rf ${work}\n`);
    agent?.unref();
    return;
  }
  if (agent !== undefined && agent.exitCode === null) {
    agent.kill("SIGTERM");
    await new Promise((r) => agent.once("exit", r));
  }
  if (existsSync(join(clusterDir, "pids"))) execFileSync("bash", [join(root, "scripts", "local-cluster.sh"), "stop", clusterDir], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
}

try {
  await main();
  await cleanup(true);
} catch (e) {
  process.stderr.write(`demo failed: ${e.message}\n${e.stderr ?? ""}`);
  await cleanup(false);
  process.exitCode = 1;
}
