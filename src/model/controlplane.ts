// The control-plane tier of isolation (KubeFlex): a team on its own API server, hosted on
// the cluster. Names here are contracts with KubeFlex and with scripts outside the code:
// - the ControlPlane (tenancy.kflex.kubestellar.org/v1alpha1, cluster-scoped) is named <team>;
// - KubeFlex creates and owns namespace <team>-system on the host; it holds Secret
//   admin-kubeconfig (key `kubeconfig` with the external address, `kubeconfig-incluster` with
//   the in-cluster one); ControlPlane status.secretRef names it (prefer that when present);
// - the PostCreateHook <team>-baseline lays the team's baseline inside its control plane;
// - the team's GitSync is tenantry-system/<team>: it applies into the team's API server, as
//   ServiceAccount <team> of namespace <team> there.

import { SYSTEM_NAMESPACE } from "./names.js";

export const ISOLATIONS = ["namespace", "controlplane"] as const;
export type Isolation = (typeof ISOLATIONS)[number];

/** KubeFlex's control plane types tenantry offers (KubeFlex also has ocm and host). */
export const CONTROLPLANE_TYPES = ["k8s", "vcluster", "external"] as const;
export type ControlPlaneType = (typeof CONTROLPLANE_TYPES)[number];

/** KubeFlex's backends: the host's shared Postgres, or an etcd of the control plane's own. */
export const CONTROLPLANE_BACKENDS = ["shared", "dedicated"] as const;
export type ControlPlaneBackend = (typeof CONTROLPLANE_BACKENDS)[number];

export interface ControlPlaneOptions {
  readonly type: ControlPlaneType;
  readonly backend: ControlPlaneBackend;
}

export const KFLEX_API_VERSION = "tenancy.kflex.kubestellar.org/v1alpha1";
export const CONTROLPLANE_KIND = "ControlPlane";
export const POSTCREATEHOOK_KIND = "PostCreateHook";

/** The namespace KubeFlex creates on the host for control plane `cp` (util.GenerateNamespaceFromControlPlaneName). */
export function controlPlaneNamespace(cp: string): string {
  return `${cp}-system`;
}

/** The Secret KubeFlex writes the control plane's admin kubeconfig into, in controlPlaneNamespace(cp). */
export const KFLEX_KUBECONFIG_SECRET = "admin-kubeconfig";
/** Its key with the address reachable from outside the host cluster (the CLI's). */
export const KFLEX_KUBECONFIG_KEY = "kubeconfig";
/** Its key with the in-cluster address (the agent's). */
export const KFLEX_INCLUSTER_KEY = "kubeconfig-incluster";

/** The PostCreateHook that lays team `team`'s baseline inside its control plane. */
export function baselineHookName(team: string): string {
  return `${team}-baseline`;
}

/** Where the GitSync of a controlplane team lives on the host: an admin-level object. */
export function controlPlaneSyncNamespace(): string {
  return SYSTEM_NAMESPACE;
}

/**
 * `<name>-system` namespaces that exist for something else on a cluster tenantry runs: KubeFlex
 * reuses an existing `<cp>-system` (and would put the team's API server, its admin kubeconfig
 * and the hook's Job there), or creates one with an owner reference that deleting the team
 * would garbage-collect.
 */
const SYSTEM_NAMESPACE_OWNERS = ["kube", "kubeflex", "flux", "gatekeeper", "tenantry"] as const;

/**
 * Problems with `team` as the name of a controlplane team, beyond teamNameProblems: its
 * `<team>-system` must not be a system namespace, and its GitSync and deploy key in
 * tenantry-system must not be the admin repo's (`admin`, `admin-deploy-key`).
 */
export function controlPlaneTeamNameProblems(team: string): string[] {
  const problems: string[] = [];
  if ((SYSTEM_NAMESPACE_OWNERS as readonly string[]).includes(team)) {
    problems.push(`team name "${team}" cannot have a control plane: KubeFlex would use namespace ${controlPlaneNamespace(team)}, which belongs to ${team === "kube" ? "Kubernetes" : team}; choose another name`);
  }
  if (team === "admin") {
    problems.push(`team name "admin" cannot have a control plane: its GitSync and deploy key in ${SYSTEM_NAMESPACE} would be the admin repo's (admin, admin-deploy-key); choose another name`);
  }
  return problems;
}
