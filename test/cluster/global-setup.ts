// Starts one real control plane (scripts/local-cluster.sh --with-gatekeeper: etcd,
// kube-apiserver, kube-controller-manager and Gatekeeper's manager as the API server's
// validating webhook; no kubelet) for the whole `cluster` project and hands its admin
// kubeconfig to the tests; stops it afterwards so no process is left behind. With Gatekeeper
// running, every admin repo rendered with the default policy engine (`both`) applies.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

const run = promisify(execFile);
const script = resolve(import.meta.dirname, "..", "..", "scripts", "local-cluster.sh");

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    /** The local cluster's directory (its env file, logs and Gatekeeper's kubeconfig). */
    clusterDir: string;
  }
}

/** Starts a control plane with `options` (local-cluster.sh's --with-* flags) for `project`; returns its teardown. */
export async function startProjectCluster(project: TestProject, options: readonly string[]): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "tenantry-cluster-"));
  const started = Date.now();
  process.stderr.write(`${project.name} tests: starting a local control plane in ${dir} (the first run builds it)\n`);
  const child = run("bash", [script, "start", dir, ...options], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stderr?.pipe(process.stderr);
  try {
    await child;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  process.stderr.write(`${project.name} tests: control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  project.provide("kubeconfig", join(dir, "kubeconfig"));
  project.provide("clusterDir", dir);
  return async () => {
    await run("bash", [script, "stop", dir]);
    rmSync(dir, { recursive: true, force: true });
  };
}

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return startProjectCluster(project, ["--with-gatekeeper"]);
}
