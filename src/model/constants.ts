// Constants the CLI needs to describe its options, apart from the modules that parse
// files: `tenantry --help` loads this, not yaml or ajv.

export const POLICY_ENGINES = ["gatekeeper", "vap", "both"] as const;
export type PolicyEngine = (typeof POLICY_ENGINES)[number];

/** What applies the admin repo and the team repos: tenantry's own agent (GitSync) or Flux. */
export const SYNC_ENGINES = ["tenantry", "flux"] as const;
export type SyncEngine = (typeof SYNC_ENGINES)[number];
/** The engine of a tenantry.yaml without `spec.engine` (repos older than the key). */
export const DEFAULT_SYNC_ENGINE: SyncEngine = "tenantry";
