// `tenantry create-team --from teams.yaml` (and `tenantry import`): many teams in one change.
// Each team is planned as create-team plans it (planCreateTeam), against the admin repo with
// the teams before it laid over it in memory (PlannedRepo): the repo's files and team specs
// are read once, not once per team. The whole change is then written as one atomic change,
// every overlay built in place with the real kustomize (through the build service, in
// parallel), and the change finished (with one commit when asked) only when all of them
// stand; otherwise it is undone and every problem of every team is named at once. A dry run
// is undone too.

import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildObjects } from "../build/kustomize.js";
import { BuildError } from "../build/service.js";
import { mapLimit } from "../concurrency.js";
import { ValidationError } from "../errors.js";
import { APP_LABEL, instanceObjectProblems, templateDir } from "../model/apps.js";
import type { ClusterConfig } from "../model/cluster-config.js";
import type { TeamOptions, TeamSpec } from "../model/team-spec.js";
import { teamDir, type Templates } from "../render/repos.js";
import { applyChanges, beginChanges, type ChangeSet, diffChanges, type RepoFiles, recoverRepo, summarizeChanges } from "../repo/changes.js";
import { commitChange } from "../repo/commit.js";
import { deletedBy, planCreateTeam, type RepoView, repoView } from "./team.js";

/** One team of the list: its name and its create-team options. */
export interface TeamEntry {
  readonly team: string;
  readonly options: TeamOptions;
}

export interface CreateTeamsResult {
  /** Each team in the list's order, and whether it is new. */
  readonly teams: readonly { readonly spec: TeamSpec; readonly created: boolean; readonly objects: number }[];
  readonly changes: ChangeSet;
  readonly summary: readonly string[];
  readonly commit: string | null;
  readonly recovered: readonly string[];
}

/** The admin repo with the files and specs of the teams planned so far laid over it. */
class PlannedRepo implements RepoView {
  private readonly written = new Map<string, string | null>();
  private readonly deleted: string[] = [];
  private readonly planned = new Map<string, TeamSpec>();
  private readonly disk: RepoView;

  constructor(root: string) {
    this.disk = repoView(root);
  }

  readonly files: RepoFiles = (path) => {
    if (this.written.has(path)) return this.written.get(path) ?? null;
    if (this.deleted.some((p) => path.startsWith(`${p}/`))) return null;
    return this.disk.files(path);
  };

  config(): ClusterConfig {
    return this.disk.config();
  }

  specs(): readonly TeamSpec[] {
    return [...this.disk.specs().filter((s) => !this.planned.has(s.name)), ...this.planned.values()];
  }

  catalog(): ReturnType<RepoView["catalog"]> {
    return this.disk.catalog();
  }

  /** Lays a planned team over the repo: its files as they will be, its deletions, its spec. */
  add(spec: TeamSpec, desired: ReadonlyMap<string, string>, deletes: readonly string[]): void {
    for (const p of deletes) {
      this.written.set(p, null);
      this.deleted.push(p);
    }
    for (const [p, text] of desired) this.written.set(p, text);
    this.planned.set(spec.name, spec);
  }

  /** Every file the planned teams write (those that differ on disk), and every path they delete. */
  changes(root: string): ChangeSet {
    const desired = new Map<string, string>();
    const deletes: string[] = [];
    for (const [p, text] of this.written) {
      if (text === null) deletes.push(p);
      else desired.set(p, text);
    }
    return { writes: diffChanges(root, desired), deletes: deletes.filter((d) => ![...desired.keys()].some((w) => w === d || w.startsWith(`${d}/`))) };
  }
}

/** "team <name>: <problem>" for each problem of a ValidationError, or the error's message. */
function problemsOf(team: string, e: unknown): string[] {
  if (e instanceof ValidationError) return e.problems.map((p) => `team ${team}: ${p}`);
  if (e instanceof BuildError) return [`team ${team}: ${e.message}`];
  throw e;
}

/** Problems of the list itself: a name given twice. */
function listProblems(entries: readonly TeamEntry[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const e of entries) {
    if (seen.has(e.team)) problems.push(`team ${e.team} is listed more than once: list each team once`);
    seen.add(e.team);
  }
  return problems;
}

/**
 * Builds every planned overlay in `root` with the real kustomize: the admin repo itself once
 * the change is written (and before it is finished), since a scratch copy of a thousand
 * overlays cost more than their builds; a scratch copy for a dry run. Either is tenantry's
 * render, so its size is not walked per build. Problems are added to `problems`; the objects
 * of each team are counted.
 */
