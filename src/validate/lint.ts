// The tenant-scope lint of an admin repo. Pure: objects in, problems out.
//
// - A team overlay (cluster/<team>/) touches only its own namespaces: `<team>` and the extra
//   ones team.yaml lists (`<team>-<name>`, model/namespaces.ts). The exceptions are
//   cluster-scoped objects named `<team>-…` (its constraints and policy bindings) and its
//   Namespaces, and objects in tenantry-system named `<team>-…` (its policy
//   parameters, which live where the team has no rights). A team on its own control plane
//   (model/controlplane.ts) has instead its ControlPlane `<team>` and, in tenantry-system, its
//   GitSync `<team>`, which must apply into another API server (spec.kubeConfig) as a
//   ServiceAccount of the team's: on this cluster it would act with tenantry-system's rights.
// - Only cluster/common/ holds other cluster-scoped objects.
// - Every object carries `app.kubernetes.io/managed-by: tenantry`; a team overlay's objects
//   carry `tenantry.dev/team: <team>`; cluster/common's objects carry no team label (plan
//   reads it to tell team changes from cluster-wide ones).

import { groupOf, type KubeObject } from "../model/object.js";
import { CONTROLPLANE_KIND, controlPlaneNamespace, KFLEX_API_VERSION, KFLEX_KUBECONFIG_SECRET } from "../model/controlplane.js";
import type { Scope } from "./schemas.js";
import { MANAGED_BY_LABEL, TEAM_LABEL } from "../model/labels.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import { type Located, type Problem, problemAt } from "../model/problem.js";

/** A team's namespaces, home first (model/namespaces.ts teamNamespaces); default: the home one only. */
export type NamespacesOf = (team: string) => readonly string[];

function teamOverlayProblems(l: Located, team: string, scope: Scope, own: readonly string[]): string[] {
  const o = l.object;
  const problems: string[] = [];
  const label = o.metadata.labels?.[TEAM_LABEL];
  if (label === undefined) problems.push(`missing label ${TEAM_LABEL}: ${team}`);
  else if (label !== team) problems.push(`label ${TEAM_LABEL} is "${label}" in the overlay of team ${team}: set it to ${team}`);
  const ns = o.metadata.namespace;
  const prefixed = o.metadata.name.startsWith(`${team}-`);
  if (scope === "cluster") {
    if (isControlPlane(o) && o.metadata.name === team) {
      // The team's own control plane: named as the team, like its Namespace.
    } else if (o.kind === "Namespace" && !own.includes(o.metadata.name)) {
      problems.push(own.length === 1 ? `the overlay of team ${team} may only hold its own Namespace ${team}` : `the overlay of team ${team} may only hold its own Namespaces ${own.join(", ")}`);
    } else if (o.kind !== "Namespace" && !prefixed) {
      problems.push(
        `cluster-scoped, and its name does not start with "${team}-": a team overlay holds only its namespace's objects and cluster-scoped objects named ${team}-…; put shared objects in cluster/common/`,
      );
    }
  } else if (ns === undefined || ns === "") {
    problems.push(`has no namespace: set metadata.namespace: ${team}`);
  } else if (ns === SYSTEM_NAMESPACE) {
    if (o.kind === "GitSync" && groupOf(o.apiVersion) === "tenantry.dev" && o.metadata.name === team) problems.push(...remoteSyncProblems(o, team));
    else if (!prefixed) problems.push(`is in ${SYSTEM_NAMESPACE}: a team overlay may only put objects named ${team}-… there`);
  } else if (!own.includes(ns)) {
    problems.push(`is in namespace ${ns}: the overlay of team ${team} may only touch ${own.length === 1 ? `namespace ${team}` : `its namespaces ${own.join(", ")}`}`);
  }
  return problems;
}

function isControlPlane(o: KubeObject): boolean {
  return o.kind === CONTROLPLANE_KIND && groupOf(o.apiVersion) === groupOf(KFLEX_API_VERSION);
}

/** A team's GitSync in tenantry-system applies into the team's own API server, as the team there. */
function remoteSyncProblems(o: KubeObject, team: string): string[] {
  const spec = (o as { spec?: { kubeConfig?: { secretRef?: { name?: unknown; namespace?: unknown } } | null; serviceAccountName?: unknown; targetNamespace?: unknown } }).spec ?? {};
  const problems: string[] = [];
  if (spec.kubeConfig === undefined) problems.push(`a team's GitSync in ${SYSTEM_NAMESPACE} must apply into the team's own API server (spec.kubeConfig): on this cluster it would apply with ${SYSTEM_NAMESPACE}'s rights`);
  else {
    // Only the kubeconfig KubeFlex writes for the team's ControlPlane: any other Secret could be any cluster's admin.
    const ref = spec.kubeConfig?.secretRef;
    if (ref?.name !== KFLEX_KUBECONFIG_SECRET || ref.namespace !== controlPlaneNamespace(team)) {
      problems.push(`a team's GitSync in ${SYSTEM_NAMESPACE} reads the kubeconfig KubeFlex writes for its ControlPlane: set spec.kubeConfig.secretRef to name ${KFLEX_KUBECONFIG_SECRET}, namespace ${controlPlaneNamespace(team)}`);
    }
  }
  if (spec.serviceAccountName !== team) problems.push(`a team's GitSync in ${SYSTEM_NAMESPACE} applies as the team: set spec.serviceAccountName: ${team}`);
  if (spec.targetNamespace !== team) problems.push(`a team's GitSync in ${SYSTEM_NAMESPACE} applies into the team's namespace: set spec.targetNamespace: ${team}`);
  return problems;
}

/** Every tenant-scope problem of an admin repo's objects. */
export function tenantScopeProblems(objects: readonly Located[], scopeOf: (o: KubeObject) => Scope, namespacesOf: NamespacesOf = (team) => [team]): Problem[] {
  const problems: Problem[] = [];
  for (const l of objects) {
    const o = l.object;
    const found: string[] = [];
    if (o.metadata.labels?.[MANAGED_BY_LABEL] !== "tenantry") found.push(`missing label ${MANAGED_BY_LABEL}: tenantry`);
    const known = scopeOf(o);
    // A kind without a schema: its namespace says where it goes.
    const scope: Scope = known !== "unknown" ? known : o.metadata.namespace === undefined ? "cluster" : "namespaced";
    if (l.team !== null) {
      found.push(...teamOverlayProblems(l, l.team, scope, namespacesOf(l.team)));
    } else {
      const label = o.metadata.labels?.[TEAM_LABEL];
      if (label !== undefined && l.overlay !== ".") {
        found.push(`carries ${TEAM_LABEL}: ${label} but is in ${l.overlay}: team objects belong in cluster/${label}/`);
      }
      if (scope === "cluster" && l.overlay === ".") {
        found.push("cluster-scoped objects belong in cluster/common/ (shared) or cluster/<team>/ (named <team>-…)");
      }
    }
    for (const message of found) problems.push(problemAt(l, message));
  }
  return problems;
}
