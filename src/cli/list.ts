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
    const [{ findAdminRepo, listTeams }, { teamNamespaces }, { namespaceNames }] = await Promise.all([import("../repo/admin-repo.js"), import("../model/namespaces.js"), import("../model/team-spec.js")]);
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
      namespaces: teamNamespaces(t.name, namespaceNames(t)).join(","),
      isolation: t.controlPlane === null ? t.isolation : t.controlPlane.type === "external" ? `${t.isolation} (external)` : `${t.isolation} (${t.controlPlane.type}, ${t.controlPlane.backend})`,
    }));
    // The isolation column appears once a team has its own control plane: until then every team is a namespace;
    // the namespaces column once a team has more than its home namespace (home first).
    const columns = [
      "team",
      "tier",
      "repo",
      "allow-from",
      "node-pool",
      ...(teams.some((t) => namespaceNames(t).length > 0) ? ["namespaces"] : []),
      ...(teams.some((t) => t.isolation !== "namespace") ? ["isolation"] : []),
    ];
    out(formatTable(columns, rows));
  },
};
