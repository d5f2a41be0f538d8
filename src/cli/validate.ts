// tenantry validate [dir] [--team TEAM [--namespaces api,web]]: check an admin repo (or, with
// --team, a team's repo, held to the team's home and extra namespaces)
// offline: kustomize builds, schemas, remote bases, tenant scope, policies (gator,
// tenantry-celcheck). Exit 0 only when clean.

import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { setExitCode } from "./exit.js";
import { formatData, note, out } from "./output.js";
import { safeLines } from "../model/safe-text.js";
import { ValidationError } from "../errors.js";

const FORMATS = ["text", "json"] as const;

interface Args {
  dir?: string;
  team?: string;
  namespaces?: string;
  network: boolean;
  output: (typeof FORMATS)[number];
  "allow-plain-secrets": boolean;
  base?: string;
}

export const validateCommand: CommandModule<object, Args> = {
  command: "validate [dir]",
  describe: "Check an admin repo (or a team repo with --team) offline: kustomize builds, schemas, tenant scope, policies",
  builder: (y) =>
    y
      .positional("dir", { type: "string", describe: "The repo (default: the admin repo containing the current directory; with --team: the current directory)" })
      .option("team", { type: "string", describe: "Validate a team repo the way the team's GitSync applies it: inside namespace TEAM only" })
      .option("namespaces", { type: "string", describe: "With --team: the team's extra namespaces <team>-<name> its repo may also use, as names (api,web)" })
      .option("network", { type: "boolean", default: false, describe: "Also judge the NetworkPolicies with tenantry-netcheck (cyclonus's engine): print who reaches whom, fail on a team reaching another that did not --allow-from it, or on DNS or the agent's egress refused" })
      .option("allow-plain-secrets", { type: "boolean", default: false, describe: "With --team: accept Secrets in plain text (as a GitSync of an admin repo whose tenantry.yaml sets spec.allowPlainSecrets does)" })
      .option("base", { type: "string", describe: "With --team: name each secret value of a SOPS file changed since this Git ref (\"encrypted value changed\"), never decrypting" })
      .option("output", { alias: "o", choices: FORMATS, default: "text" as const, describe: "text: problems on stderr; json: the whole report on stdout" }),
  handler: async (args) => {
    const [v, { findAdminRepo }] = await Promise.all([import("../validate/validate.js"), import("../repo/admin-repo.js")]);
    if (args.network && args.team !== undefined) throw new ValidationError(["--network judges the admin repo's NetworkPolicies: leave out --team"]);
    if (args.namespaces !== undefined && args.team === undefined) throw new ValidationError(["--namespaces names a team repo's extra namespaces: give --team too"]);
    const team = args.team;
    const extra = team === undefined ? [] : (args.namespaces ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "").map((n) => `${team}-${n}`);
    if ((args["allow-plain-secrets"] || args.base !== undefined) && team === undefined) throw new ValidationError(["--allow-plain-secrets and --base are for a team repo: give --team too"]);
    const report = team === undefined ? await v.validateAdminRepo(findAdminRepo(args.dir), { network: args.network }) : await v.validateTeamRepo(resolve(args.dir ?? "."), team, extra, { allowPlainSecrets: args["allow-plain-secrets"], ...(args.base === undefined ? {} : { base: args.base }) });
    if (args.output === "json") {
      out(formatData("json", report));
      setExitCode(v.exitCodeOf(report));
      return;
    }
    for (const n of report.notes) note(`note: ${n}`);
    if (report.network !== null) out(safeLines((await import("../network/format.js")).formatMatrix(report.network)));
    const error = v.reportError(report);
    if (error !== null) throw error;
    const what = report.repo === "admin" ? "admin repo" : `team repo of ${report.team ?? "?"}`;
    out(`Valid ${what}: ${report.objects} objects from ${report.overlays.length} kustomize build${report.overlays.length === 1 ? "" : "s"}, checked against Kubernetes ${report.kubernetes}.`);
    const p = report.policies;
    if (p !== null && p.templates + p.admissionPolicies > 0) {
      out(
        `Policies: ${p.templates} ConstraintTemplates compiled and ${p.constraints} Constraints exercised by gator (${p.cases.CEL} CEL and ${p.cases.Rego} Rego cases); ${p.admissionPolicies} admission policies and bindings checked as the API server would.`,
      );
    }
  },
};
