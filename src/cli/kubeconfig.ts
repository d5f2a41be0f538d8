// tenantry kubeconfig <team>: a kubeconfig for the team's identity (ServiceAccount <team>),
// with a short-lived TokenRequest token and the cluster's CA embedded. It is a credential:
// written 0600 with --out, printed only to a pipe unless --print says a terminal is fine.

import type { CommandModule } from "yargs";
import { ExitCode, TenantryError } from "../errors.js";
import { formatData, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";

interface Args {
  team: string;
  duration: string;
  out?: string;
  print: boolean;
  output: OutputFormat;
  kubeconfig?: string;
}

export const kubeconfigCommand: CommandModule<object, Args> = {
  command: "kubeconfig <team>",
  describe: "A kubeconfig for a team's identity, with a short-lived token (10m to 24h)",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true, describe: "The team (ServiceAccount <team> in namespace <team>)" })
      .option("duration", { type: "string", default: "8h", describe: "Token lifetime, 10m to 24h (e.g. 8h, 30m, 1h30m)" })
      .option("out", { type: "string", describe: "Write the kubeconfig to FILE (mode 0600) and print a summary" })
      .option("print", { type: "boolean", default: false, describe: "Print the kubeconfig even when stdout is a terminal" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT, describe: "Printed kubeconfig: yaml (table, yaml) or json; with --out: the summary" })
      .option("kubeconfig", { type: "string", describe: "Admin kubeconfig (default: KUBECONFIG, ~/.kube/config)" }),
  handler: async (args) => {
    const [{ loadKubeConfig }, { tokenSeconds, teamKubeconfig }, { teamCredentials }, { writePrivateFile }] = await Promise.all([
      import("../cluster/kubeconfig.js"),
      import("../access/team-kubeconfig.js"),
      import("../access/token-request.js"),
      import("../access/private-files.js"),
    ]);
    const seconds = tokenSeconds(args.duration);
    // Refuse before minting a token that would only be thrown away.
    if (args.out === undefined && process.stdout.isTTY && !args.print) {
      throw new TenantryError("refusing to print a credential to the terminal: use --out FILE, pipe the output, or pass --print", ExitCode.invalid);
    }
    const { access, token } = await teamCredentials(loadKubeConfig(args.kubeconfig), args.team, seconds);
    const config = teamKubeconfig(args.team, access, token.token);
    if (args.out === undefined) {
      out(formatData(args.output === "json" ? "json" : "yaml", config));
      return;
    }
    writePrivateFile(args.out, formatData("yaml", config));
    const summary = { file: args.out, context: config["current-context"] as string, namespace: args.team, server: access.server, expires: token.expirationTimestamp };
    out(args.output === "table" ? `Wrote ${summary.file}: context ${summary.context}, namespace ${summary.namespace}, token valid until ${summary.expires}.` : formatData(args.output, summary));
  },
};
