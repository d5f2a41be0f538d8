// `tenantry status`, the pure part: GitSyncs, team namespaces and quotas in, one row per
// GitSync out (ready, revision, age of the last transition, inventory size, fullest quota).

import type { KubeObject } from "../model/object.js";
import type { GitSync } from "../model/gitsync.js";
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

export interface StatusRow {
  readonly namespace: string;
  readonly name: string;
  readonly team: string | null;
  readonly ready: string;
  readonly reason: string;
  readonly message: string;
  readonly revision: string | null;
  readonly lastAppliedRevision: string | null;
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

export function statusRows(gitsyncs: readonly GitSync[], teamNamespaces: readonly KubeObject[], quotas: readonly QuotaObject[], now: Date): StatusRow[] {
  const teamOf = new Map(teamNamespaces.map((ns) => [ns.metadata.name, ns.metadata.labels?.[TEAM_LABEL]]));
  const rows = gitsyncs.map((gs): StatusRow => {
    const ns = gs.metadata.namespace;
    const ready = gs.status?.conditions?.find((c) => c.type === "Ready");
    const applied = gs.status?.lastAppliedRevision;
    const since = ready?.lastTransitionTime === undefined ? NaN : Date.parse(ready.lastTransitionTime);
    const isTeam = teamOf.has(ns);
    return {
      namespace: ns,
      name: gs.metadata.name,
      team: teamOf.get(ns) ?? gs.metadata.labels?.[TEAM_LABEL] ?? null,
      ready: ready?.status ?? "Unknown",
      reason: ready?.reason ?? (gs.status === undefined ? "NeverReconciled" : ""),
      message: ready?.message ?? "",
      revision: applied === undefined || applied === "" ? null : shortRevision(applied),
      lastAppliedRevision: applied ?? null,
      lastTransitionTime: ready?.lastTransitionTime ?? null,
      age: Number.isNaN(since) ? null : humanDuration(now.getTime() - since),
      objects: gs.status?.inventory === undefined ? null : gs.status.inventory.entries.length,
      quota: isTeam ? fullestQuota(quotas.filter((q) => q.metadata.namespace === ns)) : null,
    };
  });
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export const STATUS_COLUMNS = ["namespace", "name", "team", "ready", "reason", "revision", "age", "objects", "quota"] as const;

/** The table cells of a row. */
export function statusCells(r: StatusRow): Record<(typeof STATUS_COLUMNS)[number], string> {
  return {
    namespace: r.namespace,
    name: r.name,
    team: r.team ?? "-",
    ready: r.ready,
    reason: r.reason === "" ? "-" : r.reason,
    revision: r.revision ?? "-",
    age: r.age ?? "-",
    objects: r.objects === null ? "-" : String(r.objects),
    quota: r.quota === null ? "-" : `${r.quota.resource} ${formatPercent(r.quota.percent)}`,
  };
}