async function buildOverlays(root: string, plans: readonly { readonly spec: TeamSpec }[], problems: string[]): Promise<number[]> {
  return mapLimit(plans, 8, async ({ spec }) => {
    try {
      const objects = await buildObjects({ root, dir: teamDir(spec.name), limits: { checkoutBytes: 0 } });
      problems.push(
        ...objects.flatMap((o) => {
          const app = spec.apps.find((a) => a.name === o.metadata.labels?.[APP_LABEL]);
          return app === undefined ? [] : instanceObjectProblems(spec.name, app.name, app.template, [o]).map((p) => `team ${spec.name}: ${p}`);
        }),
      );
      return objects.length;
    } catch (e) {
      problems.push(...problemsOf(spec.name, e));
      return 0;
    }
  });
}

/**
 * Creates or changes every team of `entries` in one change. A change that would remove a
 * namespace or move a team between isolation tiers is refused here: those are read against
 * the live cluster first, one team at a time (tenantry create-team <team>).
 */
export async function createTeams(t: Templates, root: string, entries: readonly TeamEntry[], flags: { readonly dryRun: boolean; readonly commit: boolean; readonly message?: string; readonly progress?: (line: string) => void }): Promise<CreateTeamsResult> {
  const recovered = flags.dryRun ? [] : recoverRepo(root);
  const problems = listProblems(entries);
  const who = { now: new Date(), by: await deletedBy(root) };
  const repo = new PlannedRepo(root);
  const plans: { spec: TeamSpec; created: boolean; overlay: ReadonlyMap<string, string> }[] = [];
  const every = Math.max(1, Math.ceil(entries.length / 10));
  const planned = new Set<string>();
  for (const [i, e] of entries.entries()) {
    // A team listed twice is planned once (listProblems names it).
    if (planned.has(e.team)) continue;
    planned.add(e.team);
    try {
      const plan = planCreateTeam(t, root, e.team, e.options, who, false, repo);
      if (plan.moved !== null || plan.removedNamespaces.length > 0) {
        const what = plan.moved !== null ? `moves it from isolation ${plan.moved.from}` : `removes namespace ${plan.removedNamespaces.map((r) => r.name).join(", ")}`;
        problems.push(`team ${e.team}: the list ${what}, which is read against the cluster first: change it on its own with tenantry create-team ${e.team}`);
        continue;
      }
      repo.add(plan.spec, plan.desired, plan.changes.deletes);
      plans.push({ spec: plan.spec, created: plan.created, overlay: plan.overlay });
    } catch (err) {
      problems.push(...problemsOf(e.team, err));
    }
    if ((i + 1) % every === 0 && entries.length >= 50) flags.progress?.(`planned ${String(i + 1)}/${String(entries.length)} teams`);
  }
  if (problems.length > 0) throw new ValidationError(problems);
  const changes = repo.changes(root);
  const summary = summarizeChanges(root, changes);
  const names = plans.map((p) => p.spec.name);
  if (flags.dryRun) {
    // Nothing is written: the overlays are laid out (with the templates their instances use) in a scratch directory.
    const scratch = mkdtempSync(join(tmpdir(), "tenantry-overlays-"));
    try {
      applyChanges(scratch, { writes: new Map(plans.flatMap((p) => [...p.overlay])), deletes: [] });
      for (const tpl of new Set(plans.flatMap((p) => p.spec.apps.map((a) => a.template)))) cpSync(join(root, templateDir(tpl)), join(scratch, templateDir(tpl)), { recursive: true, dereference: false });
      flags.progress?.(`building ${String(plans.length)} overlays`);
      const objects = await buildOverlays(scratch, plans, problems);
      if (problems.length > 0) throw new ValidationError(problems);
      return { teams: teamsOf(plans, objects), changes, summary, commit: null, recovered };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  // Written first, built in place, finished only when every build stands (else undone): a
  // run killed in between is undone by the next (repo/atomic.ts).
  const tx = beginChanges(root, changes, `create ${String(names.length)} teams in ${root}`);
  let objects: number[];
  try {
    flags.progress?.(`building ${String(plans.length)} overlays`);
    objects = await buildOverlays(root, plans, problems);
    if (problems.length > 0) throw new ValidationError(problems);
  } catch (e) {
    tx.undo();
    throw e;
  }
  const paths = [...changes.writes.keys(), ...changes.deletes];
  const commit = flags.commit && paths.length > 0 ? await commitChange(tx, flags.message ?? `tenantry: create or update ${names.length === 1 ? `team ${names[0] ?? ""}` : `${String(names.length)} teams (${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""})`}`, paths) : null;
  tx.finish();
  return { teams: teamsOf(plans, objects), changes, summary, commit: commit?.hash ?? null, recovered };
}

function teamsOf(plans: readonly { readonly spec: TeamSpec; readonly created: boolean }[], objects: readonly number[]): CreateTeamsResult["teams"] {
  return plans.map((p, i) => ({ spec: p.spec, created: p.created, objects: objects[i] ?? 0 }));
}
