// The agent's Prometheus metrics, in a registry of their own (never prom-client's global
// one, so tests and several agents in one process do not share counters). Callers use the
// typed helpers; /metrics renders the registry.

import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

export type ReconcileResult = "success" | "failure";

export type WebhookResult = "accepted" | "rejected" | "ignored" | "replayed" | "too_large" | "too_slow" | "busy";

/** What the metrics need from a reconcile outcome (structurally, sync/reconcile's Outcome). */
export interface ReconcileSummary {
  readonly ready: boolean;
  readonly reason: string;
  readonly applied: number;
  readonly pruned: number;
}

export interface AgentMetrics {
  readonly registry: Registry;
  observeReconcile(namespace: string, name: string, result: ReconcileResult, seconds: number): void;
  addApplied(namespace: string, name: string, count: number): void;
  addPruned(namespace: string, name: string, count: number): void;
  countFailure(namespace: string, name: string, reason: string): void;
  countWebhook(result: WebhookResult): void;
  /** All of the above for one finished reconcile. */
  recordReconcile(namespace: string, name: string, outcome: ReconcileSummary, seconds: number): void;
  /** The registry in the Prometheus text format, with its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event loop lag). */
  readonly processMetrics?: boolean;
}

/** Reconciles take from under a second (nothing changed) to minutes (a large first apply). */
const RECONCILE_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createMetrics(options: MetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const duration = new Histogram({
    name: "tenantry_reconcile_duration_seconds",
    help: "Time taken by one reconcile of a GitSync, by result",
    labelNames: ["namespace", "name", "result"] as const,
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const applied = new Counter({
    name: "tenantry_applied_objects_total",
    help: "Objects applied by server-side apply",
    labelNames: ["namespace", "name"] as const,
    registers,
  });
  const pruned = new Counter({
    name: "tenantry_pruned_objects_total",
    help: "Objects deleted because they left the render",
    labelNames: ["namespace", "name"] as const,
    registers,
  });
  const failures = new Counter({
    name: "tenantry_reconcile_failures_total",
    help: "Reconciles that ended not Ready, by reason",
    labelNames: ["namespace", "name", "reason"] as const,
    registers,
  });
  const webhooks = new Counter({
    name: "tenantry_webhook_requests_total",
    help: "Webhook requests received, by result",
    labelNames: ["result"] as const,
    registers,
  });
  // Every result shows up as 0 from the start, so rate() and alerts work before the first hit.
  for (const result of ["accepted", "rejected", "ignored", "replayed", "too_large", "too_slow", "busy"] satisfies WebhookResult[]) webhooks.inc({ result }, 0);

  const metrics: AgentMetrics = {
    registry,
    observeReconcile: (namespace, name, result, seconds) => {
      duration.observe({ namespace, name, result }, seconds);
    },
    addApplied: (namespace, name, count) => {
      if (count > 0) applied.inc({ namespace, name }, count);
    },
    addPruned: (namespace, name, count) => {
      if (count > 0) pruned.inc({ namespace, name }, count);
    },
    countFailure: (namespace, name, reason) => {
      failures.inc({ namespace, name, reason });
    },
    countWebhook: (result) => {
      webhooks.inc({ result });
    },
    recordReconcile: (namespace, name, outcome, seconds) => {
      metrics.observeReconcile(namespace, name, outcome.ready ? "success" : "failure", seconds);
      metrics.addApplied(namespace, name, outcome.applied);
      metrics.addPruned(namespace, name, outcome.pruned);
      if (!outcome.ready) metrics.countFailure(namespace, name, outcome.reason);
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
  return metrics;
}
