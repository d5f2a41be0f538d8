// tenantry ctx <team> | -: switch the user's kubeconfig to a team context (tenantry-<team>,
// a fresh token) and back, the way `kubectx` and `kflex ctx` do; only tenantry's own entries
// are touched. A controlplane team's context points at its own API server.

import type { CommandModule } from "yargs";
import { DEFAULT_TOKEN_DURATION } from "../access/team-kubeconfig.js";
import { formatData, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";

interface Args {
  team: string;
  duration: string;
  output: OutputFormat;
  kubeconfig?: string;
}

export const ctxCommand: CommandModule<object, Args> = {
  command: "ctx <team>",
  describe: "Switch your kubeconfig to the team's context tenantry-<team> (- switches back)",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true, describe: "The team, or - for the context before the last switch" })
      // yargs re-parses positionals as `--team <value>`, where a lone `-` would read as no
      // value at all; nargs 1 makes it take `-` literally.
      .nargs("team", 1)
      .option("duration", { type: "string", default: DEFAULT_TOKEN_DURATION, describe: "Token lifetime, 10m to 24h" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT })
      .option("kubeconfig", { type: "string", describe: "The kubeconfig to edit (default: first of KUBECONFIG, else ~/.kube/config)" }),
  handler: async (args) => {
    const [{ switchBack, switchToTeam }, { tokenSeconds }] = await Promise.all([import("../access/switch-context.js"), import("../access/team-kubeconfig.js")]);
    const result = args.team === "-" ? switchBack(args.kubeconfig) : await switchToTeam(args.team, tokenSeconds(args.duration), args.kubeconfig);
    if (args.output !== "table") {
      out(formatData(args.output, result));
      return;
    }
    const plane = result.controlPlane === undefined ? "" : ` in the API server of ControlPlane ${result.controlPlane} (${result.server ?? "?"})`;
    const where = result.namespace === undefined ? "" : ` (namespace ${result.namespace}${plane}, token valid until ${result.expires ?? "?"})`;
    const back = result.previous === undefined ? "" : `; tenantry ctx - switches back to "${result.previous}"`;
    out(`Switched to context "${result.context}"${where} in ${result.file}${back}.`);
  },
};
