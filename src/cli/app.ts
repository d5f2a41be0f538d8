// tenantry app: app templates the platform offers (apps/<template>/ in the admin repo) and
// their instances, one namespace <team>-<instance> each (generate/apps.ts, docs/apps.md).
// Subcommands: create, list, upgrade, delete.

import type { CommandModule } from "yargs";
import { ExitCode, TenantryError } from "../errors.js";
import { formatData, formatTable, note, OUTPUT_FORMATS, type OutputFormat, out } from "./output.js";
import { removalGuard } from "./create-team.js";

interface Common {
  "admin-repo"?: string;
  "dry-run": boolean;
  commit: boolean;
}

const changeOptions = <T>(y: import("yargs").Argv<T>) =>
  y
    .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
    .option("dry-run", { type: "boolean", default: false, describe: "Print what would change; change nothing" })
    .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" });

async function cores() {
  const [apps, { findAdminRepo }, { templates }] = await Promise.all([import("../generate/apps.js"), import("../repo/admin-repo.js"), import("../repo/templates.js")]);
  return { apps, findAdminRepo, templates };
}

function printChange(dryRun: boolean, summary: readonly string[], writes: ReadonlyMap<string, string>, done: string, commit: string | null): void {
  const lines = summary.map((l) => `  ${l}`);
  if (dryRun) {
    out(lines.length === 0 ? "Nothing would change." : `Would change (dry run):\n${lines.join("\n")}`);
    for (const [path, content] of writes) out(`--- ${path}\n${content}`);
    return;
  }
  out(lines.length === 0 ? "Nothing changed." : `${done}:\n${lines.join("\n")}`);
  if (commit !== null) out(`Committed ${commit.slice(0, 7)}.`);
}

const teamRepoOption = { type: "string", describe: "A checkout of the team's repo: an instance of a template of delivery team is handed to it (apps/<instance>/)" } as const;

function printTeamRepo(dryRun: boolean, dir: string | null, summary: readonly string[], gone = false): void {
  if (dir === null || summary.length === 0) return;
  out(`${dryRun ? "Would change" : "Changed"} the team repo ${dir}:\n${summary.map((l) => `  ${l}`).join("\n")}`);
  if (!dryRun) note(gone ? "Push the team repo too: its sync prunes the instance's objects (the namespace goes with the admin repo's push)." : "Push the team repo too: its sync applies the instance's objects as the team.");
}

const createCommand: CommandModule<object, Common & { team: string; template: string; instance: string; set?: string[]; "team-repo-dir"?: string }> = {
  command: "create <team> <template> <instance>",
  describe: "Make an instance of an app template for a team: namespace <team>-<instance> with the template's quota, limits and the team's access",
  builder: (y) =>
    changeOptions(
      y
        .positional("team", { type: "string", demandOption: true })
        .positional("template", { type: "string", demandOption: true, describe: "A directory of the admin repo's apps/" })
        .positional("instance", { type: "string", demandOption: true, describe: "The instance's name: its namespace is <team>-<instance>" })
        .option("set", { type: "string", array: true, describe: "A parameter's value, key=value (repeatable); checked against the template's schema" })
        .option("team-repo-dir", teamRepoOption),
    ),
  handler: async (args) => {
    const { apps, findAdminRepo, templates } = await cores();
    const root = findAdminRepo(args["admin-repo"]);
    const r = await apps.createApp(templates, root, args.team, args.template, args.instance, args.set ?? [], { dryRun: args["dry-run"], commit: args.commit, teamRepoDir: args["team-repo-dir"] });
    printChange(args["dry-run"], r.summary, r.changes.writes, `Created app instance ${args.instance} of team ${args.team} (template ${args.template}, namespace ${args.team}-${args.instance}, ${r.objects} objects in the team's overlay)`, r.commit);
    printTeamRepo(args["dry-run"], r.teamRepo, r.teamRepoSummary);
    if (!args["dry-run"]) {
      note(`Namespace ${args.team}-${args.instance} takes its quota out of tier ${r.spec.tier}: team ${args.team}'s other namespaces get what is left. Push the admin repo to apply it.`);
    }
  },
};

