// The tests' side of scripts/kubeflex-standin.mjs: a stand-in for exactly what KubeFlex's
// operator does for a ControlPlane (the operator is not served by the Go module proxy). A
// second real local control plane (scripts/local-cluster.sh: its own etcd, kube-apiserver and
// kube-controller-manager) is the team's API server; the script does on the host what
// KubeFlex would (admin-kubeconfig, the PostCreateHooks applied as KubeFlex applies them, the
// hook's Job run as its container would, the ControlPlane's status). See the script's header.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { findBinary } from "../../src/toolchain.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");
const script = join(root, "scripts", "local-cluster.sh");
const standIn = join(root, "scripts", "kubeflex-standin.mjs");

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

async function runStandIn(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [standIn, "--kubectl", findBinary("kubectl").file, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    throw new Error(`scripts/kubeflex-standin.mjs ${args.join(" ")}: ${(e as { stderr?: string }).stderr ?? String(e)}`);
  }
}

/** KubeFlex's CRDs (vendor/kubeflex) installed on the host at `hostKubeconfig`, established. */
export async function installKubeFlexCrds(hostKubeconfig: string): Promise<void> {
  await runStandIn(["--kubeconfig", hostKubeconfig, "--install-crds"]);
}

export interface StandIn {
  /** What the hooks applied to the host, as `Kind/name` or `Kind/namespace/name`. */
  readonly applied: readonly string[];
  /** What each hook Job's command printed. */
  readonly jobOutput: readonly string[];
}

/** Does for ControlPlane `cp` (on the host already) what KubeFlex would, with `cpKubeconfig`'s API server as the team's. */
export async function standInForKubeFlex(hostKubeconfig: string, cp: string, cpKubeconfig: string): Promise<StandIn> {
  return JSON.parse(await runStandIn(["--kubeconfig", hostKubeconfig, "--controlplane", cp, "--team-kubeconfig", cpKubeconfig])) as StandIn;
}
