// `tenantry create-team` and `delete-team`: plan the change to the admin repo purely,
// validate it (all problems at once, then the real kustomize build of the overlay in a
// temporary directory), and only then write it.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import type { ClusterConfig } from "../model/cluster-config.js";
import { teamNameProblems } from "../model/names.js";
import { resolveTeamSpec, type TeamOptions, type TeamSpec } from "../model/team-spec.js";
import { buildDir, buildObjects } from "../build/kustomize.js";
import { type KubeObject } from "../model/object.js";
import { extensionsFile, extensionsStub, renderTeamOverlay, renderTeamRepo, teamDir, type Templates } from "../render/repos.js";
import { applyChanges, type ChangeSet, diffChanges, readRepoFile, summarizeChanges } from "../repo/changes.js";
import { setTeamOwners } from "../repo/codeowners.js";
import { commitAll, initAndCommit } from "../repo/git.js";
import { addResource, listResources, removeResource } from "../repo/kustomization.js";
import { readClusterConfig, readTeamSpec, readTeamsKustomization, TEAMS_KUSTOMIZATION } from "../repo/admin-repo.js";
import { generatedVersions } from "../toolchain.js";

const CODEOWNERS = "CODEOWNERS";

export interface TeamChange {
  readonly spec: TeamSpec;
  readonly created: boolean;
  readonly changes: ChangeSet;
  /** "create|update|delete <path>" lines, computed before anything was written. */
  readonly summary: readonly string[];
}

function assertTeamName(team: string): void {
  const problems = teamNameProblems(team);
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Files the overlay templates can produce; those no longer rendered are deleted (never the hand-written extensions). */
function stalePaths(root: string, team: string, rendered: ReadonlyMap<string, string>): string[] {
  const dir = join(root, teamDir(team));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => `${teamDir(team)}/${f}`)
    .filter((p) => !rendered.has(p) && p !== extensionsFile(team) && /\.ya?ml$/.test(p));
}

/** The overlay as it will be built: the render, plus the extensions file (as written, or a stub) while any are declared. */
function withExtensions(root: string, spec: TeamSpec, rendered: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (spec.extensions.length === 0) return rendered;
  const file = extensionsFile(spec.name);
  return new Map([...rendered, [file, readRepoFile(root, file) ?? extensionsStub(spec)]]);
}

/** Plans create-team without writing anything; throws on any invalid input. */
export function planCreateTeam(
  t: Pick<Templates, "partials" | "overlay">,
  root: string,
  team: string,
  options: TeamOptions,
): TeamChange & { readonly config: ClusterConfig; readonly overlay: ReadonlyMap<string, string> } {
  assertTeamName(team);
  const config = readClusterConfig(root);
  const existing = readTeamSpec(root, team);
  const spec = resolveTeamSpec(team, options, existing, config);
  const overlay = withExtensions(root, spec, renderTeamOverlay(t, config, spec, generatedVersions()));
  const desired = new Map(overlay);
  desired.set(TEAMS_KUSTOMIZATION, addResource(readTeamsKustomization(root), TEAMS_KUSTOMIZATION, `../${team}`));
  const owners = readRepoFile(root, CODEOWNERS);
  if (owners !== null) desired.set(CODEOWNERS, setTeamOwners(owners, team, true, config.platformTeam));
  const changes: ChangeSet = { writes: diffChanges(root, desired), deletes: stalePaths(root, team, overlay) };
  return { spec, created: existing === null, changes, summary: summarizeChanges(root, changes), config, overlay };
}