const upgradeCommand: CommandModule<object, Common & { team?: string; instance?: string; template?: string; set?: string[]; unset?: string[]; "team-repo-dir"?: string }> = {
  command: "upgrade [team] [instance]",
  describe: "Render an instance again from its template as it is now (with changed --set/--unset values), or every instance of --template",
  builder: (y) =>
    changeOptions(
      y
        .positional("team", { type: "string" })
        .positional("instance", { type: "string" })
        .option("template", { type: "string", describe: "Upgrade every instance of this template, in every team, in one change" })
        .option("set", { type: "string", array: true, describe: "Change a parameter's value, key=value (repeatable)" })
        .option("unset", { type: "string", array: true, describe: "Drop a value given before: the template's default applies (repeatable)" })
        .option("team-repo-dir", teamRepoOption)
        .check((a) => {
          if (a.template !== undefined && (a.team !== undefined || a.instance !== undefined)) return "give either <team> <instance> or --template, not both";
          if (a.template === undefined && (a.team === undefined || a.instance === undefined)) return "name the instance (<team> <instance>) or the template (--template <template>)";
          if (a.template !== undefined && ((a.set ?? []).length > 0 || (a.unset ?? []).length > 0 || a["team-repo-dir"] !== undefined)) return "--set, --unset and --team-repo-dir change one instance: name it (<team> <instance>)";
          return true;
        }),
    ),
  handler: async (args) => {
    const { apps, findAdminRepo, templates } = await cores();
    const root = findAdminRepo(args["admin-repo"]);
    if (args.template !== undefined) {
      const r = await apps.upgradeTemplate(templates, root, args.template, { dryRun: args["dry-run"], commit: args.commit });
      if (r.instances.length === 0) {
        out(`No instance of app template ${args.template}: nothing to upgrade.`);
        return;
      }
      out(`Instances of template ${args.template}: ${r.instances.join(", ")}`);
      printChange(args["dry-run"], r.summary, r.changes.writes, `Upgraded ${r.instances.length} instance${r.instances.length === 1 ? "" : "s"} of template ${args.template}`, r.commit);
      if (r.delivery === "team") note(`Template ${args.template} hands its objects to the teams' repos: they keep their copies; tenantry app upgrade <team> <instance> --team-repo-dir <checkout> hands each the new render.`);
      return;
    }
    const team = args.team ?? "";
    const instance = args.instance ?? "";
    const r = await apps.upgradeApp(templates, root, team, instance, args.set ?? [], args.unset ?? [], { dryRun: args["dry-run"], commit: args.commit, teamRepoDir: args["team-repo-dir"] });
    printChange(args["dry-run"], r.summary, r.changes.writes, `Upgraded app instance ${instance} of team ${team} (template ${r.template.name} ${r.template.digest})`, r.commit);
    printTeamRepo(args["dry-run"], r.teamRepo, r.teamRepoSummary);
    if (r.template.delivery === "team" && r.teamRepo === null) note(`Template ${r.template.name} hands its objects to the team's repo, which keeps its copy: pass --team-repo-dir <checkout> to hand it the new render.`);
  },
};

