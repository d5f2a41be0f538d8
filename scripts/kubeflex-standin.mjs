#!/usr/bin/env node
// A stand-in for exactly what KubeFlex's operator does for one ControlPlane, used by the tests
// (test/helpers/kubeflex.ts) and the demo (--with-controlplane-team), since the operator is not
// served by the Go module proxy. Another real local control plane (scripts/local-cluster.sh:
// its own etcd, kube-apiserver, kube-controller-manager) is the team's API server; this does on
// the host what KubeFlex's reconcilers do (kubestellar/kubeflex,
// pkg/reconcilers/shared/postcreate_hook.go), with the pinned kubectl:
//   1. namespace <cp>-system and Secret admin-kubeconfig in it (keys kubeconfig and
//      kubeconfig-incluster: here both hold the team control plane's admin kubeconfig);
//   2. each of spec.postCreateHooks in order: the PostCreateHook's templates rendered with the
//      vars (the ControlPlane's globalVars, the hook use's vars, then Namespace,
//      ControlPlaneName, HookName) and server-side applied to the HOST, namespaced ones into
//      <cp>-system, field manager kubeflex;
//   3. what each applied Job's one container would do (there is no kubelet here): its kubectl
//      command, run for real, with its ConfigMap and Secret volumes as files;
//   4. the ControlPlane's status: Ready, secretRef, postCreateHooks, postCreateHookCompleted.
// Running the API server itself, its Postgres or etcd, and the Ingress that makes the
// `kubeconfig` key's address reachable are KubeFlex's job on a real cluster (docs/isolation.md).
//
// usage: kubeflex-standin.mjs --kubectl FILE --kubeconfig HOST --controlplane NAME --team-kubeconfig FILE
//        kubeflex-standin.mjs --kubectl FILE --kubeconfig HOST --install-crds
// Prints {"applied": [...], "jobOutput": [...]} as JSON.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const GROUP = "tenancy.kflex.kubestellar.org";

/**
 * Go's text/template as KubeFlex's hooks use it: `{{.Var}}` and nothing else; any other action
 * is refused, so a template tenantry renders cannot come to depend on more.
 */
export function renderGoTemplate(text, vars) {
  return text.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_, action) => {
    const m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action);
    if (m === null) throw new Error(`template action {{${action}}} is more than {{.Var}}: the stand-in does not render it`);
    // Go renders a missing key as "<no value>": a template naming an unknown var is a bug.
    if (!(m[1] in vars)) throw new Error(`template names {{.${m[1]}}}, which no var sets`);
    return vars[m[1]];
  });
}

