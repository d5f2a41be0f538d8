// `tenantry create-team --from teams.yaml` (and `tenantry import`): many teams in one change.
// Each team is planned as create-team plans it (planCreateTeam), against the admin repo with
// the teams before it laid over it in memory (PlannedRepo): the repo's files and team specs
// are read once, not once per team. Each planned overlay is built with the real kustomize
// (through the build service, from memory) while the next teams are planned; only
// when every build stands is the whole change written, as one atomic change (with one commit
// when asked). Otherwise nothing is written and every problem of every team is named at once.

import { buildObjects } from "../build/kustomize.js";
import { BuildError } from "../build/service.js";
import { ValidationError } from "../errors.js";
import { APP_LABEL, instanceObjectProblems } from "../model/apps.js";
import type { ClusterConfig } from "../model/cluster-config.js";
import type { TeamOptions, TeamSpec } from "../model/team-spec.js";
import { teamDir, type Templates } from "../render/repos.js";
import { beginChanges, type ChangeSet, diffChanges, type RepoFiles, recoverRepo, summarizeChanges } from "../repo/changes.js";
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

interface BuildOutcome {
  readonly objects: number;
  readonly problems: readonly string[];
  readonly error?: { readonly e: unknown };
}

/** What a build reads of a team's spec: its name and app instances. */
type BuiltTeam = Pick<TeamSpec, "name" | "apps">;

/** The team whose overlay holds root-relative `path` (cluster/<team>/...), if any. */
function teamOfPath(path: string): string | null {
  const m = /^cluster\/([^/]+)\//.exec(path);
  return m === null ? null : (m[1] ?? null);
}

/**
 * The planned overlays, each built with the real kustomize (the build service) as soon as it
 * is planned, from memory: the build reads the team's planned files from its request and
 * anything else (the app templates its instances use) from the admin repo, as it is. The
 * builds run in the Go helpers while this process plans the next teams, and nothing is
 * written anywhere until every build stands. A later team's plan may change a file of a team
 * already built (the policies of a team that lets it in, --allow-from): that team is built
 * again at the end.
 */
export class OverlayBuilds {
  /**
   * Each team's latest build: its object count and problems (a stale build's are dropped), or
   * an error that is no problem of the team's (no build service): settle throws it. Never rejects.
   */
  private readonly builds = new Map<string, Promise<BuildOutcome>>();
  private readonly stale = new Set<string>();
  /** Each planned team's files (cluster/<team>/...) as planned so far. */
  private readonly files = new Map<string, Map<string, string>>();

  constructor(private readonly root: string) {}

  /** Takes a planned team's files (its overlay is among them; `deletes`: what its plan removes) and starts its build. */
  lay(spec: BuiltTeam, desired: ReadonlyMap<string, string>, deletes: readonly string[]): void {
    for (const p of deletes) {
      for (const files of this.files.values()) {
        for (const f of files.keys()) if (f === p || f.startsWith(`${p}/`)) files.delete(f);
      }
      this.touched(p);
    }
    for (const [p, text] of desired) {
      // The team's own files, and those of teams planned before; no other file is built.
      const team = teamOfPath(p);
      if (team === null || (team !== spec.name && !this.builds.has(team))) continue;
      let files = this.files.get(team);
      if (files === undefined) {
        files = new Map();
        this.files.set(team, files);
      }
      files.set(p, text);
      this.touched(p);
    }
    this.start(spec);
  }

  /**
   * Once every build (and rebuild of a stale one) has settled: each team's object count, in
   * `specs`' order, and the problems of the builds that stand.
   */
  async settle(specs: readonly BuiltTeam[]): Promise<{ readonly objects: number[]; readonly problems: string[] }> {
    await Promise.all(this.builds.values());
    for (const spec of specs.filter((s) => this.stale.has(s.name))) this.start(spec);
    const results = await Promise.all(specs.map((s) => this.builds.get(s.name) ?? Promise.resolve<BuildOutcome>({ objects: 0, problems: [] })));
    const failed = results.find((r) => r.error !== undefined);
    if (failed?.error !== undefined) throw failed.error.e;
    return { objects: results.map((r) => r.objects), problems: results.flatMap((r) => r.problems) };
  }

