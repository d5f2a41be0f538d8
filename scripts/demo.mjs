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
// --engine flux: the same admin repo on Flux: source-controller and kustomize-controller run as
// local processes (local-cluster.sh --with-flux) instead of tenantry's agent, the remotes are
// served over HTTP on 127.0.0.1 (scripts/git-http.mjs: Flux takes no file:// URL), and each
// refusal shows in the team's Flux Kustomization instead of its GitSync.
// --with-controlplane-team: one more team, studio, on a control plane of its own (the KubeFlex
// tier, docs/isolation.md): a second local control plane stands for the API server KubeFlex
// would run and scripts/kubeflex-standin.mjs does what KubeFlex's operator does on the host;
// the agent applies studio's repo into that API server as studio's ServiceAccount there, and
// the credentials `tenantry kubeconfig studio` gives are shown working there and refused by the
// host. Tenantry's engine only (under flux the tier is refused).
// There is no kubelet: pods are admitted and stored, never run.

import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const keep = process.argv.includes("--keep");
const engineAt = process.argv.indexOf("--engine");
const engine = engineAt === -1 ? "tenantry" : process.argv[engineAt + 1];
if (engine !== "tenantry" && engine !== "flux") {
  process.stderr.write(`demo: --engine takes tenantry or flux, not ${engine ?? "nothing"}\n`);
  process.exit(2);
}
const flux = engine === "flux";
const withControlPlaneTeam = process.argv.includes("--with-controlplane-team");
if (withControlPlaneTeam && flux) {
  process.stderr.write("demo: --with-controlplane-team needs the tenantry engine (a controlplane team under Flux is not built yet)\n");
  process.exit(2);
}
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
const studioClusterDir = join(work, "studio-cluster");
let kubeconfig = "";
let kubectl = "";
let agent;
let gitServer;

