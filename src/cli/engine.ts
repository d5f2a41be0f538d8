// tenantry engine set flux|tenantry: switch the admin repo's sync engine.

import type { CommandModule } from "yargs";
import { SYNC_ENGINES, type SyncEngine } from "../model/constants.js";
import { note, out } from "./output.js";

interface SetArgs {
  engine: SyncEngine;
  "admin-repo"?: string;
  "dry-run": boolean;
  commit: boolean;
}

const setCommand: CommandModule<object, SetArgs> = {
  command: "set <engine>",
  describe: "Re-render cluster/common and every team overlay for another engine, all or nothing",
  builder: (y) =>
    y
      .positional("engine", { choices: SYNC_ENGINES, demandOption: true, describe: "tenantry (its agent, GitSync) or flux (source- and kustomize-controller)" })
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("dry-run", { type: "boolean", default: false, describe: "Print what would change; change nothing" })
      .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" }),
  handler: async (args) => {
    const [{ planEngineSet, applyEngineSet }, { findAdminRepo }, { recoverRepo }, { templates }] = await Promise.all([
      import("../generate/engine.js"),
      import("../repo/admin-repo.js"),
      import("../repo/changes.js"),
      import("../repo/templates.js"),
    ]);
    const root = findAdminRepo(args["admin-repo"]);
    const dryRun = args["dry-run"];
    if (!dryRun) for (const line of recoverRepo(root)) note(line);
    const plan = planEngineSet(templates, root, args.engine);
    const changed = plan.summary.map((l) => `  ${l}`);
    const teams = `${plan.teams.length} team${plan.teams.length === 1 ? "" : "s"}`;
    if (changed.length === 0) {
      out(`The admin repo's engine is ${plan.to} already (${teams}); nothing ${dryRun ? "would change" : "changed"}.`);
      return;
    }
    const commit = dryRun ? null : await applyEngineSet(root, plan, { commit: args.commit });
    out(`${dryRun ? "Would switch" : "Switched"} the engine from ${plan.from} to ${plan.to} (${teams}):\n${changed.join("\n")}`);
    for (const n of plan.notes) note(n);
    if (commit !== null) out(`Committed ${commit.slice(0, 7)}.`);
    if (!dryRun) note("tenantry plan shows what the push changes in the cluster; the new engine must run before it is pushed (tenantry bootstrap).");
  },
};

export const engineCommand: CommandModule<object, object> = {
  command: "engine <command>",
  describe: "The sync engine that applies the admin and team repos: tenantry or flux",
  builder: (y) => y.command(setCommand).demandCommand(1, "Name a subcommand: tenantry engine set flux|tenantry"),
  handler: () => undefined,
};
