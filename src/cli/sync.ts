// tenantry sync: one reconcile of one GitSync (or of every GitSync in scope), now.

import type { CommandModule } from "yargs";
import { ValidationError } from "../errors.js";
import { dnsSubdomainProblems, namespaceProblems, teamNameProblems } from "../model/names.js";
import { safeLine } from "../model/safe-text.js";
import { setExitCode } from "./exit.js";
import { out } from "./output.js";

interface Args {
  once: boolean;
  namespace?: string;
  name?: string;
  all: boolean;
  url?: string;
  branch?: string;
  path?: string;
  "as-team"?: string;
  kubeconfig?: string;
}

/** Checks of the names sync is given, by option; each gives that option's problems. */
const NAME_CHECKS: readonly (readonly [string, (what: string, value: string) => string[]])[] = [
  ["namespace", namespaceProblems],
  ["name", dnsSubdomainProblems],
  ["as-team", (what, value) => teamNameProblems(value).map((p) => `${what}: ${p}`)],
];

/** Every problem with the names given to sync, all at once, before a kubeconfig is read; [] when they are valid. */
export function syncOptionProblems(a: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [option, check] of NAME_CHECKS) {
    const v = a[option];
    if (v === undefined) continue;
    // yargs makes an array of an option given twice.
    if (typeof v !== "string") problems.push(`--${option} is given ${Array.isArray(v) ? `${v.length} times` : "without a name"}: give it once, with a name`);
    else problems.push(...check(`--${option}`, v));
  }
  return problems;
}

export const syncCommand: CommandModule<object, Args> = {
  command: "sync",
  describe: "Reconcile GitSyncs once: fetch, kustomize build, lint, server-side apply, prune, status",
  builder: (y) =>
    y
      .option("once", { type: "boolean", default: true, describe: "Reconcile once and exit (tenantry agent keeps going)" })
      .option("namespace", { alias: "n", type: "string", describe: "Namespace of the GitSync" })
      .option("name", { type: "string", describe: "Name of the GitSync" })
      .option("all", { type: "boolean", default: false, describe: "Every GitSync in --namespace, or in the cluster" })
      .option("url", { type: "string", describe: "Ad hoc: apply this repo without a GitSync (no status, no prune)" })
      .option("branch", { type: "string", default: "main", describe: "With --url: the branch" })
      .option("path", { type: "string", default: "./", describe: "With --url: the kustomization's directory" })
      .option("as-team", { type: "string", describe: "With --url: apply inside this team's namespaces (home and the extra ones its GitSync lists), as the team" })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig of the agent's identity (default: KUBECONFIG)" })
      .check((a) => {
        const problems = syncOptionProblems(a);
        if (problems.length > 0) throw new ValidationError(problems);
        // A string (not a thrown Error) is a usage message: exit 2, not an internal error.
        return a.url === undefined && !a.all && (a.namespace === undefined || a.name === undefined)
          ? "name a GitSync with --namespace and --name, use --all, or give --url"
          : true;
      }),
  handler: async (args) => {
    const [{ loadAccess }, { runSync }] = await Promise.all([import("../cluster/access.js"), import("../sync/run.js")]);
    const kc = loadAccess(args.kubeconfig);
    const results = await runSync(kc, {
      ...(args.url === undefined
        ? { kind: "gitsyncs" as const, namespace: args.namespace, name: args.all ? undefined : args.name }
        : { kind: "adhoc" as const, url: args.url, branch: args.branch ?? "main", path: args.path ?? "./", team: args["as-team"] }),
    });
    for (const r of results) {
      out(`${r.ready ? "ready" : "FAILED"}  ${safeLine(r.id)}  ${safeLine(r.reason)}: ${safeLine(r.message)}`);
    }
    if (results.some((r) => !r.ready)) setExitCode(1);
  },
};
