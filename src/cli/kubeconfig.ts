// tenantry kubeconfig <team>: a kubeconfig for the team's identity (ServiceAccount <team>),
// with a short-lived TokenRequest token and the cluster's CA embedded: the host's, or for a
// controlplane team its own API server's (read through the ControlPlane's Secret, whose admin
// kubeconfig is never written). It is a credential: written 0600 with --out, printed only to
// a pipe unless --print says a terminal is fine. The context's namespace is the team's home;
// a team of several namespaces gets the same token for all of them (stderr names any the
// token does not reach).

import type { CommandModule } from "yargs";
import { ExitCode, TenantryError } from "../errors.js";
import { DEFAULT_TOKEN_DURATION } from "../access/team-kubeconfig.js";
import { formatData, note, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

interface Args {
  team: string;
  duration: string;
  out?: string;
  print: boolean;
  output?: OutputFormat;
  kubeconfig?: string;
}

export const kubeconfigCommand: CommandModule<object, Args> = {
  command: "kubeconfig <team>",
  describe: "A kubeconfig for a team's identity, with a short-lived token (10m to 24h)",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true, describe: "The team (ServiceAccount <team> in namespace <team>)" })
      .option("duration", { type: "string", default: DEFAULT_TOKEN_DURATION, describe: "Token lifetime, 10m to 24h (e.g. 8h, 30m, 1h30m)" })
      .option("out", { type: "string", describe: "Write the kubeconfig to FILE (mode 0600) and print a summary" })
      .option("print", { type: "boolean", default: false, describe: "Print the kubeconfig even when stdout is a terminal" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, describe: "The printed kubeconfig: yaml (default) or json; with --out, the summary: table (default), yaml or json" })
      .option("kubeconfig", { type: "string", describe: "Admin kubeconfig (default: KUBECONFIG, ~/.kube/config)" }),
  handler: async (args) => {
    const [{ loadAccess }, { tokenSeconds, teamKubeconfig }, { teamCredentials }, { writePrivateFile }] = await Promise.all([
      import("../cluster/access.js"),
      import("../access/team-kubeconfig.js"),
      import("../access/token-request.js"),
      import("../files.js"),
    ]);
    const seconds = tokenSeconds(args.duration);
    const printed = args.output ?? "yaml";
    if (args.out === undefined && printed === "table") {
      throw new TenantryError("a kubeconfig is printed as yaml or json: use -o yaml or -o json, or --out FILE for a summary table", ExitCode.invalid);
    }
    // Refuse before minting a token that would only be thrown away.
    if (args.out === undefined && process.stdout.isTTY && !args.print) {
      throw new TenantryError("refusing to print a credential to the terminal: use --out FILE, pipe the output, or pass --print", ExitCode.invalid);
    }
    const { access, token, target, namespaces } = await teamCredentials(loadAccess(args.kubeconfig), args.team, seconds);
    for (const n of namespaces.filter((x) => !x.reached)) note(`the token does not reach namespace ${n.namespace} of team ${args.team}: its RoleBinding tenantry:team-admin there is missing (reconcile the admin repo)`);
    const config = teamKubeconfig(args.team, access, token.token);
    if (args.out === undefined) {
      out(formatData(printed === "table" ? "yaml" : printed, config));
      return;
    }
    writePrivateFile(args.out, formatData("yaml", config));
    const controlPlane = target.isolation === "controlplane" ? target.controlPlane : undefined;
    const extra = namespaces.length > 1 ? { namespaces: namespaces.map((n) => n.namespace) } : {};
    const summary = { file: args.out, context: config["current-context"] as string, namespace: args.team, ...extra, server: access.server, expires: token.expirationTimestamp, ...(controlPlane === undefined ? {} : { controlPlane }) };
    const format = args.output ?? "table";
    const where = controlPlane === undefined ? "" : ` (the API server of ControlPlane ${controlPlane}, ${access.server})`;
    const also = namespaces.length > 1 ? ` (also ${namespaces.slice(1).map((n) => n.namespace).join(", ")})` : "";
    out(format === "table" ? `Wrote ${summary.file}: context ${summary.context}, namespace ${summary.namespace}${also}${where}, token valid until ${summary.expires}.` : formatData(format, summary));
  },
};
