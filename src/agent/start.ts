// Wires the agent together for `tenantry agent`: the reconcile loop, its HTTP edge
// (webhooks and the probes on one port; /metrics and the probes again on the ops port), JSON logs, and a clean
// shutdown on SIGTERM/SIGINT.

import type { KubeAccess } from "../cluster/access.js";
import { Agent } from "./loop.js";
import { startAgentServer } from "./http.js";
import { createLogger } from "./log.js";
import { createMetrics } from "./metrics.js";

export interface RunAgentOptions {
  readonly kubeconfig: KubeAccess;
  readonly namespace?: string | undefined;
  readonly port: number;
  readonly host?: string | undefined;
  /** /metrics is served here only; not at all when undefined. */
  readonly metricsPort?: number | undefined;
  readonly metricsHost?: string | undefined;
  readonly triggerSpacingMs?: number | undefined;
  readonly leaderElect: boolean;
  readonly identity?: string | undefined;
  readonly concurrency: number;
  readonly pollMs: number;
}

export async function runAgent(o: RunAgentOptions): Promise<void> {
  const logger = createLogger();
  // First of all: a SIGTERM that comes while the agent starts must stop it cleanly too, not
  // take the default action (die without releasing anything).
  const abort = new AbortController();
  const stop = (signal: string): void => {
    logger.info("shutting down", { signal });
    abort.abort();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const metrics = createMetrics({ processMetrics: true });
  const agent = new Agent({
    kubeconfig: o.kubeconfig,
    namespace: o.namespace,
    leaderElect: o.leaderElect,
    ...(o.identity === undefined ? {} : { identity: o.identity }),
    concurrency: o.concurrency,
    pollMs: o.pollMs,
    ...(o.triggerSpacingMs === undefined ? {} : { triggerSpacingMs: o.triggerSpacingMs }),
    events: {
      reconciled: (key, outcome, seconds) => {
        const [namespace = "", name = ""] = key.split("/");
        metrics.recordReconcile(namespace, name, outcome, seconds);
        const fields = { gitsync: key, reason: outcome.reason, revision: outcome.revision, applied: outcome.applied, pruned: outcome.pruned, seconds };
        if (outcome.ready) logger.info("reconciled", fields);
        else logger.warn(outcome.message, fields);
      },
      info: (msg, fields) => {
        logger.info(msg, fields);
      },
      error: (msg, fields) => {
        logger.error(msg, fields);
      },
    },
  });
  const server = await startAgentServer({
    port: o.port,
    ...(o.host === undefined ? {} : { host: o.host }),
    ...(o.metricsPort === undefined ? {} : { metricsPort: o.metricsPort }),
    ...(o.metricsHost === undefined ? {} : { metricsHost: o.metricsHost }),
    webhookSecret: (ns, name) => agent.webhookSecret(ns, name),
    onPush: (ns, name) => agent.trigger(ns, name),
    ready: () => agent.ready(),
    metrics,
    logger,
  });
  logger.info("agent started", { port: server.port, metricsPort: server.metricsPort, namespace: o.namespace ?? "(all)", leaderElect: o.leaderElect, identity: agent.elector?.identity });
  try {
    await agent.run(abort.signal);
  } finally {
    await server.close();
    logger.info("agent stopped");
  }
}
