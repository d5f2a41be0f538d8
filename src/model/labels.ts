// The labels tenantry puts on objects, defined once. Every generated object carries
// managed-by and (a team's) the team label; everything a GitSync applies also carries the
// GitSync's name and namespace, and prune only ever touches objects carrying them.

import { type GitSync, isClusterScoped, teamNamespaceOf } from "./gitsync.js";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const TEAM_LABEL = "tenantry.dev/team";
export const SYNC_NAME_LABEL = "tenantry.dev/sync-name";
/** `tenantry-system` on what the admin GitSync applied: the admin-owned marker in a team namespace. */
export const SYNC_NAMESPACE_LABEL = "tenantry.dev/sync-namespace";

/** Labels tenantry puts on everything a GitSync applies: prune only ever touches these. */
export function ownershipLabels(gs: Pick<GitSync, "metadata" | "spec">): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: "tenantry",
    [SYNC_NAMESPACE_LABEL]: gs.metadata.namespace,
    [SYNC_NAME_LABEL]: gs.metadata.name,
    // The team is the namespace its render goes into: for a team on its own control plane,
    // namespace <team> there, not the GitSync's tenantry-system here.
    ...(isClusterScoped(gs) ? {} : { [TEAM_LABEL]: teamNamespaceOf(gs) }),
  };
}
