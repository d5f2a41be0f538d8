// Which engine's sync objects `tenantry status` lists: the admin repo's tenantry.yaml says
// (spec.engine, docs/engines.md) when the command runs inside an admin repo checkout;
// elsewhere, or when tenantry.yaml cannot be read, nothing is assumed and gather.ts lists the
// sync objects of every engine the cluster serves.

import { findAdminRepo, readClusterConfig } from "../repo/admin-repo.js";
import type { StatusEngine } from "./gather.js";

const ENGINES: readonly string[] = ["tenantry", "flux"] satisfies readonly StatusEngine[];

function isEngine(v: unknown): v is StatusEngine {
  return typeof v === "string" && ENGINES.includes(v);
}

/** spec.engine of the admin repo around `cwd`, or undefined when there is none to read. */
export function configuredEngine(cwd = process.cwd()): StatusEngine | undefined {
  try {
    const engine = (readClusterConfig(findAdminRepo(undefined, cwd)) as { readonly engine?: unknown }).engine;
    return isEngine(engine) ? engine : undefined;
  } catch {
    // Not in an admin repo, or its tenantry.yaml is broken (validate says so): the cluster is
    // asked instead; status reports on the cluster, not on the repo.
    return undefined;
  }
}
