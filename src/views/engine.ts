// What the views read from the admin repo around them, when there is one. Which engine's
// sync objects `tenantry status` lists: the admin repo's tenantry.yaml says
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

/**
 * The quota of each tier of the admin repo around `cwd` (tenantry.yaml's spec.tiers), for
 * `tenantry usage` to set a team's total against; undefined when there is none to read.
 */
export function configuredTierQuota(cwd = process.cwd()): (tier: string) => Readonly<Record<string, string>> | undefined {
  try {
    const tiers = readClusterConfig(findAdminRepo(undefined, cwd)).tiers;
    return (tier) => (Object.hasOwn(tiers, tier) ? tiers[tier]?.quota : undefined);
  } catch {
    return () => undefined;
  }
}
