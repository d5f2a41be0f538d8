// `tenantry status`, the pure part: the sync objects, team namespaces and quotas in, one row
// per sync object out (ready, revision, age of the last transition, inventory size, fullest
// quota). The sync objects are the engine's (docs/engines.md): GitSyncs under `tenantry`,
// Flux's Kustomizations and GitRepositories under `flux`. A Kustomization's status has the
// GitSync's shape (GitSync copied it: conditions Ready/Reconciling/Stalled,
// lastAppliedRevision, lastAttemptedRevision, inventory); a GitRepository's revision is that
// of the artifact it stored.

import { inventoryCount } from "../model/inventory-store.js";
import type { KubeObject } from "../model/object.js";
import { isFluxGitRepository, isFluxKustomization } from "../plan/flux.js";
import type { GitSync, InventoryEntry } from "../model/gitsync.js";
import { TEAM_LABEL } from "../model/labels.js";
import { formatPercent, usedPercent } from "./percent.js";

export interface QuotaObject extends KubeObject {
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

export interface FullestQuota {
  readonly quota: string;
  readonly resource: string;
  readonly used: string;
  readonly hard: string;
  readonly percent: number;
}

/** A condition as GitSync and the Flux controllers write it (metav1.Condition). */
export interface SyncCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
  readonly observedGeneration?: number;
}

/** The status fields a GitSync and a Flux Kustomization share, and a GitRepository's artifact. */
export interface SyncObject extends KubeObject {
  status?: {
    readonly observedGeneration?: number;
    readonly conditions?: readonly SyncCondition[];
    readonly lastAppliedRevision?: string;
    readonly lastAttemptedRevision?: string;
    readonly inventory?: { readonly entries?: readonly unknown[] | null; readonly compressed?: string | null; readonly count?: number | null } | null;
    /** GitRepository: what source-controller fetched and stored for kustomize-controller. */
    readonly artifact?: { readonly revision?: string } | null;
  };
}

export const FLUX_KUSTOMIZATIONS = "kustomize.toolkit.fluxcd.io/v1";
export const FLUX_GITREPOSITORIES = "source.toolkit.fluxcd.io/v1";

/**
 * A Flux inventory entry as a GitSync's: kustomize-controller writes only the version in `v`
 * (`{id: "team1_web_apps_Deployment", v: "v1"}`), the group being in the id.
 */
export function fluxInventoryEntry(e: InventoryEntry): InventoryEntry {
  if (e.v.includes("/")) return e;
  const group = e.id.split("_")[2] ?? "";
  return { id: e.id, v: group === "" ? e.v : `${group}/${e.v}` };
}

/** A condition that is set only while True (Reconciling, Stalled): its reason and message. */
export interface RaisedCondition {
  readonly reason: string;
  readonly message: string;
}

export interface StatusRow {
  readonly namespace: string;
  readonly name: string;
  /** GitSync, Kustomization or GitRepository. */
  readonly kind: string;
  readonly team: string | null;
  readonly ready: string;
  readonly reason: string;
  readonly message: string;
  /** Reconciling=True: a run is under way (or retrying); null otherwise. */
  readonly reconciling: RaisedCondition | null;
  /** Stalled=True: retrying the same input cannot help; null otherwise. */
  readonly stalled: RaisedCondition | null;
  readonly revision: string | null;
  readonly lastAppliedRevision: string | null;
  /** The revision of the last attempt (a GitRepository has none: null). */
  readonly lastAttemptedRevision: string | null;
  readonly lastTransitionTime: string | null;
  readonly age: string | null;
  readonly objects: number | null;
  readonly quota: FullestQuota | null;
}

/** `main@sha1:<40 hex>` -> `main@abc1234`; `sha1:<hex>` -> `abc1234`; anything else as is. */
export function shortRevision(revision: string): string {
  const m = /^(?:(.*)@)?sha1:([0-9a-f]+)$/.exec(revision);
  if (m === null) return revision;
  const sha = (m[2] ?? "").slice(0, 7);
  return m[1] === undefined ? sha : `${m[1]}@${sha}`;
}

/** kubectl's way of saying how long ago: 45s, 3m20s, 5h, 3d4h, 40d, 2y. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/**
 * Limits that guard rather than measure capacity: tenantry's quota caps `resourcequotas` at 1
 * so that a second quota cannot be added, which reads as always 100% full.
 */
const GUARD_RESOURCES = new Set(["resourcequotas"]);

/** The resource with the highest used/hard ratio over all quotas; null without any. */
export function fullestQuota(quotas: readonly QuotaObject[]): FullestQuota | null {
  let best: FullestQuota | null = null;
  for (const q of [...quotas].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const hard = q.status?.hard ?? q.spec?.hard ?? {};
    const used = q.status?.used ?? {};
    for (const resource of Object.keys(hard).sort()) {
      if (GUARD_RESOURCES.has(resource)) continue;
      const h = hard[resource] ?? "0";
      const u = used[resource] ?? "0";
      const percent = usedPercent(u, h);
      if (percent !== undefined && (best === null || percent > best.percent)) best = { quota: q.metadata.name, resource, used: u, hard: h, percent };
    }
  }
  return best;
}

function raised(conditions: readonly SyncCondition[], type: string): RaisedCondition | null {
  const c = conditions.find((x) => x.type === type);
  return c?.status === "True" ? { reason: c.reason ?? "", message: c.message ?? "" } : null;
}

function nonEmpty(v: string | undefined): string | null {
  return v === undefined || v === "" ? null : v;
}

/**
 * The team of a GitSync that applies into another API server (a controlplane team's, in
 * tenantry-system): its spec.targetNamespace, the team's namespace there.
 */