/** Installs the demo's rows of tools/tools.txt; returns the Go-built tools' directories by name. */
function installTools() {
  const script = join(root, "scripts", "install-tools.sh");
  const withFlux = flux ? ["--with", "flux"] : [];
  const names = run("bash", [script, "--for", "demo", ...withFlux, "--list"]).trim().split("\n");
  process.stdout.write(`  tools/tools.txt rows for the demo: ${names.join(" ")}\n`);
  process.stdout.write("  Go-built ones not yet cached are built from their modules (about 15 minutes on a new 2-core machine)\n");
  const t0 = Date.now();
  const out = execFileSync("bash", [script, "--for", "demo", ...withFlux], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
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
  step(`Starting a local control plane (etcd, kube-apiserver, kube-controller-manager, Gatekeeper's webhook${flux ? ", Flux's source-controller and kustomize-controller" : ""}; no kubelet)`);
  const clusterArgs = ["start", clusterDir, "--with-gatekeeper", ...(flux ? ["--with-flux"] : [])];
  kubeconfig = execFileSync("bash", [join(root, "scripts", "local-cluster.sh"), ...clusterArgs], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  process.stdout.write(`  KUBECONFIG=${kubeconfig}\n`);

  step(`Creating the admin repo and three team repos, each with a bare remote${flux ? " served over HTTP on 127.0.0.1 (Flux takes no file:// URL)" : ""}`);
  const remotes = join(work, "remotes");
  let httpBase = "";
  if (flux) {
    execFileSync("mkdir", ["-p", remotes]);
    gitServer = spawn(process.execPath, [join(root, "scripts", "git-http.mjs"), remotes], { stdio: ["ignore", "pipe", "inherit"] });
    httpBase = await new Promise((resolveUrl, reject) => {
      gitServer.stdout.once("data", (d) => resolveUrl(String(d).trim()));
      gitServer.once("exit", (code) => reject(new Error(`scripts/git-http.mjs exited (${code})`)));
    });
  }
  // The URL the engine fetches; the demo itself pushes to the bare repository's path.
  const pushTo = {};
  const remote = (name) => {
    const path = join(remotes, `${name}.git`);
    run("git", ["init", "--quiet", "--bare", "--initial-branch=main", path]);
    const url = flux ? `${httpBase}/${name}.git` : `file://${path}`;
    pushTo[url] = path;
    return url;
  };
  const adminUrl = remote("admin");
  const admin = join(work, "admin");
  process.stdout.write(tenantry(["init", admin, "--cluster-name", "demo", "--git-url", adminUrl, "--platform-team", "@demo/platform", "--engine", engine]));
  const teamUrls = {};
  for (const team of teams) {
    teamUrls[team] = remote(team);
    // A short interval: the demo shows a push being picked up without waiting a minute.
    const args = ["create-team", team, "--repo-url", teamUrls[team], "--team-repo-dir", join(work, "teams", team), "--interval", "5s", "--commit"];
    if (team === "payments") args.push("--tier", "medium", "--allow-from", "web");
    process.stdout.write(tenantry(args, { cwd: admin }));
  }
  git(admin, "push", "--quiet", pushTo[adminUrl], "HEAD:main");
  for (const team of teams) git(join(work, "teams", team), "push", "--quiet", pushTo[teamUrls[team]], "HEAD:main");
  process.stdout.write(tenantry(["list"], { cwd: admin }));

  if (flux) {
    step("Flux's controllers already run (local processes standing for the Deployments in cluster/common/flux-system)");
  } else {
    step("Starting the agent (on a real cluster the Deployment in cluster/common runs it; here there is no kubelet, so a process)");
    agent = spawn(process.execPath, [cli, "agent", "--kubeconfig", kubeconfig, "--host", "127.0.0.1", "--port", "0", "--poll-interval", "1"], { stdio: ["ignore", "ignore", "pipe"] });
    const agentLog = join(work, "agent.log");
    agent.stderr.on("data", (chunk) => writeFileSync(agentLog, chunk, { flag: "a" }));
  }

  step(flux
    ? "tenantry bootstrap: applies cluster/common (Flux's components with the lockdown, the flux-system GitRepository and Kustomization), waits for the admin sync, prints status"
    : "tenantry bootstrap: applies cluster/common (tenantry-system, the GitSync CRD, the admin repo's GitSync), waits for the admin sync, prints status");
  process.stdout.write(`$ tenantry bootstrap --kubeconfig ${kubeconfig}   (in the admin repo; its ${flux ? "http://127.0.0.1" : "file://"} remote needs no deploy key)\n`);
  // Over the local HTTP remote there is no deploy key to hold, but Flux's GitRepositories name
  // their Secret: an empty one stands for it (on a real host bootstrap and `keys create` make it).
  if (flux) run(kubectl, ["--kubeconfig", kubeconfig, "-n", "flux-system", "create", "secret", "generic", "flux-system"]);
  // Asynchronously: the agent's log is read meanwhile.
  process.stdout.write(await tenantryAsync(["bootstrap", "--kubeconfig", kubeconfig, "--timeout", "3m"], { cwd: admin }));
  process.stdout.write("  from now on a git push is the only way to change the cluster\n");
  if (flux) {
    for (const t of teams) {
      run(kubectl, ["--kubeconfig", kubeconfig, "-n", t, "create", "secret", "generic", `${t}-deploy-key`]);
      requestReconcile(t);
    }
  }
  await waitFor(`every team's ${syncKind} to be applied`, () =>
    teams.every((t) => syncStatus(t)?.lastAppliedRevision !== undefined),
  );
  process.stdout.write("  admin repo applied; the teams' repos (example app) applied as each team\n");

  step(flux
    ? "Team payments pushes a ClusterRole: Flux applies it as the team, and the API server refuses it"
    : "Team payments pushes a ClusterRole: the API server would refuse it, tenantry refuses the whole revision first");
  const payments = join(work, "teams", "payments");
  writeFileSync(join(payments, "grab.yaml"), "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: grab-everything\nrules:\n  - apiGroups: ['*']\n    resources: ['*']\n    verbs: ['*']\n");
  const k = readFileSync(join(payments, "kustomization.yaml"), "utf8");
  writeFileSync(join(payments, "kustomization.yaml"), k.replace("  - app.yaml\n", "  - app.yaml\n  - grab.yaml\n"));
  git(payments, "add", "--all");
  git(payments, "commit", "--quiet", "-m", "grab everything");
  git(payments, "push", "--quiet", pushTo[teamUrls.payments], "HEAD:main");
  requestReconcile("payments");
  await waitFor(`payments' ${syncKind} to report the refused revision`, () =>
    syncStatus("payments")?.conditions?.some((c) => c.type === "Ready" && c.status === "False" && (flux ? /forbidden/.test(c.message) : c.reason === "LintFailed")),
  );

  step("Team data pushes a pod on :latest: the policies refuse it (policy engine both: ValidatingAdmissionPolicy first)");
  const data = join(work, "teams", "data");
  const latest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: unpinned\nspec:\n  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}\n  containers:\n    - name: app\n      image: ghcr.io/stefanprodan/podinfo:latest\n      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";
  writeFileSync(join(data, "unpinned.yaml"), latest);
  const wk = readFileSync(join(data, "kustomization.yaml"), "utf8");
  writeFileSync(join(data, "kustomization.yaml"), wk.replace("  - app.yaml\n", "  - app.yaml\n  - unpinned.yaml\n"));
  git(data, "add", "--all");
  git(data, "commit", "--quiet", "-m", "an unpinned pod");
  git(data, "push", "--quiet", pushTo[teamUrls.data], "HEAD:main");
  requestReconcile("data");
  const refusedBy = await waitFor(`data's ${syncKind} to report the refused revision`, () =>
    syncStatus("data")?.conditions?.find((c) => c.type === "Ready" && c.status === "False" && c.message.includes("tenantry-image-tags")),
  );
  process.stdout.write(`  data's ${syncKind}: ${refusedBy.reason}: ${refusedBy.message}\n`);

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
  if (flux) {
    process.stdout.write("$ kubectl -n flux-system annotate kustomization flux-system reconcile.fluxcd.io/requestedAt=now   (the admin repo puts the binding back)\n");
    const before = kubectlJson(["get", "validatingadmissionpolicybinding", "data-image-tags"]);
    run(kubectl, ["--kubeconfig", kubeconfig, "-n", "flux-system", "annotate", "--overwrite", "kustomization", "flux-system", `reconcile.fluxcd.io/requestedAt=${Date.now()}`]);
    await waitFor("the binding to be back", () => before === undefined && kubectlJson(["get", "validatingadmissionpolicybinding", "data-image-tags"]) !== undefined);
  } else {
    process.stdout.write(`$ tenantry sync --namespace tenantry-system --name admin   (the admin repo puts the binding back)\n`);
    tenantry(["sync", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", kubeconfig]);
  }

  if (!flux) {
    step("The platform offers app template hello-web (apps/hello-web in the admin repo): team web gets an instance, namespace web-shop, its quota out of web's tier");
    process.stdout.write(`$ tenantry app create web hello-web shop --set "greeting=Hello from web's shop" --set replicas=2 --commit\n`);
    process.stdout.write(tenantry(["app", "create", "web", "hello-web", "shop", "--set", "greeting=Hello from web's shop", "--set", "replicas=2", "--commit"], { cwd: admin }));
    git(admin, "push", "--quiet", pushTo[adminUrl], "HEAD:main");
    process.stdout.write(`$ tenantry sync --namespace tenantry-system --name admin\n`);
    tenantry(["sync", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", kubeconfig]);
    show(["resources", "web", "--app", "shop"]);
    show(["usage", "web", "--app", "shop"]);

    step("Team web keeps its database password in Git, encrypted: secrets init puts web's age identity only in the cluster; the team encrypts and pushes");
    const web = join(work, "teams", "web");
    process.stdout.write(`$ tenantry secrets init web --team-repo-dir ${web} --commit
`);
    process.stdout.write(tenantry(["secrets", "init", "web", "--team-repo-dir", web, "--commit", "--kubeconfig", kubeconfig], { cwd: admin }));
    git(admin, "push", "--quiet", pushTo[adminUrl], "HEAD:main");
    process.stdout.write(`$ tenantry sync --namespace tenantry-system --name admin   (web's GitSync gains spec.decryption)
`);
    tenantry(["sync", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", kubeconfig]);
    writeFileSync(join(web, "db-password.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-password\nstringData:\n  password: demo-only-s3cret\n");
    process.stdout.write("$ tenantry secrets encrypt db-password.yaml   (in web's repo)\n");
    process.stdout.write(tenantry(["secrets", "encrypt", "db-password.yaml"], { cwd: web }));
    const encrypted = readFileSync(join(web, "db-password.yaml"), "utf8");
    process.stdout.write(`  what Git holds: ${encrypted.split("\n").find((l) => l.includes("password:"))?.trim().slice(0, 60) ?? "?"}...\n`);
    const wk = readFileSync(join(web, "kustomization.yaml"), "utf8");
    writeFileSync(join(web, "kustomization.yaml"), wk.replace("  - app.yaml\n", "  - app.yaml\n  - db-password.yaml\n"));
    git(web, "add", "--all");
    git(web, "commit", "--quiet", "-m", "database password, encrypted");
    git(web, "push", "--quiet", pushTo[teamUrls.web], "HEAD:main");
    const secret = await waitFor("web's GitSync to apply the decrypted Secret", () => kubectlJson(["-n", "web", "get", "secret", "db-password"]));
    process.stdout.write(`$ kubectl -n web get secret db-password   (applied as team web, decrypted in the build service's memory)\n  data.password: ${Buffer.from(secret.data?.password ?? "", "base64").toString()}\n`);
  }

  if (withControlPlaneTeam) await controlPlaneTeam(admin, adminUrl, remote, pushTo);

  step("What tenantry shows");
  show(["status"]);
  show(["resources", "web"]);
  show(["usage", "web"]);
  // Flux reconciles every 5 s here: wait out a reconcile in progress rather than print it.
  const cond = await waitFor("payments' Ready condition to settle", () => {
    const ready = syncStatus("payments")?.conditions?.find((c) => c.type === "Ready");
    return ready !== undefined && ready.status !== "Unknown" ? ready : undefined;
  });
  process.stdout.write(`$ kubectl -n payments get ${syncKind.toLowerCase()} payments  (Ready condition)\n  ${cond.status} ${cond.reason}: ${cond.message}\n`);
  step(`Done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * --with-controlplane-team: team studio on an API server of its own. A second local control
 * plane is that API server; scripts/kubeflex-standin.mjs does on the host what KubeFlex would.
 */
async function controlPlaneTeam(admin, adminUrl, remote, pushTo) {
  const t0 = Date.now();
  step("Team studio gets a control plane of its own (the KubeFlex tier): a second local control plane stands for the API server KubeFlex would run");
  const studioKubeconfig = execFileSync("bash", [join(root, "scripts", "local-cluster.sh"), "start", studioClusterDir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const standIn = (args) => run(process.execPath, [join(root, "scripts", "kubeflex-standin.mjs"), "--kubectl", kubectl, "--kubeconfig", kubeconfig, ...args]);
  standIn(["--install-crds"]);
  const url = remote("studio");
  const repo = join(work, "teams", "studio");
  process.stdout.write(tenantry(["create-team", "studio", "--isolation", "controlplane", "--controlplane-type", "k8s", "--repo-url", url, "--team-repo-dir", repo, "--interval", "5s", "--commit"], { cwd: admin }));
  git(admin, "push", "--quiet", pushTo[adminUrl], "HEAD:main");
  git(repo, "push", "--quiet", pushTo[url], "HEAD:main");
  // What the admin repo's push webhook would do: reconcile now rather than at the interval.
  process.stdout.write("$ tenantry sync --namespace tenantry-system --name admin\n");
  tenantry(["sync", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", kubeconfig]);
  await waitFor("the admin sync to apply ControlPlane studio", () => kubectlJson(["get", "controlplanes.tenancy.kflex.kubestellar.org", "studio"]));
  process.stdout.write("  the admin sync applied ControlPlane studio, PostCreateHook studio-baseline and GitSync tenantry-system/studio; the host has no namespace studio\n");
  const done = JSON.parse(standIn(["--controlplane", "studio", "--team-kubeconfig", studioKubeconfig]));
  process.stdout.write(`  KubeFlex's part (stand-in): studio-system/admin-kubeconfig; the hook applied ${done.applied.join(", ")} and its Job laid the baseline: ${done.jobOutput.join("").trim().split("\n").length} objects in studio's API server\n`);
  await waitFor("studio's GitSync to be applied into its own API server", () => kubectlJson(["-n", "tenantry-system", "get", "gitsync", "studio"])?.status?.lastAppliedRevision);
  const out = join(work, "studio.kubeconfig");
  tenantry(["kubeconfig", "studio", "--kubeconfig", kubeconfig, "--out", out]);
  process.stdout.write(`$ tenantry kubeconfig studio --out studio.kubeconfig && kubectl --kubeconfig studio.kubeconfig get deployments\n${run(kubectl, ["--kubeconfig", out, "get", "deployments"])}`);
  const hostServer = run(kubectl, ["--kubeconfig", kubeconfig, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]);
  try {
    run(kubectl, ["--kubeconfig", out, "--server", hostServer, "--insecure-skip-tls-verify", "get", "pods"]);
    throw new Error("the host accepted studio's token");
  } catch (e) {
    if (!/Unauthorized/.test(e.stderr ?? "")) throw e;
    process.stdout.write(`$ kubectl --kubeconfig studio.kubeconfig --server <the host> get pods\n  ${e.stderr.trim()}\n`);
  }
  show(["resources", "studio"]);
  process.stdout.write(`  (the controlplane team took ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

/** The team's sync object: its GitSync, or under flux its Kustomization. */
const syncKind = flux ? "Kustomization" : "GitSync";
function syncStatus(team) {
  return kubectlJson(["-n", team, "get", flux ? "kustomizations.kustomize.toolkit.fluxcd.io" : "gitsync", team])?.status;
}

/** Under flux, what a push webhook (Flux's Receiver) does: ask for a reconcile now. The agent polls every second. */
function requestReconcile(team) {
  if (!flux) return;
  for (const kind of ["gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"]) {
    run(kubectl, ["--kubeconfig", kubeconfig, "-n", team, "annotate", "--overwrite", kind, team, `reconcile.fluxcd.io/requestedAt=${Date.now()}`]);
  }
}

async function cleanup(ok) {
  if (keep && ok) {
    const pids = [agent, gitServer].filter((c) => c !== undefined).map((c) => c.pid).join(" ");
    const what = flux ? `git server pid ${gitServer?.pid}` : `agent pid ${agent?.pid}`;
    process.stdout.write(`\nLeft running (--keep):\n  export KUBECONFIG=${kubeconfig}\n  npx tenantry status\n  admin repo: ${join(work, "admin")}  team repos: ${join(work, "teams")}\n  ${what}\n  stop everything: kill ${pids}; scripts/local-cluster.sh stop ${clusterDir}${withControlPlaneTeam ? `; scripts/local-cluster.sh stop ${studioClusterDir}` : ""}; rm -rf ${work}\n`);
    agent?.unref();
    gitServer?.unref();
    return;
  }
  if (agent !== undefined && agent.exitCode === null) {
    agent.kill("SIGTERM");
    await new Promise((r) => agent.once("exit", r));
  }
  if (gitServer !== undefined && gitServer.exitCode === null) gitServer.kill("SIGTERM");
  for (const dir of [clusterDir, studioClusterDir]) {
    if (existsSync(join(dir, "pids"))) execFileSync("bash", [join(root, "scripts", "local-cluster.sh"), "stop", dir], { stdio: "ignore" });
  }
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