  /** Waits for every build still running (after a planning error: nothing outlives the command). */
  async drain(): Promise<void> {
    await Promise.all(this.builds.values());
  }

  private touched(path: string): void {
    const team = teamOfPath(path);
    if (team !== null && this.builds.has(team)) this.stale.add(team);
  }

  private start(spec: BuiltTeam): void {
    this.stale.delete(spec.name);
    const previous = this.builds.get(spec.name);
    // The files as they are now: a later plan's change to them is a rebuild's.
    const files = new Map(this.files.get(spec.name));
    // A rebuild waits for the build it replaces: two builds of one overlay never race.
    const build = (previous ?? Promise.resolve()).then(async () => {
      try {
        const objects = await buildObjects({ root: this.root, dir: teamDir(spec.name), files, limits: { checkoutBytes: 0 } });
        const problems = objects.flatMap((o) => {
          const app = spec.apps.find((a) => a.name === o.metadata.labels?.[APP_LABEL]);
          return app === undefined ? [] : instanceObjectProblems(spec.name, app.name, app.template, [o]).map((p) => `team ${spec.name}: ${p}`);
        });
        return { objects: objects.length, problems };
      } catch (e) {
        if (e instanceof ValidationError || e instanceof BuildError) return { objects: 0, problems: problemsOf(spec.name, e) };
        return { objects: 0, problems: [], error: { e } };
      }
    });
    this.builds.set(spec.name, build);
  }
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
  const plans: { spec: TeamSpec; created: boolean }[] = [];
  const every = Math.max(1, Math.ceil(entries.length / 10));
  const planned = new Set<string>();
  const builds = new OverlayBuilds(root);
  try {
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
        builds.lay(plan.spec, plan.desired, plan.changes.deletes);
        plans.push({ spec: plan.spec, created: plan.created });
      } catch (err) {
        problems.push(...problemsOf(e.team, err));
      }
      // Planning is synchronous: the event loop must run for the builds to be sent to the helpers and their answers read.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if ((i + 1) % every === 0 && entries.length >= 50) flags.progress?.(`planned ${String(i + 1)}/${String(entries.length)} teams (their overlays building meanwhile)`);
    }
    flags.progress?.(`building the last of ${String(plans.length)} overlays`);
    const built = await builds.settle(plans.map((p) => p.spec));
    const objects = built.objects;
    problems.push(...built.problems);
    if (problems.length > 0) throw new ValidationError(problems);
    const changes = repo.changes(root);
    const summary = summarizeChanges(root, changes);
    if (flags.dryRun) return { teams: teamsOf(plans, objects), changes, summary, commit: null, recovered };
    const names = plans.map((p) => p.spec.name);
    flags.progress?.(`writing ${String(changes.writes.size)} files`);
    const tx = beginChanges(root, changes, `create ${String(names.length)} teams in ${root}`);
    const paths = [...changes.writes.keys(), ...changes.deletes];
    const commit = flags.commit && paths.length > 0 ? await commitChange(tx, flags.message ?? `tenantry: create or update ${names.length === 1 ? `team ${names[0] ?? ""}` : `${String(names.length)} teams (${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""})`}`, paths) : null;
    tx.finish();
    return { teams: teamsOf(plans, objects), changes, summary, commit: commit?.hash ?? null, recovered };
  } finally {
    await builds.drain();
  }
}

function teamsOf(plans: readonly { readonly spec: TeamSpec; readonly created: boolean }[], objects: readonly number[]): CreateTeamsResult["teams"] {
  return plans.map((p, i) => ({ spec: p.spec, created: p.created, objects: objects[i] ?? 0 }));
}
