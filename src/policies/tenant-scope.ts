// The tenant-scope lint of a team's render, before anything is applied: a team GitSync may
// only hold namespaced objects in its own namespace, or in the team's extra namespaces its
// spec.namespaces lists (issue 20). The API server would refuse the rest
// when applying as the team anyway (it is the judge); the lint refuses the whole revision
// first, naming each object, so nothing of it is half-applied. Pure: the caller supplies the
// cluster's answer to "is this kind namespaced?". Used by the reconciler and by
// `tenantry validate --team`.

import { describeObject, type KubeObject } from "../model/object.js";

export type ScopeOf = (o: KubeObject) => "namespaced" | "cluster" | "unknown";

/**
 * Problems with a render applied inside `namespace` (and the `also` namespaces: a team's extra
 * ones) only; [] when it may be applied. Every object outside them is named.
 */
export function teamScopeProblems(objects: readonly KubeObject[], namespace: string, scopeOf: ScopeOf, also: readonly string[] = []): string[] {
  const allowed = new Set([namespace, ...also]);
  const where = allowed.size === 1 ? `namespace ${namespace}` : `its namespaces ${[...allowed].join(", ")}`;
  const problems: string[] = [];
  for (const o of objects) {
    const scope = scopeOf(o);
    if (scope === "cluster") {
      problems.push(`${describeObject(o)} is cluster-scoped: a team repo may only hold objects in ${where}`);
    } else if (scope === "unknown") {
      problems.push(`${describeObject(o)}: the cluster does not serve ${o.kind} in ${o.apiVersion}`);
    } else if (o.metadata.namespace !== undefined && !allowed.has(o.metadata.namespace)) {
      problems.push(`${describeObject(o)} is in namespace ${o.metadata.namespace}: a team repo may only hold objects in ${where}`);
    }
  }
  return problems;
}

/** Namespaced objects without a namespace land in the team's; others are left as they are. */
export function defaultNamespace(objects: readonly KubeObject[], namespace: string, scopeOf: ScopeOf): KubeObject[] {
  return objects.map((o) =>
    scopeOf(o) === "namespaced" && (o.metadata.namespace === undefined || o.metadata.namespace === "")
      ? { ...o, metadata: { ...o.metadata, namespace } }
      : o,
  );
}
