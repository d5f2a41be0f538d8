// `tenantry usage <team>`, the pure part: every ResourceQuota resource as used vs hard with a
// percentage, and pod CPU/memory summed over containers from metrics-server's PodMetrics.

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