function remoteTeam(o: SyncObject): string | undefined {
  if (o.kind !== "GitSync") return undefined;
  const spec = (o.spec ?? {}) as { kubeConfig?: unknown; targetNamespace?: unknown };
  return spec.kubeConfig !== undefined && spec.kubeConfig !== null && typeof spec.targetNamespace === "string" && spec.targetNamespace !== "" ? spec.targetNamespace : undefined;
}

/**
 * The fullest quota of the team whose namespace `ns` is, over every namespace labelled as that
 * team's (its home and extra ones, issue 20: labels are admin-owned); a quota outside `ns` is
 * named `<namespace>/<name>`.
 */
function teamQuota(ns: string, teamOf: ReadonlyMap<string, string | undefined>, byTeam: ReadonlyMap<string, readonly QuotaObject[]>, quotas: ReadonlyMap<string, readonly QuotaObject[]>): FullestQuota | null {
  const team = teamOf.get(ns);
  // Every namespace of its team (its own among them), or only its own; in the list's order.
  const mine = (team === undefined ? quotas.get(ns) : byTeam.get(team)) ?? [];
  const named = mine.map((q) => (q.metadata.namespace === ns ? q : { ...q, metadata: { ...q.metadata, name: `${q.metadata.namespace ?? ""}/${q.metadata.name}` } }));
  return fullestQuota(named);
}

/**
 * One row per sync object, any mix of GitSyncs, Kustomizations and GitRepositories; quota
 * only for team namespaces (over all of the team's namespaces).
 */
export function syncStatusRows(objects: readonly SyncObject[], teamNamespaces: readonly KubeObject[], quotas: readonly QuotaObject[], now: Date): StatusRow[] {
  const teamOf = new Map(teamNamespaces.map((ns) => [ns.metadata.name, ns.metadata.labels?.[TEAM_LABEL]]));
  // Indexed once: a scan of every quota for each row was quadratic (0.8 s at 5000 teams).
  const byNamespace = new Map<string, QuotaObject[]>();
  const byTeam = new Map<string, QuotaObject[]>();
  for (const q of quotas) {
    const ns = q.metadata.namespace;
    if (ns === undefined) continue;
    const own = byNamespace.get(ns) ?? [];
    own.push(q);
    byNamespace.set(ns, own);
    const team = teamOf.get(ns);
    if (team === undefined) continue;
    const theirs = byTeam.get(team) ?? [];
    theirs.push(q);
    byTeam.set(team, theirs);
  }
  const rows = objects.map((o): StatusRow => {
    const ns = o.metadata.namespace ?? "";
    const conditions = o.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === "Ready");
    const applied = o.kind === "GitRepository" ? nonEmpty(o.status?.artifact?.revision ?? undefined) : nonEmpty(o.status?.lastAppliedRevision);
    const since = ready?.lastTransitionTime === undefined ? NaN : Date.parse(ready.lastTransitionTime);
    return {
      namespace: ns,
      name: o.metadata.name,
      kind: o.kind,
      team: teamOf.get(ns) ?? o.metadata.labels?.[TEAM_LABEL] ?? remoteTeam(o) ?? null,
      ready: ready?.status ?? "Unknown",
      reason: ready?.reason ?? (o.status === undefined ? "NeverReconciled" : ""),
      message: ready?.message ?? "",
      reconciling: raised(conditions, "Reconciling"),
      stalled: raised(conditions, "Stalled"),
      revision: applied === null ? null : shortRevision(applied),
      lastAppliedRevision: applied,
      lastAttemptedRevision: o.kind === "GitRepository" ? null : nonEmpty(o.status?.lastAttemptedRevision),
      lastTransitionTime: ready?.lastTransitionTime ?? null,
      age: Number.isNaN(since) ? null : humanDuration(now.getTime() - since),
      // A GitSync's large inventory is compressed with its count beside it.
      objects: o.kind === "GitRepository" ? null : inventoryCount(o.status?.inventory),
      quota: teamOf.has(ns) ? teamQuota(ns, teamOf, byTeam, byNamespace) : null,
    };
  });
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
}

export function statusRows(gitsyncs: readonly GitSync[], teamNamespaces: readonly KubeObject[], quotas: readonly QuotaObject[], now: Date): StatusRow[] {
  return syncStatusRows(gitsyncs, teamNamespaces, quotas, now);
}

/** Whether `o` is one of Flux's sync objects status shows. */
export function isFluxSyncObject(o: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return isFluxKustomization(o) || isFluxGitRepository(o);
}

export const STATUS_COLUMNS = ["namespace", "name", "team", "ready", "reason", "revision", "age", "objects", "quota"] as const;

/** The applied revision, and the one tried since when it differs (a failed newer commit). */
function revisionCell(r: StatusRow): string {
  const tried = r.lastAttemptedRevision;
  const applied = r.revision ?? "-";
  return tried === null || tried === r.lastAppliedRevision ? applied : `${applied} (tried ${shortRevision(tried)})`;
}

/** The table cells of a row. */
export function statusCells(r: StatusRow): Record<(typeof STATUS_COLUMNS)[number], string> {
  return {
    namespace: r.namespace,
    // Under Flux each team has two sync objects of one name: the kind tells them apart.
    name: r.kind === "GitSync" ? r.name : `${r.kind}/${r.name}`,
    team: r.team ?? "-",
    ready: r.ready,
    reason: r.reason === "" ? "-" : r.reason,
    revision: revisionCell(r),
    age: r.age ?? "-",
    objects: r.objects === null ? "-" : String(r.objects),
    quota: r.quota === null ? "-" : `${r.quota.resource} ${formatPercent(r.quota.percent)}`,
  };
}
