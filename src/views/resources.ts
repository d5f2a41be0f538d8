// `tenantry resources <team>`, the pure part, after KubePlus's `kubectl appresources`:
// which kinds to list (from API discovery), and the objects of a namespace as ownership
// trees (ownerReferences; EndpointSlices and Endpoints under their Service), grouped by kind.

import type { KubeObject } from "../model/object.js";
import { shortRevision } from "./status.js";

export interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs?: readonly string[];
}

export interface ApiResourceList {
  readonly groupVersion: string;
  readonly resources: readonly ApiResource[];
}

export interface ApiGroupList {
  readonly groups: readonly { readonly name: string; readonly preferredVersion?: { readonly groupVersion: string }; readonly versions: readonly { readonly groupVersion: string }[] }[];
}

/** A kind to list in a namespace. */
export interface ListableKind {
  readonly apiVersion: string;
  readonly kind: string;
  /** The plural resource name, as in the URL. */
  readonly resource: string;
}

/** Events are a log, not resources; PodMetrics are usage (`tenantry usage`). */
const SKIPPED_RESOURCES = new Set(["events", "events.events.k8s.io"]);
const SKIPPED_GROUPS = new Set(["metrics.k8s.io"]);

/** The groupVersions to discover: each group's preferred version (one version per kind). */
export function preferredGroupVersions(groups: ApiGroupList): string[] {
  return groups.groups
    .filter((g) => !SKIPPED_GROUPS.has(g.name))
    .map((g) => g.preferredVersion?.groupVersion ?? g.versions[0]?.groupVersion)
    .filter((gv): gv is string => gv !== undefined);
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** Namespaced, listable kinds of the discovered lists, without subresources and events. */
export function listableKinds(lists: readonly ApiResourceList[]): ListableKind[] {
  const seen = new Set<string>();
  const kinds: ListableKind[] = [];
  for (const list of lists) {
    const group = groupOf(list.groupVersion);
    if (SKIPPED_GROUPS.has(group)) continue;
    for (const r of list.resources) {
      if (r.name.includes("/") || !r.namespaced || !(r.verbs ?? []).includes("list")) continue;
      const qualified = group === "" ? r.name : `${r.name}.${group}`;
      if (SKIPPED_RESOURCES.has(qualified) || seen.has(`${group}/${r.kind}`)) continue;
      seen.add(`${group}/${r.kind}`);
      kinds.push({ apiVersion: list.groupVersion, kind: r.kind, resource: r.name });
    }
  }
  return kinds;
}

/** The URL path listing `k` in `namespace`. */
export function listPath(k: ListableKind, namespace: string): string {
  const prefix = k.apiVersion.includes("/") ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
  return `${prefix}/namespaces/${namespace}/${k.resource}`;
}

/** `resource.group` (or `resource` for the core group): how kubectl names a kind. */
export function qualifiedResource(k: ListableKind): string {
  const group = groupOf(k.apiVersion);
  return group === "" ? k.resource : `${k.resource}.${group}`;
}

export interface TreeNode {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  /** A short state for people: a pod's phase, a Deployment's ready replicas. */
  readonly info: string;
  readonly children: TreeNode[];
}

export interface KindGroup {
  readonly kind: string;
  readonly apiVersion: string;
  readonly objects: TreeNode[];
}

interface Owned {
  ownerReferences?: { uid: string; controller?: boolean }[];
  uid?: string;
}

type Loose = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

function shortRev(v: unknown): string | undefined {
  return typeof v !== "string" || v === "" ? undefined : shortRevision(v);
}

/**
 * A sync object's state in one phrase: `Ready=True ReconciliationSucceeded main@0123456`, with
 * `stalled` or `reconciling` when those conditions are True and the tried revision when it is
 * not the applied one. Empty before the first reconcile.
 */
function syncInfo(status: Loose, applied: unknown, attempted: unknown): string {
  const conditions = Array.isArray(status.conditions) ? (status.conditions as { type?: string; status?: string; reason?: string }[]) : [];
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready === undefined) return "";
  const parts = [`Ready=${ready.status ?? "Unknown"}${ready.reason === undefined || ready.reason === "" ? "" : ` ${ready.reason}`}`];
  if (conditions.some((c) => c.type === "Stalled" && c.status === "True")) parts.push("stalled");
  else if (conditions.some((c) => c.type === "Reconciling" && c.status === "True")) parts.push("reconciling");
  const a = shortRev(applied);
  const t = shortRev(attempted);
  if (a !== undefined) parts.push(a);
  if (t !== undefined && t !== a) parts.push(`tried ${t}`);
  return parts.join(" ");
}