/** Builds the overlay with the real kustomize in a scratch directory: the render must be valid. */
export async function buildOverlay(overlay: ReadonlyMap<string, string>, team: string): Promise<KubeObject[]> {
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-overlay-"));
  try {
    const prefix = `${teamDir(team)}/`;
    const files = new Map([...overlay].map(([p, c]) => [p.slice(prefix.length), c]));
    applyChanges(scratch, { writes: files, deletes: [] });
    return await buildDir(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface CreateTeamFlags {
  readonly dryRun: boolean;
  readonly commit: boolean;
  readonly teamRepoDir?: string | undefined;
}

export interface CreateTeamResult extends TeamChange {
  readonly objects: number;
  readonly commit: string | null;
  readonly teamRepo: string | null;
}

function assertUsableRepoDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ValidationError([`--team-repo-dir ${dir} is not empty: choose an empty or new directory`]);
  }
}

/** Writes and commits the team's own repo in a staging directory, then moves it into place. */
async function scaffoldTeamRepo(tree: ReadonlyMap<string, string>, dir: string, team: string): Promise<void> {
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.tenantry-`);
  try {
    applyChanges(staging, { writes: tree, deletes: [] });
    await initAndCommit(staging, `tenantry: scaffold the repo of team ${team}`);
    chmodSync(staging, 0o755); // mkdtemp makes it 0700
    if (existsSync(dir)) rmdirSync(dir);
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export async function createTeam(
  t: Templates,
  root: string,
  team: string,
  options: TeamOptions,
  flags: CreateTeamFlags,
): Promise<CreateTeamResult> {
  const plan = planCreateTeam(t, root, team, options);
  const repoDir = flags.teamRepoDir === undefined ? null : resolve(flags.teamRepoDir);
  if (repoDir !== null) assertUsableRepoDir(repoDir);
  const objects = await buildOverlay(plan.overlay, team);
  if (flags.dryRun) return { ...plan, objects: objects.length, commit: null, teamRepo: null };

  if (repoDir !== null) await scaffoldTeamRepo(renderTeamRepo(t, plan.config, plan.spec, generatedVersions()), repoDir, team);
  applyChanges(root, plan.changes);
  let commit: string | null = null;
  if (flags.commit && (plan.changes.writes.size > 0 || plan.changes.deletes.length > 0)) {
    const verb = plan.created ? "create" : "update";
    commit = await commitAll(root, `tenantry: ${verb} team ${team}`, [...plan.changes.writes.keys(), ...plan.changes.deletes]);
  }
  return { ...plan, objects: objects.length, commit, teamRepo: repoDir };
}

export interface DeleteTeamResult {
  readonly team: string;
  /** What the reconciler will prune once this is pushed. */
  readonly pruned: readonly KubeObject[];
  readonly changes: ChangeSet;
  readonly summary: readonly string[];
  readonly commit: string | null;
}

export async function deleteTeam(root: string, team: string, flags: { dryRun: boolean; commit: boolean }): Promise<DeleteTeamResult> {
  assertTeamName(team);
  const config = readClusterConfig(root);
  const kustomization = readTeamsKustomization(root);
  const listed = listResources(kustomization, TEAMS_KUSTOMIZATION).includes(`../${team}`);
  const dirExists = existsSync(join(root, teamDir(team)));
  if (!listed && !dirExists) {
    throw new TenantryError(`unknown team "${team}": \`tenantry list\` shows the teams of this admin repo`, ExitCode.invalid);
  }
  const pruned = dirExists ? await buildObjects({ root, dir: teamDir(team) }) : [];
  const writes = new Map<string, string>();
  const after = removeResource(kustomization, TEAMS_KUSTOMIZATION, `../${team}`);
  if (after !== kustomization) writes.set(TEAMS_KUSTOMIZATION, after);
  const owners = readRepoFile(root, CODEOWNERS);
  if (owners !== null) {
    const updated = setTeamOwners(owners, team, false, config.platformTeam);
    if (updated !== owners) writes.set(CODEOWNERS, updated);
  }
  const changes: ChangeSet = { writes, deletes: dirExists ? [teamDir(team)] : [] };
  const summary = summarizeChanges(root, changes);
  if (flags.dryRun) return { team, pruned, changes, summary, commit: null };
  applyChanges(root, changes);
  const commit = flags.commit ? await commitAll(root, `tenantry: delete team ${team}`, [...writes.keys(), ...changes.deletes]) : null;
  return { team, pruned, changes, summary, commit };
}
