// Checks before anything is applied. Pure: the caller supplies the file contents and
// the cluster's answer to "is this kind namespaced?".
//
// - remote bases: kustomize itself will fetch git URLs and http files named in resources;
//   a GitSync must build from its own commit only.
// - team scope: a team GitSync may only hold namespaced objects in its own namespace. The
//   API server would refuse the rest when applying as the team anyway; the lint refuses the
//   whole revision first, naming each object, so nothing of it is half-applied.

import { parseAllDocuments } from "yaml";
import { describeObject } from "../cluster/objects.js";
import type { KubeObject } from "../kustomize/build.js";

const KUSTOMIZATION_FIELDS = ["resources", "bases", "components"] as const;

function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || /^git@/.test(entry) || /^(github|gitlab|bitbucket)\.(com|org)\//.test(entry);
}

/** Problems with one kustomization file's text: every remote entry, named. */
export function remoteBaseProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    const value: unknown = doc.toJS();
    if (typeof value !== "object" || value === null) continue;
    for (const field of KUSTOMIZATION_FIELDS) {
      const list = (value as Record<string, unknown>)[field];
      if (!Array.isArray(list)) continue;
      for (const entry of list) {
        if (typeof entry === "string" && isRemote(entry)) {
          problems.push(`${file}: ${field} entry "${entry}" is a remote base: vendor it into the repository instead`);
        }
      }
    }
  }
  return problems;
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
