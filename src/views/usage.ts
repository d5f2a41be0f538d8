// `tenantry usage <team>`, the pure part: every ResourceQuota resource as used vs hard with a
// percentage, the team's total over its namespaces against its tier (issue 20), and pod
// CPU/memory summed over containers from metrics-server's PodMetrics.

import type { KubeObject } from "../model/object.js";
import { parseQuantity } from "../model/quantity.js";
import { percentBar, usedPercent } from "./percent.js";
import type { QuotaObject } from "./status.js";

export interface ResourceUsage {
  readonly resource: string;
  /** As the API server reports it in status.used ("0" when it reports nothing yet). */
  readonly used: string;
  /** status.hard (spec.hard until the quota controller has seen the quota). */
  readonly hard: string;
  /** used/hard in percent, two decimals; null when hard is 0. */
  readonly percent: number | null;
}

/** A resource of the team's total: used and hard summed over its namespaces, and the tier's value. */
export interface TotalUsage extends ResourceUsage {
  /** The tier's value (tenantry.yaml), or null when not known; `percent` is of it when known, else of `hard`. */
  readonly tier: string | null;
}

export interface QuotaUsage {
  readonly name: string;
  readonly resources: ResourceUsage[];
}

export interface PodUsage {
  readonly pod: string;
  /** Cores, e.g. 0.012 for 12m. */
  readonly cpu: number;
  /** Bytes. */
  readonly memory: number;
}

export interface PodMetrics extends KubeObject {
  containers?: { name: string; usage?: { cpu?: string; memory?: string } }[];
}

export function quotaUsage(quotas: readonly QuotaObject[]): QuotaUsage[] {
  return [...quotas]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((q) => {
      const hard = q.status?.hard ?? q.spec?.hard ?? {};
      const used = q.status?.used ?? {};
      const resources = Object.keys(hard)
        .sort()
        .map((resource): ResourceUsage => {
          const h = hard[resource] ?? "0";
          const u = used[resource] ?? "0";
          const p = usedPercent(u, h);
          return { resource, used: u, hard: h, percent: p === undefined ? null : Math.round(p * 100) / 100 };
        });
      return { name: q.metadata.name, resources };
    });
}

export function quotaRows(usage: readonly QuotaUsage[]): Record<"quota" | "resource" | "used" | "hard" | "usage", string>[] {
  return usage.flatMap((q) =>
    q.resources.map((r) => ({ quota: q.name, resource: r.resource, used: r.used, hard: r.hard, usage: r.percent === null ? "-" : percentBar(r.percent) })),
  );
}

/** Resources counted once per namespace by tenantry itself, not the team's: left out of the total. */
const PER_NAMESPACE = new Set(["resourcequotas"]);

function unitOf(resource: string): "cores" | "bytes" | "count" {
  if (resource === "cpu" || resource.endsWith(".cpu")) return "cores";
  if (resource === "memory" || resource.endsWith(".memory") || resource.endsWith("storage")) return "bytes";
  return "count";
}

/** A summed quantity written as Kubernetes would: 1500m, 2, 6Gi, 2730Mi, 12. */
export function formatTotal(resource: string, value: number): string {
  const unit = unitOf(resource);
  if (unit === "cores") {
    const milli = Math.round(value * 1000);
    return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
  }
  const whole = Math.round(value);
  if (unit === "bytes" && whole !== 0) {
    for (const [suffix, size] of [["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]] as const) if (whole % size === 0) return `${whole / size}${suffix}`;
  }
  return String(whole);
}

/**
 * The team's total over its namespaces' quotas (one QuotaUsage list per namespace): for each
 * resource, used and hard summed, with the tier's value when `tier` is known (the percentage
 * is then of the tier: the parts never add up to more). Empty for a team of one namespace:
 * its quota is the tier's, the total.
 */
export function teamTotal(perNamespace: readonly (readonly QuotaUsage[])[], tier: Readonly<Record<string, string>> | null): TotalUsage[] {
  if (perNamespace.length < 2) return [];
  const used = new Map<string, number>();
  const hard = new Map<string, number>();
  for (const quotas of perNamespace) {
    for (const q of quotas) {
      for (const r of q.resources) {
        if (PER_NAMESPACE.has(r.resource)) continue;
        used.set(r.resource, (used.get(r.resource) ?? 0) + sum([r.used]));
        hard.set(r.resource, (hard.get(r.resource) ?? 0) + sum([r.hard]));
      }
    }
  }
  return [...hard.keys()].sort().map((resource): TotalUsage => {
    const u = formatTotal(resource, used.get(resource) ?? 0);
    const h = formatTotal(resource, hard.get(resource) ?? 0);
    const t = tier?.[resource] ?? null;
    const p = usedPercent(u, t ?? h);
    return { resource, used: u, hard: h, tier: t, percent: p === undefined ? null : Math.round(p * 100) / 100 };
  });
}

/** Rows of the team total: resource, used, hard (the namespaces' sum), tier, usage. */
export function totalRows(total: readonly TotalUsage[]): Record<"resource" | "used" | "hard" | "tier" | "usage", string>[] {
  return total.map((r) => ({ resource: r.resource, used: r.used, hard: r.hard, tier: r.tier ?? "-", usage: r.percent === null ? "-" : percentBar(r.percent) }));
}

function sum(values: readonly (string | undefined)[]): number {
  return values.reduce((total, v) => {
    if (v === undefined) return total;
    try {
      return total + parseQuantity(v);
    } catch {
      return total;
    }
  }, 0);
}

export function podUsage(metrics: readonly PodMetrics[]): PodUsage[] {
  return metrics
    .map((m) => ({
      pod: m.metadata.name,
      cpu: sum((m.containers ?? []).map((c) => c.usage?.cpu)),
      memory: sum((m.containers ?? []).map((c) => c.usage?.memory)),
    }))
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

/** `12m` for cores, `45Mi` for bytes: the units kubectl top uses. */
export function podRows(pods: readonly PodUsage[]): Record<"pod" | "cpu" | "memory", string>[] {
  return pods.map((p) => ({ pod: p.pod, cpu: `${Math.round(p.cpu * 1000)}m`, memory: `${Math.round(p.memory / 2 ** 20)}Mi` }));
}
