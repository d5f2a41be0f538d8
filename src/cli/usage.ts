// tenantry usage <team>: the team's ResourceQuota, used vs hard for every resource, and pod
// CPU/memory from metrics-server when the cluster serves it. A controlplane team's namespace
// is read in its own API server (a line on stderr says which).

import type { CommandModule } from "yargs";
import { formatData, formatTable, note, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";

interface Args {
  team: string;
  output: OutputFormat;
  kubeconfig?: string;
}

export const usageCommand: CommandModule<object, Args> = {
  command: "usage <team>",
  describe: "A team's quota used vs hard, and pod CPU/memory when metrics-server runs",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true, describe: "The team (its namespace)" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig to use (default: KUBECONFIG, ~/.kube/config)" }),
  handler: async (args) => {
    const [{ loadAccess }, { gatherUsage }, { podRows, quotaRows }, { readFromLine }] = await Promise.all([
      import("../cluster/access.js"),
      import("../views/gather.js"),
      import("../views/usage.js"),
      import("../views/controlplanes.js"),
    ]);
    const view = await gatherUsage(loadAccess(args.kubeconfig), args.team);
    if (view.readFrom.controlPlane !== undefined) note(readFromLine(view.readFrom));
    if (view.metricsNote !== undefined) note(view.metricsNote);
    if (args.output !== "table") {
      out(formatData(args.output, view));
      return;
    }
    const parts: string[] = [];
    parts.push(view.quotas.length === 0 ? `Namespace ${view.namespace} has no ResourceQuota.\n` : formatTable(["quota", "resource", "used", "hard", "usage"], quotaRows(view.quotas)));
    if (view.pods !== null) parts.push(view.pods.length === 0 ? "No pod metrics yet.\n" : formatTable(["pod", "cpu", "memory"], podRows(view.pods)));
    out(parts.join("\n"));
  },
};
