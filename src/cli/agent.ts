// tenantry agent: keep the cluster equal to the GitSyncs in scope until stopped.

import type { CommandModule } from "yargs";

interface Args {
  namespace?: string;
  kubeconfig?: string;
  port: number;
  host?: string;
  "leader-elect": boolean;
  identity?: string;
  concurrency: number;
  "poll-interval": number;
}

export const agentCommand: CommandModule<object, Args> = {
  command: "agent",
  describe: "Run the reconciler: every GitSync in scope on its interval, webhooks, leader election, /metrics",
  builder: (y) =>
    y
      .option("namespace", { alias: "n", type: "string", describe: "Only GitSyncs in this namespace (default: all namespaces)" })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the agent (default: KUBECONFIG or in-cluster)" })
      .option("port", { type: "number", default: 8080, describe: "HTTP port for /hooks, /metrics, /healthz, /readyz" })
      .option("host", { type: "string", describe: "Interface to listen on (default: all)" })
      .option("leader-elect", { type: "boolean", default: false, describe: "Hold a Lease so only one replica reconciles" })
      .option("identity", { type: "string", describe: "Leader-election identity (default: hostname-pid)" })
      .option("concurrency", { type: "number", default: 4, describe: "GitSyncs reconciled at once" })
      .option("poll-interval", { type: "number", default: 2, describe: "Seconds between refreshes of the GitSync list" }),
  handler: async (args) => {
    const [{ loadAccess }, { runAgent }] = await Promise.all([import("../cluster/access.js"), import("../agent/start.js")]);
    await runAgent({
      kubeconfig: loadAccess(args.kubeconfig),
      namespace: args.namespace,
      port: args.port,
      host: args.host,
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