/** A one-phrase state of `o`; the empty string when there is nothing short to say. */
export function objectInfo(o: KubeObject): string {
  const spec = (o.spec ?? {}) as Loose;
  const status = (o.status ?? {}) as Loose;
  switch (o.kind) {
    case "Pod":
      return typeof status.phase === "string" ? status.phase : "";
    case "Deployment":
    case "ReplicaSet":
    case "StatefulSet":
      return `${num(status.readyReplicas)}/${typeof spec.replicas === "number" ? spec.replicas : 1} ready`;
    case "DaemonSet":
      return `${num(status.numberReady)}/${num(status.desiredNumberScheduled)} ready`;
    case "Service": {
      const type = typeof spec.type === "string" ? spec.type : "ClusterIP";
      return typeof spec.clusterIP === "string" ? `${type} ${spec.clusterIP}` : type;
    }
    case "EndpointSlice":
      return `${Array.isArray(o.endpoints) ? o.endpoints.length : 0} endpoints`;
    case "GitSync":
      return syncInfo(status, status.lastAppliedRevision, status.lastAttemptedRevision);
    default:
      // Flux's sync objects (engine flux): a Kustomization's status has the GitSync's shape; a
      // GitRepository's revision is its stored artifact's.
      if (o.kind === "Kustomization" && groupOf(o.apiVersion) === "kustomize.toolkit.fluxcd.io") {
        return syncInfo(status, status.lastAppliedRevision, status.lastAttemptedRevision);
      }
      if (o.kind === "GitRepository" && groupOf(o.apiVersion) === "source.toolkit.fluxcd.io") {
        return syncInfo(status, ((status.artifact ?? {}) as Loose).revision, undefined);
      }
      return "";
  }
}

/** Kinds shown first, in this order (owners before what they own); the rest alphabetically. */
const KIND_ORDER = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "Pod", "Service", "Ingress", "GitSync", "GitRepository", "Kustomization"];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}

function compareObjects(a: KubeObject, b: KubeObject): number {
  return kindRank(a.kind) - kindRank(b.kind) || a.kind.localeCompare(b.kind) || a.apiVersion.localeCompare(b.apiVersion) || a.metadata.name.localeCompare(b.metadata.name);
}

/**
 * The objects of one namespace as trees: each object under its controlling owner (or first
 * owner present), EndpointSlices under the Service named by `kubernetes.io/service-name`,
 * Endpoints under the Service of the same name; roots grouped by kind.
 */
export function resourceTree(objects: readonly KubeObject[]): KindGroup[] {
  const sorted = [...objects].sort(compareObjects);
  const byUid = new Map<string, KubeObject>();
  const services = new Map<string, KubeObject>();
  for (const o of sorted) {
    const uid = (o.metadata as Owned).uid;
    if (uid !== undefined) byUid.set(uid, o);
    if (o.kind === "Service" && o.apiVersion === "v1") services.set(o.metadata.name, o);
  }
  const parentOf = (o: KubeObject): KubeObject | undefined => {
    const refs = (o.metadata as Owned).ownerReferences ?? [];
    const ref = refs.find((r) => r.controller === true && byUid.has(r.uid)) ?? refs.find((r) => byUid.has(r.uid));
    if (ref !== undefined) return byUid.get(ref.uid);
    if (o.kind === "EndpointSlice") {
      const svc = o.metadata.labels?.["kubernetes.io/service-name"];
      return svc === undefined ? undefined : services.get(svc);
    }
    if (o.kind === "Endpoints" && o.apiVersion === "v1") return services.get(o.metadata.name);
    return undefined;
  };
  const children = new Map<KubeObject, KubeObject[]>();
  const roots: KubeObject[] = [];
  for (const o of sorted) {
    const p = parentOf(o);
    if (p === undefined || p === o) roots.push(o);
    else children.set(p, [...(children.get(p) ?? []), o]);
  }
  const placed = new Set<KubeObject>();
  const node = (o: KubeObject): TreeNode => {
    placed.add(o);
    const kids = (children.get(o) ?? []).filter((c) => !placed.has(c));
    return { kind: o.kind, apiVersion: o.apiVersion, name: o.metadata.name, info: objectInfo(o), children: kids.map(node) };
  };
  const trees = roots.map((o) => [o, node(o)] as const);
  // An ownership cycle (never made by Kubernetes itself) leaves objects unplaced: show them as roots.
  for (const o of sorted) if (!placed.has(o)) trees.push([o, node(o)]);
  const groups = new Map<string, KindGroup>();
  for (const [o, n] of trees) {
    const key = `${o.apiVersion} ${o.kind}`;
    const group = groups.get(key) ?? { kind: o.kind, apiVersion: o.apiVersion, objects: [] };
    group.objects.push(n);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || a.kind.localeCompare(b.kind) || a.apiVersion.localeCompare(b.apiVersion));
}

/** Table rows: `Kind/name` indented with tree lines, and the object's info. */
export function treeRows(groups: readonly KindGroup[]): { resource: string; status: string }[] {
  const rows: { resource: string; status: string }[] = [];
  const walk = (n: TreeNode, prefix: string, branch: string): void => {
    rows.push({ resource: `${prefix}${branch}${n.kind}/${n.name}`, status: n.info });
    const inner = prefix + (branch === "" ? "" : branch === "├─ " ? "│  " : "   ");
    n.children.forEach((c, i) => {
      walk(c, inner, i === n.children.length - 1 ? "└─ " : "├─ ");
    });
  };
  for (const g of groups) for (const n of g.objects) walk(n, "", "");
  return rows;
}
