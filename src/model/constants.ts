// Constants the CLI needs to describe its options, apart from the modules that parse
// files: `tenantry --help` loads this, not yaml or ajv.

export const POLICY_ENGINES = ["gatekeeper", "vap", "both"] as const;
export type PolicyEngine = (typeof POLICY_ENGINES)[number];

/** What applies the admin repo and the team repos: tenantry's own agent (GitSync) or Flux. */
export const SYNC_ENGINES = ["tenantry", "flux"] as const;
export type SyncEngine = (typeof SYNC_ENGINES)[number];
/** The engine of a tenantry.yaml without `spec.engine` (repos older than the key). */
export const DEFAULT_SYNC_ENGINE: SyncEngine = "tenantry";

/** Flux's namespace: its controllers, the admin sync and the admin deploy key (Flux's convention). */
export const FLUX_NAMESPACE = "flux-system";
/**
 * On a team Namespace under Flux: kustomize-controller never prunes it while the value is
 * `disabled`, so a line that vanishes from cluster/teams/kustomization.yaml does not delete the
 * team (delete-team releases it first).
 */
export const FLUX_PRUNE_ANNOTATION = "kustomize.toolkit.fluxcd.io/prune";
export const FLUX_PRUNE_DISABLED = "disabled";