const deleteCommand: CommandModule<object, Common & { team: string; instance: string; kubeconfig?: string; force: boolean; "team-repo-dir"?: string }> = {
  command: "delete <team> <instance>",
  describe: "Remove an app instance: its namespace and everything in it are deleted after the push (a tombstone), refused while it holds volumes unless --force",
  builder: (y) =>
    changeOptions(
      y
        .positional("team", { type: "string", demandOption: true })
        .positional("instance", { type: "string", demandOption: true })
        .option("kubeconfig", { type: "string", describe: "The cluster where what the instance's namespace holds is read (default: KUBECONFIG)" })
        .option("force", { type: "boolean", default: false, describe: "Delete even when the namespace holds PersistentVolumeClaims or the cluster cannot be read" })
        .option("team-repo-dir", { type: "string", describe: "A checkout of the team's repo: its apps/<instance>/ (delivery team) goes too" }),
    ),
  handler: async (args) => {
    const { apps, findAdminRepo, templates } = await cores();
    const root = findAdminRepo(args["admin-repo"]);
    const { lossLines } = await import("../plan/team-loss.js");
    const guard = removalGuard(args.kubeconfig, args["dry-run"], args.force);
    const r = await apps.deleteApp(templates, root, args.team, args.instance, { dryRun: args["dry-run"], commit: args.commit, teamRepoDir: args["team-repo-dir"], beforeRemoving: guard.beforeRemoving });
    const ns = `${args.team}-${args.instance}`;
    const { removed, refusedDry } = guard.seen;
    if (removed !== null) {
      if ("unread" in removed) out(`Live namespace ${ns}: not read (${removed.unread})${args.force ? "; removed unseen (--force)" : ""}`);
      else for (const loss of removed.losses) out(`Live namespace ${loss.namespace}, lost with it:\n${lossLines(loss).map((l) => `  ${l}`).join("\n")}`);
      if (refusedDry !== null) out(`Would refuse without --force: ${refusedDry.message}`);
    }
    printChange(args["dry-run"], r.summary, r.changes.writes, `Deleted app instance ${args.instance} of team ${args.team}: tombstone Namespace ${ns}; after the push the reconciler deletes it and everything in it`, r.commit);
    printTeamRepo(args["dry-run"], args["team-repo-dir"] ?? null, r.teamRepoSummary, true);
  },
};

const DEFAULT_FORMAT: OutputFormat = "table";

const listCommand: CommandModule<object, { "admin-repo"?: string; team?: string; output: OutputFormat }> = {
  command: "list",
  describe: "The admin repo's app templates and their instances",
  builder: (y) =>
    y
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("team", { type: "string", describe: "Only this team's instances" })
      .option("output", { alias: "o", choices: OUTPUT_FORMATS, default: DEFAULT_FORMAT }),
  handler: async (args) => {
    const [{ findAdminRepo, readTeamSpecs }, { readAppCatalog }] = await Promise.all([import("../repo/admin-repo.js"), import("../repo/apps.js")]);
    const root = findAdminRepo(args["admin-repo"]);
    const { catalog, broken } = readAppCatalog(root);
    const teams = readTeamSpecs(root).filter((s) => args.team === undefined || s.name === args.team);
    if (args.team !== undefined && teams.length === 0) throw new TenantryError(`unknown team "${args.team}": \`tenantry list\` shows the teams of this admin repo`, ExitCode.invalid);
    const instances = teams.flatMap((s) =>
      s.apps.map((a) => {
        const t = catalog.get(a.template);
        const state = t === undefined ? (broken.has(a.template) ? "template broken (tenantry validate)" : "template missing") : t.digest === a.templateDigest ? "up to date" : `template changed: tenantry app upgrade ${s.name} ${a.name}`;
        return { team: s.name, instance: a.name, template: a.template, namespace: `${s.name}-${a.name}`, delivery: t?.delivery ?? "-", values: Object.entries(a.values).map(([k, v]) => `${k}=${String(v)}`).join(",") || "-", state };
      }),
    );
    if (args.output !== "table") {
      out(formatData(args.output, { templates: [...catalog.values()].map((t) => ({ name: t.name, description: t.description, delivery: t.delivery, parameters: Object.keys(t.parameters.properties), digest: t.digest })), instances }));
      return;
    }
    if (args.team === undefined) {
      out(catalog.size === 0 ? "No app templates: add apps/<template>/ (tenantry init ships apps/hello-web)." : formatTable(["template", "delivery", "parameters", "description"], [...catalog.values()].map((t) => ({ template: t.name, delivery: t.delivery, parameters: Object.keys(t.parameters.properties).join(",") || "-", description: t.description }))));
      for (const [name] of broken) note(`apps/${name}: broken, tenantry validate names the problem`);
    }
    out(instances.length === 0 ? "No app instances: tenantry app create <team> <template> <instance> makes one." : formatTable(["team", "instance", "template", "namespace", "delivery", "values", "state"], instances));
  },
};

export const appCommand: CommandModule = {
  command: "app <command>",
  describe: "App templates per team: create, list, upgrade, delete instances",
  builder: (y) => y.command(createCommand).command(listCommand).command(upgradeCommand).command(deleteCommand).demandCommand(1, "Name an app command: tenantry app --help lists them."),
  handler: () => undefined,
};
