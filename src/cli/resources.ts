// tenantry resources <team>: everything in the team's namespaces (home and extra) as ownership trees grouped
// by kind (Deployment → ReplicaSet → Pod, Service → EndpointSlice), like `kubectl appresources`.
// A controlplane team's namespace is read in its own API server (a line on stderr says which).

import type { CommandModule } from "yargs";
import { formatData, formatTable, note, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";

interface Args {
  team: string;
  output: OutputFormat;
  kubeconfig?: string;
  app?: string;
}

export const resourcesCommand: CommandModule<object, Args> = {
  command: "resources <team>",
  describe: "Everything in a team's namespace, as ownership trees grouped by kind",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true, describe: "The team (its namespace)" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "Kubeconfig to use (default: KUBECONFIG, ~/.kube/config)" })
      .option("app", { type: "string", describe: "Only app instance <instance> (namespace <team>-<instance>), like KubePlus appresources" }),
  handler: async (args) => {
    const [{ loadAccess }, { gatherResources }, { treeRows }, { readFromLine }] = await Promise.all([
      import("../cluster/access.js"),
      import("../views/gather.js"),
      import("../views/resources.js"),
      import("../views/controlplanes.js"),
    ]);
    const view = await gatherResources(loadAccess(args.kubeconfig), args.team, args.app);
    if (view.readFrom.controlPlane !== undefined) note(readFromLine(view.readFrom));
    if (view.skipped.length > 0) {
      const byReason = new Map<string, string[]>();
      for (const s of view.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.resource]);
      for (const [reason, resources] of byReason) note(`not shown (${reason}): ${resources.join(", ")}`);
    }
    for (const n of view.notes) note(n);
    if (args.output !== "table") {
      out(formatData(args.output, view));
      return;
    }
    if (view.namespaces.length <= 1) {
      out(view.groups.length === 0 ? `Namespace ${view.namespace} is empty.` : formatTable(["resource", "status"], treeRows(view.groups)));
      return;
    }
    // A team of several namespaces: one table per namespace, home first.
    out(view.namespaces.map((n) => `Namespace ${n.namespace}${n.groups.length === 0 ? " is empty.\n" : `:\n${formatTable(["resource", "status"], treeRows(n.groups))}`}`).join("\n"));
  },
};
