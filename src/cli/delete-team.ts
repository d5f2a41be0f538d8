// tenantry delete-team <team>: remove a team's overlay and its line.

import type { CommandModule } from "yargs";
import { out } from "./output.js";

interface Args {
  team: string;
  "admin-repo"?: string;
  "dry-run": boolean;
  commit: boolean;
}

export const deleteTeamCommand: CommandModule<object, Args> = {
  command: "delete-team <team>",
  describe: "Remove a team from the admin repo; the reconciler prunes its objects after the push",
  builder: (y) =>
    y
      .positional("team", { type: "string", demandOption: true })
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("dry-run", { type: "boolean", default: false, describe: "Print what would change; change nothing" })
      .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" }),
  handler: async (args) => {
    const [{ deleteTeam }, { findAdminRepo }] = await Promise.all([import("../generate/team.js"), import("../repo/admin-repo.js")]);
    const root = findAdminRepo(args["admin-repo"]);
    const result = await deleteTeam(root, args.team, { dryRun: args["dry-run"], commit: args.commit });
    out(`${args["dry-run"] ? "Would remove" : "Removed"} team ${args.team}:\n${result.summary.map((l) => `  ${l}`).join("\n")}`);
    out(`After the push, the reconciler will prune ${result.pruned.length} objects (and everything in namespace ${args.team}):`);
    for (const o of result.pruned) {
      out(`  ${o.kind}/${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`);
    }
    if (result.commit !== null) out(`Committed ${result.commit.slice(0, 7)}.`);
  },
};
