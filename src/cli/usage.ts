// tenantry usage <team>: the team's ResourceQuotas, used vs hard for every resource, in each of
// its namespaces, the team's total against its tier (the tier's values from tenantry.yaml when
// run in the admin repo), and pod CPU/memory from metrics-server when the cluster serves it. A
// controlplane team's namespace is read in its own API server (a line on stderr says which).

import type { CommandModule } from "yargs";
import { formatData, formatTable, note, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";

interface Args {
  team: string;
  output: OutputFormat;
  kubeconfig?: string;
  app?: string;
}

export const usageCommand: CommandModule<object, Args> = {
  command: "usage <team>",
  describe: "A team's quota used vs hard, and pod CPU/memory when metrics-server runs",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true, describe: "The team (its namespace)" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig to use (default: KUBECONFIG, ~/.kube/config)" })
      .option("app", { type: "string", describe: "Only app instance <instance> (namespace <team>-<instance>) against its own quota, like KubePlus metrics" }),
  handler: async (args) => {
    const [{ loadAccess }, { gatherUsage }, { podRows, quotaRows, totalRows }, { readFromLine }, { configuredTierQuota }] = await Promise.all([
      import("../cluster/access.js"),
      import("../views/gather.js"),
      import("../views/usage.js"),
      import("../views/controlplanes.js"),
      import("../views/engine.js"),
    ]);
    const view = await gatherUsage(loadAccess(args.kubeconfig), args.team, configuredTierQuota(), args.app);
    if (view.readFrom.controlPlane !== undefined) note(readFromLine(view.readFrom));
    for (const n of view.notes) note(n);
    if (view.metricsNote !== undefined) note(view.metricsNote);
    if (args.output !== "table") {
      out(formatData(args.output, view));
      return;
    }
    const parts: string[] = [];
    if (view.namespaces.length <= 1) {
      parts.push(view.quotas.length === 0 ? `Namespace ${view.namespace} has no ResourceQuota.\n` : formatTable(["quota", "resource", "used", "hard", "usage"], quotaRows(view.quotas)));
    } else {
      const rows = view.namespaces.flatMap((n) => quotaRows(n.quotas).map((r) => ({ namespace: n.namespace, ...r })));
      const bare = view.namespaces.filter((n) => n.quotas.length === 0).map((n) => n.namespace);
      parts.push(formatTable(["namespace", "quota", "resource", "used", "hard", "usage"], rows) + (bare.length === 0 ? "" : `No ResourceQuota in ${bare.join(", ")}.\n`));
    }
    if (view.total.length > 0 && args.app === undefined) {
      const tier = view.tier.name === null ? "its tier" : `tier ${view.tier.name}${view.tier.hard === null ? " (its values: run in the admin repo)" : ""}`;
      parts.push(`Team ${view.team} in total (${view.namespaces.length} namespaces) against ${tier}:\n${formatTable(["resource", "used", "hard", "tier", "usage"], totalRows(view.total))}`);
    }
    if (view.pods !== null) parts.push(view.pods.length === 0 ? "No pod metrics yet.\n" : formatTable(["pod", "cpu", "memory"], podRows(view.pods)));
    out(parts.join("\n"));
  },
};
