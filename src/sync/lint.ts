// Checks before anything is applied. Pure: the caller supplies the file contents and
// the cluster's answer to "is this kind namespaced?".
//
// - remote bases: kustomize itself will fetch git URLs and http files named in resources;
//   a GitSync must build from its own commit only.
// - team scope: a team GitSync may only hold namespaced objects in its own namespace. The
//   API server would refuse the rest when applying as the team anyway; the lint refuses the
//   whole revision first, naming each object, so nothing of it is half-applied.

import { describeObject } from "../cluster/objects.js";
import type { KubeObject } from "../kustomize/build.js";
import { isRemote, loadedEntries } from "../kustomize/closure.js";

/** Problems with one kustomization file's text: every remote entry, named. */
export function remoteBaseProblems(file: string, text: string): string[] {
  return loadedEntries(text)
    .filter(({ entry }) => isRemote(entry))
    .map(({ field, entry }) => `${file}: ${field} entry "${entry}" is a remote base: vendor it into the repository instead`);
}

export type ScopeOf = (o: KubeObject) => "namespaced" | "cluster" | "unknown";

/** Problems with a render applied inside `namespace` only; [] when it may be applied. */
export function teamScopeProblems(objects: readonly KubeObject[], namespace: string, scopeOf: ScopeOf): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const scope = scopeOf(o);
    if (scope === "cluster") {
      problems.push(`${describeObject(o)} is cluster-scoped: a team repo may only hold objects in namespace ${namespace}`);
    } else if (scope === "unknown") {
      problems.push(`${describeObject(o)}: the cluster does not serve ${o.kind} in ${o.apiVersion}`);
    } else if (o.metadata.namespace !== undefined && o.metadata.namespace !== namespace) {
      problems.push(`${describeObject(o)} is in namespace ${o.metadata.namespace}: a team repo may only hold objects in namespace ${namespace}`);
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
