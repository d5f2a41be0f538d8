// A Kubernetes object as tenantry handles it (apiVersion, kind, metadata, anything else),
// parsed from a YAML stream, and its identity: how tenantry names an object in messages and
// in inventories.

import { parseAllDocuments } from "yaml";
import { ToolError } from "../errors.js";
import { documentValueOf } from "./yaml-value.js";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Parses a stream of YAML documents into objects, refusing anything that is not one. */
export function parseObjects(text: string, source: string): KubeObject[] {
  const values: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    const first = doc.errors[0];
    if (first !== undefined) throw new ToolError(`${source}: malformed YAML: ${first.message.split("\n")[0] ?? ""}`);
    values.push(documentValueOf(doc, source));
  }
  return objectsOf(values, source);
}

/** `values` (parsed documents, or the build service's JSON objects) as Kubernetes objects; empty documents are skipped. */
export function objectsOf(values: readonly unknown[], source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const value of values) {
    if (value === null || value === undefined) continue;
    const o = value as Partial<KubeObject>;
    if (typeof o !== "object" || Array.isArray(o) || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
      throw new ToolError(`${source}: a document is not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
    }
    objects.push(o as KubeObject);
  }
  return objects;
}

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
