// A stand-in for exactly what KubeFlex's operator does for a ControlPlane, since the operator
// is not served by the Go module proxy: a second real local control plane (its own etcd,
// kube-apiserver and kube-controller-manager, started by scripts/local-cluster.sh) is the
// team's API server, and standInForKubeFlex does on the host what KubeFlex's reconcilers do
// (kubestellar/kubeflex pkg/reconcilers/shared/postcreate_hook.go):
//   1. namespace <cp>-system and Secret admin-kubeconfig in it (keys kubeconfig and
//      kubeconfig-incluster: here both are the second control plane's admin kubeconfig);
//   2. each of spec.postCreateHooks in order: the PostCreateHook's templates rendered with the
//      vars (the hook's, the ControlPlane's globalVars, then Namespace, ControlPlaneName,
//      HookName) and server-side applied to the HOST, namespaced ones into <cp>-system, field
//      manager kubeflex;
//   3. what each applied Job's container would do (there is no kubelet here): its command, run
//      with the real pinned kubectl, its ConfigMap and Secret volumes as files;
//   4. the ControlPlane's status: Ready, secretRef, postCreateHooks, postCreateHookCompleted.
// What KubeFlex does beyond this (running the API server, its Postgres or etcd, the Ingress that
// makes `kubeconfig`'s address reachable) is its own job; docs/isolation.md says so.

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { RestClient } from "../../src/cluster/rest.js";
import {
  controlPlaneNamespace,
  CONTROLPLANE_KIND,
  KFLEX_API_VERSION,
  KFLEX_INCLUSTER_KEY,
  KFLEX_KUBECONFIG_KEY,
  KFLEX_KUBECONFIG_SECRET,
  POSTCREATEHOOK_KIND,
} from "../../src/model/controlplane.js";
import type { KubeObject } from "../../src/model/object.js";
import { findBinary } from "../../src/toolchain.js";
import { waitFor } from "./cluster.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");
const script = join(root, "scripts", "local-cluster.sh");

export interface TeamControlPlane {
  readonly dir: string;
  /** Its admin kubeconfig (what KubeFlex writes into admin-kubeconfig). */
  readonly kubeconfig: string;
  readonly access: KubeAccess;
  stop(): Promise<void>;
}

