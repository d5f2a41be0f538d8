// tenantry agent: keep the cluster equal to the GitSyncs in scope until stopped.

import { setFlagsFromString } from "node:v8";
import type { CommandModule } from "yargs";
import { ValidationError } from "../errors.js";
import { namespaceProblems } from "../model/names.js";

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

/** More GitSyncs at once than this only queue on the build service and the API server. */
export const MAX_CONCURRENCY = 64;
/** setTimeout fires at once past 2^31-1 ms (24.8 days); an hour is already a sluggish list refresh. */
export const MAX_POLL_INTERVAL_S = 3600;
export const MAX_TRIGGER_SPACING_S = 86_400;

type Given = Readonly<Record<string, unknown>>;

const show = (v: unknown): string => {
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string" || Array.isArray(v)) return JSON.stringify(v);
  return "that value";
};

/** A single value of an option: yargs makes an array of an option given twice. */
function once(a: Given, name: string, problems: string[]): unknown {
  const v = a[name];
  if (Array.isArray(v)) {
    problems.push(`--${name} is given ${v.length} times: give it once`);
    return undefined;
  }
  return v;
}

function port(a: Given, name: string, problems: string[]): void {
  const v = once(a, name, problems);
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    problems.push(`--${name} ${show(v)} is not a TCP port: give an integer from 0 to 65535 (0 picks a free one)`);
  }
}

function seconds(a: Given, name: string, min: { value: number; inclusive: boolean }, max: number, problems: string[]): void {
  const v = once(a, name, problems);
  if (v === undefined) return;
  const low = min.inclusive ? `at least ${min.value}` : `more than ${min.value}`;
  if (typeof v !== "number" || !Number.isFinite(v) || (min.inclusive ? v < min.value : v <= min.value) || v > max) {
    problems.push(`--${name} ${show(v)} is not a duration: give seconds, ${low} and at most ${max}`);
  }
}

function text(a: Given, name: string, problems: string[]): string | undefined {
  const v = once(a, name, problems);
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.trim() === "") {
    problems.push(`--${name} is empty: give a value or leave the option out`);
    return undefined;
  }
  return v;
}

/** Every problem with the agent's options, all at once; [] when they are valid. */
export function agentOptionProblems(a: Given): string[] {
  const problems: string[] = [];
  port(a, "port", problems);
  port(a, "metrics-port", problems);
  const c = once(a, "concurrency", problems);
  if (c !== undefined && (typeof c !== "number" || !Number.isInteger(c) || c < 1 || c > MAX_CONCURRENCY)) {
    problems.push(`--concurrency ${show(c)} is not a number of GitSyncs reconciled at once: give an integer from 1 to ${MAX_CONCURRENCY}`);
  }
  seconds(a, "poll-interval", { value: 0, inclusive: false }, MAX_POLL_INTERVAL_S, problems);
  seconds(a, "trigger-spacing", { value: 0, inclusive: true }, MAX_TRIGGER_SPACING_S, problems);
  const ns = text(a, "namespace", problems);
  if (ns !== undefined) problems.push(...namespaceProblems("--namespace", ns));
  for (const name of ["host", "metrics-host", "identity", "kubeconfig"]) text(a, name, problems);
  once(a, "metrics", problems);
  once(a, "leader-elect", problems);
  if (problems.length === 0 && a.metrics === true && a["metrics-port"] !== 0 && a["metrics-port"] === a.port) {
    problems.push(`--metrics-port ${String(a["metrics-port"])} is the webhook port: /metrics needs its own (a NetworkPolicy opens webhooks to all, metrics to monitoring only)`);
  }
  return problems;
}

export const agentCommand: CommandModule<object, Args> = {
  command: "agent",
  describe: "Run the reconciler: every GitSync in scope on its interval, webhooks, leader election, /metrics on its own port",
  // requiresArg: an option given without a value (--concurrency at the end, or before --)
  // would otherwise keep its default silently.
  builder: (y) =>
    y
      .option("namespace", { requiresArg: true, alias: "n", type: "string", describe: "Only GitSyncs in this namespace (default: all namespaces)" })
      .option("kubeconfig", { requiresArg: true, type: "string", describe: "Kubeconfig of the agent (default: KUBECONFIG or in-cluster)" })
      .option("port", { requiresArg: true, type: "number", default: 8080, describe: "HTTP port for /hooks, /healthz, /readyz" })
      .option("host", { requiresArg: true, type: "string", describe: "Interface to listen on (default: all)" })
      .option("metrics", { type: "boolean", default: true, describe: "Serve the ops port: /metrics and the probes again (--no-metrics: not at all)" })
      .option("metrics-port", { requiresArg: true, type: "number", default: 8081, describe: "Ops port: /metrics, /healthz, /readyz (what the Deployment probes), never the webhook port" })
      .option("metrics-host", { requiresArg: true, type: "string", describe: "Interface for the ops port (default: as --host)" })
      .option("trigger-spacing", { requiresArg: true, type: "number", default: 10, describe: "Seconds a webhook push waits after the GitSync's last run started" })
      .option("leader-elect", { type: "boolean", default: false, describe: "Hold a Lease so only one replica reconciles" })
      .option("identity", { requiresArg: true, type: "string", describe: "Leader-election identity (default: hostname-pid)" })
      .option("concurrency", { requiresArg: true, type: "number", default: 4, describe: `GitSyncs reconciled at once (1-${MAX_CONCURRENCY})` })
      .option("poll-interval", { requiresArg: true, type: "number", default: 2, describe: `The GitSyncs are watched: seconds before watching again after a failure, and between two push requests a replica that does not lead records for one GitSync (more than 0, at most ${MAX_POLL_INTERVAL_S})` })
      .check((a) => {
        // Every problem at once, before the kubeconfig is read or a port is bound.
        const problems = agentOptionProblems(a);
        if (problems.length > 0) throw new ValidationError(problems);
        return true;
      }),
  handler: async (args) => {
    // A long-running process whose live heap is small (about 50 MB over a 1000-team admin
    // repo) but whose runs allocate in bursts: V8's default growth let the heap reach several
    // times the live set before collecting (the agent's peak RSS 183 MB over that repo, 140 MB
    // with this; bench:scale). Set before anything is allocated; V8 reads it at each collection.
    setFlagsFromString("--optimize-for-size");
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
