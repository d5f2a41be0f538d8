// Which desired objects are already live exactly as desired: one paged LIST per kind
// (cluster-wide, or in each namespace of the scope that holds desired objects of that kind),
// each page compared and dropped at once, so a resync of thousands of objects sends no PATCH
// and holds at most one page of live objects. A kind that cannot be listed (forbidden, not
// served; in one namespace of several: that namespace) simply has no unchanged objects.

import { mapLimit } from "../concurrency.js";
import type { KubeObject } from "../model/object.js";
import type { RestClient } from "./rest.js";
import { isUnchanged } from "./unchanged.js";

export interface LiveScope {
  /** List in this namespace only (a team's identity may not list cluster-wide). */
  readonly namespace?: string;
  /**
   * List in these namespaces only, each on its own (a team's home and extra namespaces);
   * takes the place of `namespace`. A namespace no desired object of a kind is in is not listed.
   */
  readonly namespaces?: readonly string[];
  /** Only live objects with these labels can match (tenantry's ownership labels). */
  readonly labelSelector?: string;
}

export async function unchangedObjects(client: RestClient, objects: readonly KubeObject[], scope: LiveScope, fieldManager: string): Promise<Set<number>> {
  const byKind = new Map<string, number[]>();
  objects.forEach((o, i) => {
    const kind = `${o.apiVersion}|${o.kind}`;
    const list = byKind.get(kind);
    if (list === undefined) byKind.set(kind, [i]);
    else list.push(i);
  });
  const unchanged = new Set<number>();
  await mapLimit([...byKind], 4, async ([kind, indexes]) => {
    const [apiVersion = "", k = ""] = kind.split("|");
    const resource = await client.resource(apiVersion, k).catch(() => undefined);
    if (resource === undefined) return;
    // Where each object lives: namespaced objects without a namespace go to the client's default one.
    const where = (namespace: string | undefined, name: string): string => (resource.namespaced ? `${namespace ?? client.defaultNamespace}/${name}` : name);
    const wanted = new Map(indexes.map((i) => [where(objects[i]?.metadata.namespace, objects[i]?.metadata.name ?? ""), i]));
    const listIn = (namespace: string | undefined): Promise<void> =>
      (async () => {
        for await (const page of client.listPaged(apiVersion, k, namespace, scope.labelSelector)) {
          for (const item of page) {
            const i = wanted.get(where(item.metadata.namespace, item.metadata.name));
            const desired = i === undefined ? undefined : objects[i];
            // List items carry no apiVersion and kind of their own.
            if (i !== undefined && desired !== undefined && isUnchanged({ ...item, apiVersion, kind: k }, desired, fieldManager)) unchanged.add(i);
          }
        }
      })().catch(() => {
        // Forbidden to list, or the list failed: apply them all (a no-op apply is harmless).
      });
    if (!resource.namespaced || scope.namespaces === undefined) {
      await listIn(resource.namespaced ? scope.namespace : undefined);
      return;
    }
    const inScope = new Set(scope.namespaces);
    const holding = new Set(indexes.map((i) => objects[i]?.metadata.namespace ?? client.defaultNamespace));
    for (const namespace of [...holding].filter((n) => inScope.has(n))) await listIn(namespace);
  });
  return unchanged;
}
