// Which engine's sync objects `tenantry status` lists: the admin repo's tenantry.yaml says
// (spec.engine, docs/engines.md) when the command runs inside an admin repo checkout;
// elsewhere, or when tenantry.yaml cannot be read, nothing is assumed and gather.ts lists the
// sync objects of every engine the cluster serves.

import type { SyncEngine } from "../model/cluster-config.js";
import { findAdminRepo, readClusterConfig } from "../repo/admin-repo.js";

/** spec.engine of the admin repo around `cwd` (tenantry when it does not say), or undefined when there is none to read. */
export function configuredEngine(cwd = process.cwd()): SyncEngine | undefined {
  try {
    return readClusterConfig(findAdminRepo(undefined, cwd)).engine;
  } catch {
    // Not in an admin repo, or its tenantry.yaml is broken (validate says so): the cluster is
    // asked instead; status reports on the cluster, not on the repo.
    return undefined;
  }
}
