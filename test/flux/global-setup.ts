// The `flux` project's control plane: scripts/local-cluster.sh --with-flux (etcd,
// kube-apiserver, kube-controller-manager, and Flux's source-controller and kustomize-controller
// as local processes with the flux engine's lockdown flags), started once for the project.
// With Gatekeeper, so the admin repos render with the default policy engine (both), as in `cluster`.

import type { TestProject } from "vitest/node";
import { startProjectCluster } from "../cluster/global-setup.js";

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return startProjectCluster(project, ["--with-gatekeeper", "--with-flux"]);
}
