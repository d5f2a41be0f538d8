// tenantry agent: keep the cluster equal to the GitSyncs in scope until stopped.

import type { CommandModule } from "yargs";

interface Args {
  namespace?: string;
  kubeconfig?: string;
  port: number;
  host?: string;
  "metrics-port": number;
  metrics: boolean;
  "metrics-host"?: string;
  "trigger-spacing": number;
  "leader-elect": boolean;
  identity?: string;
  concurrency: number;
  "poll-interval": number;
}

export const agentCommand: CommandModule<object, Args> = {
  command: "agent",
  describe: "Run the reconciler: every GitSync in scope on its interval, webhooks, leader election, /metrics on its own port",
  builder: (y) =>
    y
      .option("namespace", { alias: "n", type: "string", describe: "Only GitSyncs in this namespace (default: all namespaces)" })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the agent (default: KUBECONFIG or in-cluster)" })
      .option("port", { type: "number", default: 8080, describe: "HTTP port for /hooks, /healthz, /readyz" })
      .option("host", { type: "string", describe: "Interface to listen on (default: all)" })
      .option("metrics", { type: "boolean", default: true, describe: "Serve the ops port: /metrics and the probes again (--no-metrics: not at all)" })
      .option("metrics-port", { type: "number", default: 8081, describe: "Ops port: /metrics, /healthz, /readyz (what the Deployment probes), never the webhook port" })
      .option("metrics-host", { type: "string", describe: "Interface for the ops port (default: as --host)" })
      .option("trigger-spacing", { type: "number", default: 10, describe: "Seconds a webhook push waits after the GitSync's last run started" })
      .option("leader-elect", { type: "boolean", default: false, describe: "Hold a Lease so only one replica reconciles" })
      .option("identity", { type: "string", describe: "Leader-election identity (default: hostname-pid)" })
      .option("concurrency", { type: "number", default: 4, describe: "GitSyncs reconciled at once" })
      .option("poll-interval", { type: "number", default: 2, describe: "Seconds between refreshes of the GitSync list" })
      .check((a) =>
        a.metrics && a["metrics-port"] !== 0 && a["metrics-port"] === a.port
          ? `--metrics-port ${a["metrics-port"]} is the webhook port: /metrics needs its own (a NetworkPolicy opens webhooks to all, metrics to monitoring only)`
          : true,
      ),
  handler: async (args) => {
    const [{ loadAccess }, { runAgent }] = await Promise.all([import("../cluster/access.js"), import("../agent/start.js")]);
    await runAgent({
      kubeconfig: loadAccess(args.kubeconfig),
      namespace: args.namespace,
      port: args.port,
      host: args.host,
      metricsPort: args.metrics ? args["metrics-port"] : undefined,
      metricsHost: args["metrics-host"],
      triggerSpacingMs: args["trigger-spacing"] * 1000,
      leaderElect: args["leader-elect"],
      identity: args.identity,
      concurrency: args.concurrency,
      pollMs: args["poll-interval"] * 1000,
    });
    // Drained and stopped. Idle keep-alive sockets of the Kubernetes client would hold the
    // process for up to a minute more; an unref'd timer ends it only if something still does.
    setTimeout(() => process.exit(0), 500).unref();
  },
};
