// `tenantry plan --cluster`: head against the live cluster. Every object of head is applied
// with a server-side dry run (field manager tenantry, forced, as the reconciler applies),
// so admission, validation and RBAC answer exactly as they would; the result is compared
// with the live object to show what the apply would change there: drift, when the live
// object was edited by hand, or the change under review.
//
// The admin repo is applied with the admin's identity, so the dry run uses it too. Objects
// are applied one at a time through one client rather than through applyObjects, which
// stops at the first refused stage: a review wants every refusal at once. A dry run stores
// nothing, so an object of a kind whose CRD this change adds, or in a namespace this change
// creates, cannot be checked: it is reported as such, not as refused.

import { isDeepStrictEqual } from "node:util";
import type { KubeAccess } from "../cluster/access.js";
import { applyStage, FIELD_MANAGER } from "../cluster/apply.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal, unreachable } from "../cluster/api-errors.js";
import { describeObject, groupOf, type KubeObject } from "../model/object.js";
import { mapLimit } from "../concurrency.js";
import { text } from "../plan/risks.js";
import type { ClusterCheck, ClusterOutcome, ClusterResult, DriftField } from "../plan/plan.js";

type Obj = Record<string, unknown>;

function isRecord(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Fields the API server writes on every change: never drift. */
const SERVER_METADATA = ["managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"];

function withoutServerFields(o: KubeObject): Obj {
  const metadata = Object.fromEntries(Object.entries(o.metadata).filter(([k]) => !SERVER_METADATA.includes(k)));
  return Object.fromEntries([...Object.entries(o).filter(([k]) => k !== "status" && k !== "metadata"), ["metadata", metadata]]);
}

function pathOf(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** The fields where `live` and `after` differ, as paths, leaves only. */
export function driftFields(live: unknown, after: unknown, path = ""): DriftField[] {
  if (isRecord(live) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(live), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => driftFields(live[k], after[k], pathOf(path, k)));
  }
  if (Array.isArray(live) && Array.isArray(after) && live.length === after.length) {
    return live.flatMap((v, i) => driftFields(v, after[i], pathOf(path, i)));
  }
  if (isDeepStrictEqual(live ?? null, after ?? null)) return [];
  return [{ path, live: live ?? null, head: after ?? null }];
}

function cached<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (p === undefined) {
    p = make();
    cache.set(key, p);
  }
  return p;
}

export interface CheckOptions {
  /** Labels the reconciler adds to every object it applies. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly concurrency?: number;
}

/** Dry-runs `head` against the cluster of `kc` and looks up `removed` (what would be pruned). */
export async function checkCluster(kc: KubeAccess, head: readonly KubeObject[], removed: readonly KubeObject[], opts: CheckOptions = {}): Promise<ClusterCheck> {
  const labels = opts.labels ?? {};
  const concurrency = opts.concurrency ?? 8;
  const api = RestClient.forConfig(kc);
  const server = kc.cluster.server;
  const fail = (e: unknown): never => {
    throw unreachable(e, server) ?? e;
  };
  // One request first: an unreachable cluster is an error, not a list of unserved kinds.
  await api.whoami().catch(fail);
  const newKinds = new Set<string>();
  const newNamespaces = new Set(head.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
  for (const o of head) {
    // Gatekeeper makes a CRD for each ConstraintTemplate, served in these versions.
    if (o.kind === "ConstraintTemplate" && groupOf(o.apiVersion) === "templates.gatekeeper.sh") {
      const crd = isRecord(o.spec) && isRecord(o.spec.crd) && isRecord(o.spec.crd.spec) && isRecord(o.spec.crd.spec.names) ? o.spec.crd.spec.names.kind : undefined;
      for (const v of ["v1", "v1beta1", "v1alpha1"]) newKinds.add(`constraints.gatekeeper.sh/${v} ${text(crd)}`);
      continue;
    }
    if (o.kind !== "CustomResourceDefinition" || groupOf(o.apiVersion) !== "apiextensions.k8s.io") continue;
    const spec = isRecord(o.spec) ? o.spec : {};
    const kind = isRecord(spec.names) ? spec.names.kind : undefined;
    for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
      if (isRecord(v)) newKinds.add(`${text(spec.group)}/${text(v.name)} ${text(kind)}`);
    }
  }
  const served = new Map<string, Promise<boolean>>();
  const scopes = new Map<string, Promise<string>>();
  const namespaces = new Map<string, Promise<boolean>>();
  const read = async (o: KubeObject): Promise<KubeObject | null> => {
    try {
      return await api.readObject(o);
    } catch (e) {
      if (apiRefusal(e)?.code === 404) return null;
      throw e;
    }
  };
  const nsExists = (ns: string): Promise<boolean> =>
    cached(namespaces, ns, async () => (await read({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })) !== null);

  const checkOne = async (o: KubeObject): Promise<ClusterResult> => {
    const object = describeObject(o);
    const result = (outcome: ClusterOutcome, message: string | null, drift: DriftField[] = []): ClusterResult => ({ object, outcome, message, drift });
    const kind = `${o.apiVersion} ${o.kind}`;
    if (!(await cached(served, kind, () => api.serves(o.apiVersion, o.kind)))) {
      if (newKinds.has(kind)) return result("unchecked", `its kind is added by this change (a CustomResourceDefinition or ConstraintTemplate)`);
      return result("refused", `the cluster does not serve ${o.kind} in ${o.apiVersion}: install its CustomResourceDefinition (or the controller that brings it) first`);
    }
    const ns = o.metadata.namespace;
    const scope = await cached(scopes, kind, () => api.scopeOf(o.apiVersion, o.kind));
    if (scope === "namespaced" && ns !== undefined && newNamespaces.has(ns) && !(await nsExists(ns))) {
      return result("unchecked", `namespace ${ns} is created by this change`);
    }
    let live: KubeObject | null;
    let after: KubeObject;
    try {
      live = await read(o);
      const labelled = { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...labels } } };
      after = await api.apply(labelled, { fieldManager: FIELD_MANAGER, force: true, dryRun: true });
    } catch (e) {
      const refusal = apiRefusal(e);
      if (refusal === undefined) return fail(e);
      return result("refused", `${refusal.message} (HTTP ${refusal.code}${refusal.reason === "" ? "" : ` ${refusal.reason}`})`);
    }
    if (live === null) return result("create", null);
    const drift = driftFields(withoutServerFields(live), withoutServerFields(after));
    return result(drift.length > 0 ? "update" : "unchanged", null, drift);
  };

  const ordered = [...head].sort((a, b) => applyStage(a) - applyStage(b));
  const results = await mapLimit(ordered, concurrency, checkOne);
  const pruned = await mapLimit(removed, concurrency, async (o): Promise<ClusterResult | null> => {
    try {
      if (!(await cached(served, `${o.apiVersion} ${o.kind}`, () => api.serves(o.apiVersion, o.kind)))) return null;
      return (await read(o)) === null ? null : { object: describeObject(o), outcome: "prune", message: "in the cluster: pruned after the merge", drift: [] };
    } catch (e) {
      if (apiRefusal(e) !== undefined) return null;
      return fail(e);
    }
  });
  const all = [...results, ...pruned.filter((r): r is ClusterResult => r !== null)];
  const counts: Record<ClusterOutcome, number> = { create: 0, update: 0, unchanged: 0, prune: 0, refused: 0, unchecked: 0 };
  for (const r of all) counts[r.outcome]++;
  return { checked: head.length, counts, results: all.filter((r) => r.outcome !== "unchanged") };
}
