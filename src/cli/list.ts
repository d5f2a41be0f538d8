// tenantry list: the teams of the admin repo.

import type { CommandModule } from "yargs";
import { formatData, formatTable, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";

const DEFAULT_FORMAT: OutputFormat = "table";

interface Args {
  "admin-repo"?: string;
  output: OutputFormat;
}

export const listCommand: CommandModule<object, Args> = {
  command: "list",
  describe: "List the teams in the admin repo",
  builder: (y) =>
    y
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT }),
  handler: async (args) => {
    const { findAdminRepo, listTeams } = await import("../repo/admin-repo.js");
    const teams = listTeams(findAdminRepo(args["admin-repo"]));
    if (args.output !== "table") {
      out(formatData(args.output, teams));
      return;
    }
    if (teams.length === 0) {
      out("No teams yet: scripts/create-team.sh <team> adds one.");
      return;
    }
    const rows = teams.map((t) => ({
      team: t.name,
      tier: t.tier,
      repo: t.repoUrl,
      "allow-from": t.allowFrom.join(",") || "-",
      "node-pool": t.nodePool === null ? "-" : `${t.nodePool.key}=${t.nodePool.value}`,
    }));
    out(formatTable(["team", "tier", "repo", "allow-from", "node-pool"], rows));
  },
};
