// Which admin-repo files belong to one sync engine only. The templates in cluster-template/
// are rendered for both engines; these paths (rendered, relative to the admin repo) are left
// out for the other one. The table sits here because render/ must apply it and may read only
// model/; src/engines/ re-exports it as the engines' public description.

import type { SyncEngine } from "../model/constants.js";

/** tenantry's agent, its GitSync CRD, the admin GitSync, and the policies about the agent. */
const TENANTRY_ONLY = [
  "cluster/common/agent.yaml",
  "cluster/common/gitsync-crd.yaml",
  "cluster/common/sync.yaml",
  "cluster/common/tenancy/agent-identity.yaml",
  "cluster/common/policies/agent-identity.yaml",
] as const;

/** Flux's components, the admin sync and the multi-tenancy lockdown. */
export const FLUX_SYSTEM_DIR = "cluster/common/flux-system";

/** The admin-repo paths only `engine` renders: one file each, or a directory ending in `/`. */
export function engineOnlyPaths(engine: SyncEngine): readonly string[] {
  return engine === "tenantry" ? TENANTRY_ONLY : [`${FLUX_SYSTEM_DIR}/`];
}

function covers(entry: string, path: string): boolean {
  return entry.endsWith("/") ? path.startsWith(entry) : path === entry;
}

/** Whether the admin-repo file at `path` (rendered name) is part of a repo on `engine`. */
export function rendersFor(engine: SyncEngine, path: string): boolean {
  const other: SyncEngine = engine === "tenantry" ? "flux" : "tenantry";
  return !engineOnlyPaths(other).some((entry) => covers(entry, path));
}

/**
 * The multi-tenancy lockdown, as fluxcd/flux2-multi-tenancy patches it onto the controllers'
 * Deployments (cluster/common/flux-system/kustomization.yaml): a Kustomization may not name a
 * source or another object in another namespace, may not pull a remote base, and without
 * `serviceAccountName` it applies as `default` of its own namespace (which has no rights)
 * instead of as kustomize-controller. source-controller has no such flags: it only fetches.
 */
export const FLUX_LOCKDOWN_FLAGS = {
  "kustomize-controller": ["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"],
  "source-controller": [],
} as const satisfies Readonly<Record<string, readonly string[]>>;