function kubectlOf(kubectl, kubeconfig) {
  return (args, input) => execFileSync(kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

function applyJson(k, objects, namespace) {
  const list = { apiVersion: "v1", kind: "List", items: objects };
  k(["apply", "--server-side", "--force-conflicts", "--field-manager=kubeflex", ...(namespace ? ["-n", namespace] : []), "-f", "-"], JSON.stringify(list));
}

/** KubeFlex's CRDs (vendor/kubeflex) on the host, established, as its chart installs them. */
export function installCrds({ kubectl, kubeconfig }) {
  const k = kubectlOf(kubectl, kubeconfig);
  k(["apply", "--server-side", "--field-manager=kubeflex", "-f", join(root, "vendor", "kubeflex", "controlplanes.yaml"), "-f", join(root, "vendor", "kubeflex", "postcreatehooks.yaml")]);
  k(["wait", "--for=condition=Established", "--timeout=60s", `crd/controlplanes.${GROUP}`, `crd/postcreatehooks.${GROUP}`]);
}

/** Kinds the host serves cluster-scoped (`kubectl api-resources`: ... NAMESPACED KIND). */
function clusterScopedKinds(k) {
  const kinds = new Set();
  for (const line of k(["api-resources", "--no-headers"]).trim().split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.at(-2) === "false") kinds.add(cols.at(-1));
  }
  return kinds;
}

/** What the Job's one container would run: its kubectl command, volumes as files under a scratch root. */
function runJobAsKubelet(k, kubectl, job) {
  const spec = job.spec.template.spec;
  const [container] = spec.containers;
  if (spec.containers.length !== 1) throw new Error(`Job ${job.metadata.name}: the stand-in runs exactly one container`);
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv[0] !== "kubectl") throw new Error(`Job ${job.metadata.name} runs ${argv[0] ?? "nothing"}: the stand-in runs kubectl only`);
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-job-"));
  try {
    const mounts = container.volumeMounts ?? [];
    for (const mount of mounts) {
      const volume = (spec.volumes ?? []).find((v) => v.name === mount.name);
      if (volume?.emptyDir !== undefined) {
        mkdirSync(join(scratch, mount.mountPath), { recursive: true });
        continue;
      }
      const source = volume?.configMap?.name ?? volume?.secret?.secretName;
      if (source === undefined) throw new Error(`Job ${job.metadata.name}: volume ${mount.name} is neither a ConfigMap, a Secret nor an emptyDir`);
      const live = JSON.parse(k(["-n", job.metadata.namespace, "get", volume.configMap ? "configmap" : "secret", source, "-o", "json"]));
      for (const [key, value] of Object.entries(live.data ?? {})) {
        const file = join(scratch, mount.mountPath, key);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, volume.secret ? Buffer.from(value, "base64") : value, { mode: 0o600 });
      }
    }
    const inVolume = (a) => mounts.some((m) => a.startsWith(m.mountPath));
    const env = { PATH: process.env.PATH, HOME: scratch };
    // Paths in the environment that a volume provides (KUBECONFIG, HOME) are under the scratch root too.
    for (const e of container.env ?? []) env[e.name] = inVolume(e.value ?? "") ? join(scratch, e.value) : e.value;
    const args = argv.slice(1).map((a) => (inVolume(a) ? join(scratch, a) : a));
    try {
      return execFileSync(kubectl, args, { encoding: "utf8", env, cwd: scratch, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      throw new Error(`Job ${job.metadata.name}, as its container would run it: ${String(e.stderr ?? e.message).replaceAll(scratch, "")}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Does for ControlPlane `controlPlane` (on the host already) what KubeFlex would. Idempotent. */
export function standInForKubeFlex({ kubectl, kubeconfig, controlPlane: cp, teamKubeconfig }) {
  const k = kubectlOf(kubectl, kubeconfig);
  const controlPlane = JSON.parse(k(["get", `controlplanes.${GROUP}`, cp, "-o", "json"]));
  const namespace = `${cp}-system`;
  const admin = readFileSync(teamKubeconfig).toString("base64");
  applyJson(k, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "admin-kubeconfig", namespace }, type: "Opaque", data: { kubeconfig: admin, "kubeconfig-incluster": admin } },
  ]);
  const clusterKinds = clusterScopedKinds(k);
  const applied = [];
  const jobOutput = [];
  const done = {};
  for (const use of controlPlane.spec.postCreateHooks ?? []) {
    const hook = JSON.parse(k(["get", `postcreatehooks.${GROUP}`, use.hookName, "-o", "json"]));
    const vars = { ...controlPlane.spec.globalVars, ...use.vars, Namespace: namespace, ControlPlaneName: cp, HookName: use.hookName };
    const objects = (hook.spec.templates ?? []).map((t) => JSON.parse(renderGoTemplate(JSON.stringify(t), vars)));
    const scoped = objects.filter((o) => clusterKinds.has(o.kind));
    const namespaced = objects.filter((o) => !clusterKinds.has(o.kind)).map((o) => ({ ...o, metadata: { ...o.metadata, namespace } }));
    if (scoped.length > 0) applyJson(k, scoped);
    if (namespaced.length > 0) applyJson(k, namespaced, namespace);
    applied.push(...scoped.map((o) => `${o.kind}/${o.metadata.name}`), ...namespaced.map((o) => `${o.kind}/${namespace}/${o.metadata.name}`));
    for (const job of namespaced.filter((o) => o.kind === "Job")) jobOutput.push(runJobAsKubelet(k, kubectl, job));
    done[use.hookName] = true;
  }
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const status = {
    observedGeneration: controlPlane.metadata.generation ?? 1,
    conditions: [{ type: "Ready", status: "True", reason: "Available", message: "stand-in for KubeFlex (scripts/kubeflex-standin.mjs)", lastTransitionTime: now, lastUpdateTime: now }],
    secretRef: { name: "admin-kubeconfig", namespace, key: "kubeconfig", inClusterKey: "kubeconfig-incluster" },
    postCreateHooks: done,
    postCreateHookCompleted: true,
  };
  k(["patch", `controlplanes.${GROUP}`, cp, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
  return { applied, jobOutput };
}

function flag(name) {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const kubectl = flag("--kubectl");
    const kubeconfig = flag("--kubeconfig");
    if (kubectl === undefined || kubeconfig === undefined) throw new Error("--kubectl and --kubeconfig are required");
    if (process.argv.includes("--install-crds")) {
      installCrds({ kubectl, kubeconfig });
      process.stdout.write("{}\n");
    } else {
      const controlPlane = flag("--controlplane");
      const teamKubeconfig = flag("--team-kubeconfig");
      if (controlPlane === undefined || teamKubeconfig === undefined) throw new Error("--controlplane and --team-kubeconfig are required");
      process.stdout.write(`${JSON.stringify(standInForKubeFlex({ kubectl, kubeconfig, controlPlane, teamKubeconfig }))}\n`);
    }
  } catch (e) {
    process.stderr.write(`kubeflex-standin: ${String(e.stderr ?? e.message).trim()}\n`);
    process.exitCode = 1;
  }
}
