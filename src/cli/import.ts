// tenantry import flux2-multi-tenancy|flux-v1 DIR --out NEWDIR: turn an existing Flux
// multi-tenancy repo into a tenantry admin repo. The source is read and judged purely
// (src/import/); the new repo is made by init and create-team --from themselves (their
// validation, the real kustomize build of every overlay, a commit each) in a staging directory beside
// NEWDIR, and moved into place only when all of it stands: on any failure nothing is left.

import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { ExitCode, PathError, ValidationError } from "../errors.js";
import { DEFAULT_SYNC_ENGINE, SYNC_ENGINES, type SyncEngine } from "../model/constants.js";
import { gitUrlProblems } from "../model/values.js";
import { buildReport, formatReport, LAYOUTS, type Layout, type ParsedSource, teamOptions } from "../import/report.js";
import { setExitCode } from "./exit.js";
import { formatData, out } from "./output.js";

const FORMATS = ["text", "json"] as const;
const TEAM_NAMES = ["tenant", "namespace"] as const;

interface Args {
  layout: Layout;
  dir: string;
  out: string;
  "cluster-name"?: string;
  "git-url"?: string;
  engine: SyncEngine;
  env?: string;
  "team-name": (typeof TEAM_NAMES)[number];
  output: (typeof FORMATS)[number];
}

/** NEWDIR must be new or empty: the import never mixes into an existing directory. */
function assertNewDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!lstatSync(dir).isDirectory()) throw new PathError(`--out ${dir} is a file: choose a new or empty directory`, dir);
  if (readdirSync(dir).length > 0) throw new ValidationError([`--out ${dir} is not empty: choose a new or empty directory`]);
}

/** The admin repo's URL: --git-url, else the source's when tenantry can fetch it (else left out, and said). */
function adminUrl(given: string | undefined, parsed: ParsedSource): { url: string | undefined; parsed: ParsedSource } {
  if (given !== undefined) return { url: given, parsed };
  const found = parsed.adminGitUrl;
  if (found === null) return { url: undefined, parsed };
  const problems = gitUrlProblems("the admin repo's URL", found);
  if (problems.length === 0) return { url: found, parsed };
  const item = { verdict: "unmapped" as const, tenant: null, file: "", subject: `admin repo URL ${found}`, detail: `${problems.join("; ")}: tenantry.yaml has no gitUrl; pass --git-url` };
  return { url: undefined, parsed: { ...parsed, items: [...parsed.items, item] } };
}

export const importCommand: CommandModule<object, Args> = {
  command: "import <layout> <dir>",
  describe: "Make a tenantry admin repo from a Flux multi-tenancy repo (flux2-multi-tenancy or Flux v1's multi-tenancy), with a report of what maps",
  builder: (y) =>
    y
      .positional("layout", { choices: LAYOUTS, demandOption: true, describe: "The source's layout" })
      .positional("dir", { type: "string", demandOption: true, describe: "A checkout of the Flux repo (only read)" })
      .option("out", { type: "string", demandOption: true, describe: "The admin repo to create (a new or empty directory)" })
      .option("cluster-name", { type: "string", describe: "The cluster's name (default: the environment, for flux2-multi-tenancy)" })
      .option("git-url", { type: "string", describe: "URL of the new admin repo (default: the source's own, when it names it)" })
      .option("engine", { choices: SYNC_ENGINES, default: DEFAULT_SYNC_ENGINE, describe: "What applies the repos: tenantry's agent, or Flux" })
      .option("env", { type: "string", describe: "flux2-multi-tenancy: the environment to import (tenants/<env>, clusters/<env>); needed when there are several" })
      .option("team-name", { choices: TEAM_NAMES, default: "tenant" as const, describe: "Name each team after the tenant (default) or after its namespace" })
      .option("output", { alias: "o", choices: FORMATS, default: "text" as const, describe: "text: the report for people; json: the report for machines" }),
  handler: async (args) => {
    const [{ readSourceTree }, { parseFlux2 }, { parseFluxV1 }, { finishImport, forEngine }, { renderInit, init }, { createTeams }, { fluxComponentsFor }, { templates }, { generatedVersions }] =
      await Promise.all([
        import("../import/read.js"),
        import("../import/flux2.js"),
        import("../import/flux-v1.js"),
        import("../import/finish.js"),
        import("../generate/init.js"),
        import("../generate/teams.js"),
        import("../generate/flux-components.js"),
        import("../repo/templates.js"),
        import("../toolchain.js"),
      ]);
    const outDir = resolve(args.out);
    assertNewDir(outDir);
    const source = resolve(args.dir);
    const tree = readSourceTree(source);

    // The cluster's defaults (the tier every team gets) are those of the repo init renders.
    const base = { policyEngine: "both" as const, engine: args.engine };
    const probe = renderInit(templates, { ...base, clusterName: args["cluster-name"] ?? "import", gitUrl: args["git-url"] }, generatedVersions(), fluxComponentsFor(args.engine));
    const options = { defaultTier: probe.config.defaultTier, teamName: args["team-name"] };
    const raw = args.layout === "flux2-multi-tenancy" ? parseFlux2(tree, { ...options, env: args.env }) : parseFluxV1(tree, options);
    const clusterName = args["cluster-name"] ?? raw.env ?? undefined;
    if (clusterName === undefined) throw new ValidationError([`--cluster-name is needed: the ${args.layout} layout does not name its cluster`]);
    const withUrl = adminUrl(args["git-url"], forEngine(raw, args.engine));
    const initOptions = { ...base, clusterName, gitUrl: withUrl.url };
    const { config } = renderInit(templates, initOptions, generatedVersions(), fluxComponentsFor(args.engine));
    const parsed = finishImport(withUrl.parsed, config);

    const commit = await writeRepo(outDir, async (repo) => {
      const made = await init(templates, repo, initOptions);
      const head = made.kind === "created" ? made.commit : null;
      if (parsed.teams.length === 0) return head;
      // Every team in one change (create-team --from): planned in memory, built, one commit.
      const entries = parsed.teams.map((t) => ({ team: t.team, options: teamOptions(t) }));
      const r = await createTeams(templates, repo, entries, { dryRun: false, commit: true, message: `tenantry: import ${String(entries.length)} team${entries.length === 1 ? "" : "s"} (${entries.map((e) => e.team).join(", ")})` });
      return r.commit ?? head;
    });
    const report = buildReport({ source, out: outDir, cluster: clusterName, engine: args.engine, commit }, parsed);
    out(args.output === "json" ? formatData("json", report) : formatReport(report));
    if (report.unmapped.length > 0) setExitCode(ExitCode.notMapped);
  },
};

/** Makes the repo in a staging directory beside `dir` with `make`, then moves it into place; on failure nothing is left. */
async function writeRepo(dir: string, make: (repo: string) => Promise<string | null>): Promise<string | null> {
  const parent = dirname(dir);
  const createdParent = mkdirSync(parent, { recursive: true });
  let staging: string | undefined;
  try {
    staging = mkdtempSync(join(parent, `.${basename(dir)}.tenantry-import-`));
    const repo = join(staging, "repo");
    const head = await make(repo);
    if (existsSync(dir)) rmdirSync(dir);
    renameSync(repo, dir);
    return head;
  } catch (e) {
    if (createdParent !== undefined) rmSync(createdParent, { recursive: true, force: true });
    throw e;
  } finally {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  }
}
