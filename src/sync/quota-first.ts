// When the reconciler may prune before an apply has succeeded ("quota-first").
//
// Objects Git no longer has still count against their namespace's ResourceQuota until they
// are pruned, and a prune normally follows only a successful apply: under a tight object-count
// quota a revision that *replaces* objects could never be applied. Pruning first deletes
// objects before anything of the new revision is known to work, so it is allowed only when
// every one of these holds (otherwise the revision fails with ApplyFailed and nothing is
// pruned, as Flux's kustomize-controller does for any failed apply):
//   1. every refusal of the apply is a ResourceQuota's `exceeded quota` (403);
//   2. every refused object is namespaced, and each refusal names only object-count limits
//      (`configmaps`, `count/deployments.apps`, ...): what a prune frees is then countable;
//   3. in each such namespace the new revision fits by itself: its own objects of that
//      resource plus the ones there that this GitSync does not own stay within the lowest
//      hard limit of the namespace's ResourceQuotas (read from them: the refusal's text
//      only says which resource, and may carry text a tenant wrote).
// Only the stale objects of those namespaces and resources are pruned first; the rest of the
// prune waits for the apply, as always.

import type { Refused } from "../cluster/apply.js";
import type { RestClient } from "../cluster/rest.js";
import { headerOf, type InventoryEntry } from "../model/gitsync.js";
import { type KubeObject, objectId } from "../model/object.js";

/** The resources an object-count quota may name without `count/` (kube's legacy names). */
const LEGACY_COUNTS = new Set(["pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims"]);

/** A resource a count quota limits: its plural and API group ("" for the core group). */
export interface CountedResource {
  readonly plural: string;
  readonly group: string;
}

/** The resource an object-count quota name limits, or undefined for any other quota (cpu, memory, storage, node ports...). */
export function countedResource(name: string): CountedResource | undefined {
  if (LEGACY_COUNTS.has(name)) return { plural: name, group: "" };
  const m = /^count\/([a-z0-9-]+)(?:\.([a-z0-9.-]+))?$/.exec(name);
  if (m === null) return undefined;
  return { plural: m[1] ?? "", group: m[2] ?? "" };
}

/** A quota refusal (403 `exceeded quota: NAME, requested: ..., used: ..., limited: r=n,...`). */
export function isQuotaRefusal(r: Pick<Refused, "refusal">): boolean {
  return r.refusal.code === 403 && /exceeded quota/.test(r.refusal.message);
}

/** The limits a quota refusal names, or undefined unless every one is an object count. */
export function countLimits(message: string): Map<string, number> | undefined {
  const m = /limited: ([^\s;]+)/.exec(message);
  if (m?.[1] === undefined) return undefined;
  const limits = new Map<string, number>();
  for (const pair of m[1].split(",")) {
    const [name = "", value = ""] = pair.split("=");
    if (countedResource(name) === undefined || !/^\d+$/.test(value)) return undefined;
    limits.set(name, Number(value));
  }
  return limits.size > 0 ? limits : undefined;
}

/** A namespace and object-count resource a refusal named (the limit itself is read from the ResourceQuotas). */
export interface RefusedCount {
  readonly namespace: string;
  readonly resource: string;
}

/** Conditions 1 and 2: the count resources the refusals name, or undefined when quota-first does not apply. */
export function refusedCounts(refused: readonly Refused[]): RefusedCount[] | undefined {
  const out = new Map<string, RefusedCount>();
  for (const r of refused) {
    if (!isQuotaRefusal(r) || r.namespace === undefined || r.namespace === "") return undefined;
    const limits = countLimits(r.refusal.message);
    if (limits === undefined) return undefined;
    for (const resource of limits.keys()) out.set(`${r.namespace}\0${resource}`, { namespace: r.namespace, resource });
  }
  return out.size > 0 ? [...out.values()] : undefined;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";
}

/** The lowest hard limit on `resource` among the namespace's ResourceQuotas (their spec: what an admin set, not the refusal's text). */
async function hardLimit(client: RestClient, namespace: string, resource: string): Promise<number | undefined> {
  const quotas = await client.listAll(`/api/v1/namespaces/${encodeURIComponent(namespace)}/resourcequotas`);
  const limits = quotas
    .map((q) => (q as { spec?: { hard?: Record<string, unknown> } }).spec?.hard?.[resource])
    .filter((v): v is string | number => (typeof v === "string" && /^\d+$/.test(v)) || typeof v === "number")
    .map(Number);
  return limits.length === 0 ? undefined : Math.min(...limits);
}

/** What quota-first needs to know about the GitSync's run. */
export interface QuotaFirstRun {
  /** The new render, after lint (namespaces set). */
  readonly objects: readonly KubeObject[];
  /** Inventory ids of the previous and the new render: what this GitSync applied or applies. */
  readonly inventory: ReadonlySet<string>;
  /** The entries Git no longer has. */
  readonly stale: readonly InventoryEntry[];
  /** Whether a live object carries this GitSync's ownership labels. */
  readonly labelled: (o: KubeObject) => boolean;
}

/**
 * Condition 3, read from the cluster, and what to prune first: for each refused namespace and
 * resource, the new objects of that resource there plus the live ones that are not this
 * GitSync's (in its inventory *and* labelled as its: labels alone can be copied by anyone who
 * may create objects there) must fit the lowest hard limit of the namespace's ResourceQuotas.
 * Returns the stale entries of exactly those namespaces and resources, or undefined when
 * quota-first does not apply.
 */
export async function quotaFirstStale(client: RestClient, counts: readonly RefusedCount[], run: QuotaFirstRun): Promise<InventoryEntry[] | undefined> {
  const prune = new Map<string, InventoryEntry>();
  for (const c of counts) {
    const want = countedResource(c.resource);
    if (want === undefined) return undefined;
    const limit = await hardLimit(client, c.namespace, c.resource);
    if (limit === undefined) return undefined;
    const mine: KubeObject[] = [];
    for (const o of run.objects) {
      if (o.metadata.namespace !== c.namespace || groupOf(o.apiVersion) !== want.group) continue;
      if ((await client.resource(o.apiVersion, o.kind))?.name === want.plural) mine.push(o);
    }
    const sample = mine[0];
    if (sample === undefined) return undefined;
    const base = sample.apiVersion.includes("/") ? `/apis/${sample.apiVersion}` : `/api/${sample.apiVersion}`;
    const live = await client.listAll(`${base}/namespaces/${encodeURIComponent(c.namespace)}/${want.plural}`);
    // List items carry no apiVersion and kind: they are the sample's.
    const isOurs = (o: KubeObject): boolean => run.inventory.has(objectId({ ...o, apiVersion: sample.apiVersion, kind: sample.kind })) && run.labelled(o);
    const others = live.filter((o) => !isOurs(o)).length;
    if (others + mine.length > limit) return undefined;
    for (const e of run.stale) {
      const h = headerOf(e);
      if (h.metadata.namespace === c.namespace && h.kind === sample.kind && groupOf(h.apiVersion) === want.group) prune.set(e.id, e);
    }
  }
  return prune.size === 0 ? undefined : [...prune.values()];
}
