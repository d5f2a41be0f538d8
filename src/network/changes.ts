// Which namespaces' network changed between two renders, pure: their NetworkPolicies, their
// Namespace's labels, or their agent's pod labels and ports. Only their rows and columns of
// the matrix can differ (a pair's ingress is judged by the destination namespace's policies
// against the source's labels, its egress by the source's policies against the destination's).

import type { KubeObject } from "../model/object.js";
import { isNetworkPolicy } from "./model.js";

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return v === undefined ? "null" : JSON.stringify(v);
}

/** What of a namespace the network depends on, as one text per namespace. */
function fingerprints(objects: readonly KubeObject[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (ns: string, text: string): void => {
    out.set(ns, [...(out.get(ns) ?? []), text]);
  };
  for (const o of objects) {
    if (isNetworkPolicy(o)) add(o.metadata.namespace ?? "default", `policy ${o.metadata.name} ${stable(o.spec)}`);
    else if (o.kind === "Namespace" && o.apiVersion === "v1") add(o.metadata.name, `labels ${stable(o.metadata.labels ?? {})}`);
    else if (o.kind === "Deployment" || o.kind === "StatefulSet" || o.kind === "DaemonSet") {
      const template = (o.spec as { template?: { metadata?: { labels?: unknown }; spec?: { containers?: { ports?: unknown }[] } } } | undefined)?.template;
      add(o.metadata.namespace ?? "default", `pods ${o.kind}/${o.metadata.name} ${stable(template?.metadata?.labels ?? {})} ${stable((template?.spec?.containers ?? []).map((c) => c.ports ?? []))}`);
    }
  }
  for (const [ns, texts] of out) out.set(ns, texts.sort());
  return out;
}

export function changedNamespaces(base: readonly KubeObject[], head: readonly KubeObject[]): string[] {
  const b = fingerprints(base);
  const h = fingerprints(head);
  const changed: string[] = [];
  for (const ns of new Set([...b.keys(), ...h.keys()])) {
    if (stable(b.get(ns) ?? []) !== stable(h.get(ns) ?? [])) changed.push(ns);
  }
  return changed.sort();
}
