// Where a GitSync may apply (model/gitsync.ts): into another API server only with a kubeconfig
// Secret of its own namespace, except a GitSync in tenantry-system (admin-level: a controlplane
// team's, which reads the kubeconfig KubeFlex writes into <team>-system); a targetNamespace only
// with a kubeConfig (in the agent's own API server the team's namespace is the GitSync's own),
// and only in tenantry-system; a kubeConfig in tenantry-system only with a serviceAccountName;
// extra namespaces (spec.namespaces) only on a team's GitSync outside tenantry-system without a
// kubeConfig, each `<namespace>-<name>` (model/gitsync.ts namespacesProblems). The reconciler
// holds to the same rules; this says so before a push. Pure.

import { groupOf, type KubeObject } from "../model/object.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import { namespacesProblems } from "../model/gitsync.js";

type Obj = Record<string, unknown>;

function rec(v: unknown): Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

export function isGitSync(o: KubeObject): boolean {
  return o.kind === "GitSync" && groupOf(o.apiVersion) === "tenantry.dev";
}

/** What is wrong with where GitSync `o` applies; [] for any other object. */
export function gitSyncPlacementProblems(o: KubeObject): string[] {
  if (!isGitSync(o)) return [];
  const spec = rec((o as { spec?: unknown }).spec);
  const ns = o.metadata.namespace ?? "";
  const system = ns === SYSTEM_NAMESPACE;
  const problems: string[] = [];
  const kubeConfig = spec.kubeConfig;
  if (kubeConfig !== undefined) {
    const secretNamespace = rec(rec(kubeConfig).secretRef).namespace;
    if (!system && typeof secretNamespace === "string" && secretNamespace !== "" && secretNamespace !== ns) {
      problems.push(`spec.kubeConfig.secretRef.namespace is ${secretNamespace}: a GitSync outside ${SYSTEM_NAMESPACE} may only read a kubeconfig Secret of its own namespace ${ns}`);
    }
    if (system && spec.serviceAccountName === undefined) {
      problems.push(`spec.kubeConfig needs spec.serviceAccountName in ${SYSTEM_NAMESPACE}: without it the GitSync would apply into that API server as the kubeconfig's user (its admin), unchecked; set serviceAccountName and targetNamespace`);
    }
  }
  if (spec.targetNamespace !== undefined) {
    if (!system) problems.push(`spec.targetNamespace: only a GitSync in ${SYSTEM_NAMESPACE} may apply into another namespace; a GitSync in ${ns} applies into ${ns}`);
    else if (kubeConfig === undefined) problems.push("spec.targetNamespace needs spec.kubeConfig: on this cluster a team's sync lives in the team's namespace");
  }
  const namespaces = spec.namespaces;
  if (namespaces !== undefined && namespaces !== null) {
    if (!Array.isArray(namespaces) || namespaces.some((n) => typeof n !== "string")) problems.push("spec.namespaces must be a list of namespace names");
    else problems.push(...namespacesProblems(ns, kubeConfig !== undefined, namespaces as string[]));
  }
  return problems;
}