/** Starts a second full local control plane: the team's own API server. */
export async function startTeamControlPlane(): Promise<TeamControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), "tenantry-cluster-"));
  try {
    await run("bash", [script, "start", dir], { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    await run("bash", [script, "stop", dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const kubeconfig = join(dir, "kubeconfig");
  return {
    dir,
    kubeconfig,
    access: loadAccess(kubeconfig),
    stop: async () => {
      await run("bash", [script, "stop", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The vendored KubeFlex CRDs, installed on `host` as KubeFlex's chart would, and established. */
export async function installKubeFlexCrds(host: KubeAccess): Promise<void> {
  const crds = ["controlplanes.yaml", "postcreatehooks.yaml"].flatMap((f) =>
    parseAllDocuments(readFileSync(join(root, "vendor", "kubeflex", f), "utf8")).map((d) => d.toJS() as KubeObject),
  );
  await applyObjects(host, crds, { fieldManager: "kubeflex", force: true });
  const api = RestClient.forConfig(host);
  for (const crd of crds) {
    await waitFor(`CRD ${crd.metadata.name} established`, async () => {
      const live = (await api.readObject(crd)) as { status?: { conditions?: { type: string; status: string }[] } };
      return live.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") === true ? true : undefined;
    });
  }
}

/**
 * Go's text/template as KubeFlex's hooks use it: `{{.Var}}` (spaces allowed) and nothing else;
 * any other action is refused, so a template tenantry renders cannot depend on more.
 */
export function renderGoTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_, action: string) => {
    const m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action);
    if (m === null) throw new Error(`template action {{${action}}} is more than {{.Var}}: the stand-in does not render it`);
    const value = vars[m[1] ?? ""];
    // Go renders a missing map key as "<no value>": a template naming an unknown var is a bug.
    if (value === undefined) throw new Error(`template names {{.${m[1] ?? ""}}}, which no var sets`);
    return value;
  });
}

interface HookUse {
  hookName: string;
  vars?: Record<string, string>;
}

interface ControlPlaneObject extends KubeObject {
  spec: { postCreateHooks?: HookUse[]; globalVars?: Record<string, string>; waitForPostCreateHooks?: boolean };
}

/** Renders one PostCreateHook template (an object) with `vars`, as KubeFlex does: on its YAML text. */
function renderTemplate(template: unknown, vars: Readonly<Record<string, string>>): KubeObject {
  const docs = parseAllDocuments(renderGoTemplate(JSON.stringify(template), vars));
  return docs[0]?.toJS() as KubeObject;
}

interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
}
interface Container {
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

/**
 * What the Job's one container would do: its command with the real pinned kubectl, its
 * ConfigMap and Secret volumes (read from the host) as files under a scratch root, paths and
 * KUBECONFIG rewritten into it. Throws with kubectl's output when it fails.
 */
async function runJobAsKubelet(host: RestClient, job: KubeObject): Promise<string> {
  const spec = (job as unknown as { spec: { template: { spec: { containers: Container[]; volumes?: Volume[] } } } }).spec.template.spec;
  const [container] = spec.containers;
  if (container === undefined || spec.containers.length !== 1) throw new Error(`Job ${job.metadata.name}: the stand-in runs exactly one container`);
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv[0] !== "kubectl") throw new Error(`Job ${job.metadata.name} runs ${argv[0] ?? "nothing"}: the stand-in runs kubectl only`);
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-job-"));
  try {
    const ns = job.metadata.namespace ?? "";
    const mapped = (p: string): string => join(scratch, p);
    for (const mount of container.volumeMounts ?? []) {
      const volume = spec.volumes?.find((v) => v.name === mount.name);
      const source = volume?.configMap?.name ?? volume?.secret?.secretName;
      if (volume === undefined || source === undefined) throw new Error(`Job ${job.metadata.name}: volume ${mount.name} is neither a ConfigMap nor a Secret`);
      const live = (await host.readObject({ apiVersion: "v1", kind: volume.configMap ? "ConfigMap" : "Secret", metadata: { name: source, namespace: ns } })) as { data?: Record<string, string> };
      for (const [key, value] of Object.entries(live.data ?? {})) {
        const file = join(mapped(mount.mountPath), key);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, volume.secret ? Buffer.from(value, "base64") : value, { mode: 0o600 });
      }
    }
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: scratch };
    for (const e of container.env ?? []) env[e.name] = e.name === "KUBECONFIG" && e.value !== undefined ? mapped(e.value) : e.value;
    // Absolute paths in the arguments that a volume provides are read from the scratch root.
    const args = argv.slice(1).map((a) => ((container.volumeMounts ?? []).some((m) => a.startsWith(m.mountPath)) ? mapped(a) : a));
    const { stdout } = await run(findBinary("kubectl").file, args, { env, cwd: scratch });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`Job ${job.metadata.name} (as its container would run it): ${err.stderr ?? err.message}`.replaceAll(scratch, ""));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface StandIn {
  /** Objects the hooks applied to the host, as `Kind/namespace/name`. */
  readonly applied: readonly string[];
  /** What each Job's command printed. */
  readonly jobOutput: readonly string[];
}

/**
 * Does for ControlPlane `cp` (already on the host: the admin sync applied it) what KubeFlex
 * would, with the control plane at `cpKubeconfig` as the team's API server. Idempotent.
 */
export async function standInForKubeFlex(host: KubeAccess, cp: string, cpKubeconfig: string): Promise<StandIn> {
  const api = RestClient.forConfig(host);
  const header = { apiVersion: KFLEX_API_VERSION, kind: CONTROLPLANE_KIND, metadata: { name: cp } };
  const controlPlane = (await api.readObject(header)) as ControlPlaneObject;
  const namespace = controlPlaneNamespace(cp);
  const kubeconfig = readFileSync(cpKubeconfig);
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: KFLEX_KUBECONFIG_SECRET, namespace },
    type: "Opaque",
    data: { [KFLEX_KUBECONFIG_KEY]: kubeconfig.toString("base64"), [KFLEX_INCLUSTER_KEY]: kubeconfig.toString("base64") },
  };
  await applyObjects(host, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }, secret], { fieldManager: "kubeflex", force: true });

  const applied: string[] = [];
  const jobOutput: string[] = [];
  const done: Record<string, boolean> = {};
  for (const use of controlPlane.spec.postCreateHooks ?? []) {
    const hook = (await api.readObject({ apiVersion: KFLEX_API_VERSION, kind: POSTCREATEHOOK_KIND, metadata: { name: use.hookName } })) as KubeObject & { spec: { templates?: unknown[] } };
    const vars = { ...controlPlane.spec.globalVars, ...use.vars, Namespace: namespace, ControlPlaneName: cp, HookName: use.hookName };
    const objects = (hook.spec.templates ?? []).map((t) => renderTemplate(t, vars));
    const placed = await Promise.all(
      objects.map(async (o) => ((await api.scopeOf(o.apiVersion, o.kind)) === "cluster" ? o : { ...o, metadata: { ...o.metadata, namespace } })),
    );
    await applyObjects(host, placed, { fieldManager: "kubeflex", force: true });
    applied.push(...placed.map((o) => `${o.kind}/${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`));
    for (const job of placed.filter((o) => o.kind === "Job")) jobOutput.push(await runJobAsKubelet(api, job));
    done[use.hookName] = true;
  }

  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await api.patchStatus(header, {
    observedGeneration: controlPlane.metadata.generation ?? 1,
    conditions: [{ type: "Ready", status: "True", reason: "Available", message: "stand-in for KubeFlex (test/helpers/kubeflex.ts)", lastTransitionTime: now, lastUpdateTime: now }],
    secretRef: { name: KFLEX_KUBECONFIG_SECRET, namespace, key: KFLEX_KUBECONFIG_KEY, inClusterKey: KFLEX_INCLUSTER_KEY },
    postCreateHooks: done,
    postCreateHookCompleted: true,
  });
  return { applied, jobOutput };
}
