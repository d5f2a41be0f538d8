// Which namespaces' network changed between two renders, pure: their NetworkPolicies, their
// Namespace's labels, or their agent's pod labels and ports. Only their rows and columns of
// the matrix can differ (a pair's ingress is judged by the destination namespace's policies
// against the source's labels, its egress by the source's policies against the destination's).
//
// Linear and cheap on a 1000-team render (tens of thousands of objects): what the network
// depends on is indexed by namespace and item, and compared item by item: the same JSON text
// is the same (the common case, native), else a deep equality blind to key order decides.

import { isDeepStrictEqual } from "node:util";
import type { KubeObject } from "../model/object.js";
import { isNetworkPolicy } from "./model.js";

type Template = { metadata?: { labels?: unknown }; spec?: { containers?: { ports?: unknown }[] } } | undefined;

/** What of each namespace the network depends on: namespace -> item -> value. */
function networkInputs(objects: readonly KubeObject[]): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  const add = (ns: string, item: string, value: unknown): void => {
    let items = out.get(ns);
    if (items === undefined) out.set(ns, (items = new Map<string, unknown>()));
    items.set(item, value);
  };
  for (const o of objects) {
    if (o.kind === "Namespace" && o.apiVersion === "v1") add(o.metadata.name, "labels", o.metadata.labels ?? {});
    else if (o.kind === "Deployment" || o.kind === "StatefulSet" || o.kind === "DaemonSet") {
      const template = (o.spec as { template?: Template } | undefined)?.template;
      add(o.metadata.namespace ?? "default", `pods ${o.kind}/${o.metadata.name}`, [template?.metadata?.labels ?? {}, (template?.spec?.containers ?? []).map((c) => c.ports ?? [])]);
    } else if (isNetworkPolicy(o)) add(o.metadata.namespace ?? "default", `policy ${o.metadata.name}`, o.spec ?? null);
  }
  return out;
}

function sameItems(a: ReadonlyMap<string, unknown> | undefined, b: ReadonlyMap<string, unknown> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const [item, value] of a) {
    if (!b.has(item)) return false;
    const other = b.get(item);
    if (JSON.stringify(value) !== JSON.stringify(other) && !isDeepStrictEqual(value, other)) return false;
  }
  return true;
}

export function changedNamespaces(base: readonly KubeObject[], head: readonly KubeObject[]): string[] {
  const b = networkInputs(base);
  const h = networkInputs(head);
  const changed: string[] = [];
  for (const ns of new Set([...b.keys(), ...h.keys()])) {
    if (!sameItems(b.get(ns), h.get(ns))) changed.push(ns);
  }
  return changed.sort();
}
