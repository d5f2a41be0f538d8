// Object identity: how tenantry names an object in messages and in inventories.

import type { KubeObject } from "../kustomize/build.js";

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects: for people. */
export function describeObject(o: Pick<KubeObject, "kind" | "metadata">): string {
  const ns = o.metadata.namespace;
  return ns === undefined || ns === "" ? `${o.kind}/${o.metadata.name}` : `${o.kind}/${ns}/${o.metadata.name}`;
}

/** The group of an apiVersion: `apps/v1` -> `apps`, `v1` -> `` (core). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** Flux's inventory id: `<namespace>_<name>_<group>_<kind>`. */
export function objectId(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  return `${o.metadata.namespace ?? ""}_${o.metadata.name}_${groupOf(o.apiVersion)}_${o.kind}`;
}
