// Loading kubeconfigs once at the edge, and deriving the team's identity from one:
// impersonation of system:serviceaccount:<team>:<team>, so the API server judges every
// request as the team would be judged.

import { KubeConfig } from "@kubernetes/client-node";
import { TenantryError } from "../errors.js";

/** A kubeconfig from `file`, or $KUBECONFIG / ~/.kube/config / in-cluster when absent. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file !== undefined) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (e) {
    throw new TenantryError(`cannot read kubeconfig ${file ?? "(default)"}: ${(e as Error).message}: pass --kubeconfig FILE`, 2);
  }
  if (kc.getCurrentCluster() === null) {
    throw new TenantryError(`kubeconfig ${file ?? "(default)"} has no current cluster: pass --kubeconfig FILE or set a context`, 2);
  }
  return kc;
}

/** A copy of `kc` whose requests impersonate `user` (the API server adds its groups). */
export function impersonating(kc: KubeConfig, user: string): KubeConfig {
  const current = kc.getCurrentUser();
  const context = kc.getContextObject(kc.getCurrentContext());
  if (current === null || context === null) throw new TenantryError("kubeconfig has no current user or context", 2);
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.getClusters(),
    users: [{ ...current, name: `${current.name}-as-${user}`, impersonateUser: user }],
    contexts: [{ ...context, name: `as-${user}`, user: `${current.name}-as-${user}` }],
    currentContext: `as-${user}`,
  });
  return copy;
}
