// `tenantry create-team` and `delete-team`: plan the change to the admin repo purely,
// validate it (all problems at once, then the real kustomize build of the overlay in a
// temporary directory), and only then write it, all or nothing (repo/atomic.ts): with
// --commit the commit is part of the change, and create-team's team repo is moved into place
// only once the admin repo's change (and commit) stands. delete-team records the deletion as a
// tombstone in the same change (model/tombstones.ts).

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { type ClusterConfig, fluxUrlProblems } from "../model/cluster-config.js";
import { teamNameProblems } from "../model/names.js";
import { namespaceNames, resolveTeamSpec, type TeamOptions, type TeamSpec } from "../model/team-spec.js";
import { type AppCatalog, APP_LABEL, type AppTemplate, APPS_DIR, instanceObjectProblems, teamAppProblems } from "../model/apps.js";
import { readAppCatalog } from "../repo/apps.js";
import { buildObjects } from "../build/kustomize.js";
import { type KubeObject } from "../model/object.js";
import { ageRecipientsFile, extensionsFile, extensionsStub, renderTeamOverlay, renderTeamRepo, teamDir, type Templates } from "../render/repos.js";
import { errnoReason } from "../repo/atomic.js";
import { applyChanges, beginChanges, type ChangeSet, diffChanges, diskFiles, listedFiles, readRepoFile, type RepoFiles, recoverRepo, summarizeChanges } from "../repo/changes.js";
import { setTeamOwners } from "../repo/codeowners.js";
import { type Commit, commitChange, gitUserEmail } from "../repo/commit.js";
import { initAndCommit } from "../repo/git.js";
import { readTombstonesFile, TOMBSTONES_KUSTOMIZATION, TOMBSTONES_KUSTOMIZATION_TEXT, tombstonesWiring } from "../repo/tombstones-file.js";
import { releasedNamespace, releasedNamespaceEntry, releasedNamespacePath, releasedNamespaceTeam } from "../engines/flux-deletion.js";
import { sameTarget, TOMBSTONES_DIR } from "../model/tombstones.js";
import { deletedAt, formatTombstones, TEAM_KIND, teamTombstone, type Tombstone, TOMBSTONES_FILE, withoutTombstone, withTombstone } from "../model/tombstones.js";
import { CONTROLPLANE_KIND, type Isolation } from "../model/controlplane.js";
import { addResource, listResources, removeResource } from "../repo/kustomization.js";
import { readClusterConfig, readTeamSpecs, readTeamSpec, readTeamsKustomization, TEAMS_KUSTOMIZATION, teamSpecPath, teamsKustomizationText } from "../repo/admin-repo.js";
import { parseTeamSpec } from "../model/team-spec.js";
import type { ReadCatalog } from "../repo/apps.js";
import { extraNamespace, namespaceCollisionProblems } from "../model/namespaces.js";
import type { TeamPeers } from "../render/context.js";
import { generatedVersions } from "../toolchain.js";
import { cacheDir, tenantryBuild } from "../paths.js";
import { openSpecMemo } from "../repo/spec-cache.js";
import { withTeamYamlMemo } from "../render/yaml.js";

const CODEOWNERS = "CODEOWNERS";

/** A team's isolation changed: the home it leaves, and the tombstone that releases it. */
export interface IsolationMove {
  readonly from: Isolation;
  readonly tombstone: Tombstone;
}

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
export function stalePaths(root: string, team: string, rendered: ReadonlyMap<string, string>): string[] {
  const dir = join(root, teamDir(team));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => `${teamDir(team)}/${f}`)
    .filter((p) => !rendered.has(p) && p !== extensionsFile(team) && (/\.ya?ml$/.test(p) || p === ageRecipientsFile(team)));
}

/** The overlay as it will be built: the render, plus the extensions file (as written, or a stub) while any are declared. */
export function withExtensions(files: RepoFiles, spec: TeamSpec, rendered: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (spec.extensions.length === 0) return rendered;
  const file = extensionsFile(spec.name);
  return new Map([...rendered, [file, files(file) ?? extensionsStub(spec)]]);
}

/**
 * What planning a team reads from the admin repo: the repo on disk (repoView), or, for
 * create-team --from, the repo with the teams planned so far laid over it (PlannedRepo).
 */
export interface RepoView {
  readonly files: RepoFiles;
  config(): ClusterConfig;
  /** Every team spec, as readTeamSpecs reads them. */
  specs(): readonly TeamSpec[];
  catalog(): ReadCatalog;
}

/** The admin repo at `root` as it is on disk; each part is read on first use. */
export function repoView(root: string): RepoView {
  let config: ClusterConfig | undefined;
  let specs: readonly TeamSpec[] | undefined;
  let catalog: ReadCatalog | undefined;
  return {
    files: listedFiles(root),
    config: () => (config ??= readClusterConfig(root)),
    specs: () => (specs ??= readTeamSpecs(root)),
    catalog: () => (catalog ??= readAppCatalog(root)),
  };
}

/** Plans create-team without writing anything; throws on any invalid input. */
export function planCreateTeam(
  t: Pick<Templates, "partials" | "overlay" | "cluster">,
  root: string,
  team: string,
  options: TeamOptions,
  who: { readonly now: Date; readonly by: string } = { now: new Date(), by: "unknown" },
  takeOver = false,
  view: RepoView = repoView(root),
): TeamChange & {
  readonly config: ClusterConfig;
  readonly overlay: ReadonlyMap<string, string>;
  readonly moved: IsolationMove | null;
  /** Extra namespaces this change removes: their tombstones (kind Namespace), recorded in the same change. */
  readonly removedNamespaces: readonly Tombstone[];
  /** Extra namespaces this change adds (full names). */
  readonly addedNamespaces: readonly string[];
  /** Every file the change makes what it is (changes.writes is those that differ on disk). */
  readonly desired: ReadonlyMap<string, string>;
} {
  assertTeamName(team);
  const config = view.config();
  const specText = view.files(teamSpecPath(team));
  const existing = specText === null ? null : parseTeamSpec(specText, teamSpecPath(team));
  const others = view.specs().filter((o) => o.name !== team);
  // The team's namespaces against every other team's, named with the spec's own problems: all at once.
  const collisions = namespaceCollisionProblems(
    { name: team, namespaces: namespaceNames({ namespaces: options.namespaces ?? existing?.namespaces ?? [], apps: options.apps ?? existing?.apps ?? [] }) },
    others.map((o) => ({ name: o.name, namespaces: namespaceNames(o) })),
  );
  let spec: TeamSpec;
  try {
    spec = resolveTeamSpec(team, options, existing, config);
  } catch (e) {
    if (!(e instanceof ValidationError) || collisions.length === 0) throw e;
    throw new ValidationError([...e.problems, ...collisions]);
  }
  if (collisions.length > 0) throw new ValidationError(collisions);
  if (config.engine === "flux" && spec.namespaces.length > 0) {
    throw new ValidationError([`--namespaces needs engine tenantry for now: under engine flux the team's Kustomization applies everything into namespace ${team} (targetNamespace); leave --namespaces out, or pass --namespaces ""`]);
  }
  if (config.engine === "flux" && spec.isolation === "controlplane") {
    throw new ValidationError([`--isolation controlplane needs engine tenantry: under engine flux a team's Kustomization cannot apply into another API server yet (docs/isolation.md); this admin repo's engine is flux`]);
  }
  if (config.engine === "flux") {
    const what = options.repoUrl !== undefined ? "--repo-url" : existing !== null ? `cluster/${team}/team.yaml: repoUrl` : "the team's repo URL";
    const problems = fluxUrlProblems(what, spec.repoUrl);
    if (problems.length > 0) throw new ValidationError(problems);
  }
  if (config.engine === "flux" && spec.apps.length > 0) {
    throw new ValidationError([`app instances need engine tenantry for now: under engine flux the team's Kustomization applies everything into namespace ${team} (targetNamespace)`]);
  }
  // The catalog is read (each template's schema compiled) only where a team has instances to render.
  const { catalog, broken } = spec.apps.length > 0 || others.some((o) => o.apps.length > 0) ? view.catalog() : { catalog: new Map<string, AppTemplate>(), broken: new Map<string, readonly string[]>() };
  const tier = config.tiers[spec.tier];
  if (tier !== undefined && spec.apps.length > 0) {
    const problems = teamAppProblems(spec, tier.quota, config.namespaceQuota, catalog, broken);
    if (problems.length > 0) throw new ValidationError(problems);
    // Rendered from the templates as they are now: each instance records which version.
    spec = { ...spec, apps: spec.apps.map((a) => ({ ...a, templateDigest: catalog.get(a.template)?.digest ?? a.templateDigest })) };
  }
  const overlay = withExtensions(view.files, spec, renderTeamOverlay(t, config, spec, generatedVersions(), peersOf(others), catalog));
  const desired = new Map(overlay);
  // Teams that let this one in (--allow-from) let in all its namespaces: their policies follow a change of them.
  for (const [path, text] of allowingTeamsPolicies(t, view.files, config, others, existing, spec, catalog)) desired.set(path, text);
  const teamsKustomization = teamsKustomizationText(view.files(TEAMS_KUSTOMIZATION));
  desired.set(TEAMS_KUSTOMIZATION, addResource(teamsKustomization, TEAMS_KUSTOMIZATION, `../${team}`));
  const owners = view.files(CODEOWNERS);
  if (owners !== null) desired.set(CODEOWNERS, setTeamOwners(owners, team, true, config.platformTeam));
  const tombstones = readTombstonesFile(view.files);
  const adoptions = adoptionProblems(team, existing, spec, tombstones);
  if (adoptions.length > 0 && !takeOver) throw new ValidationError(adoptions);
  const moved = isolationMove(team, existing, spec, tombstones, who);
  const namespaces = namespaceMove(team, existing, spec, moved.tombstones, who);
  if (namespaces.tombstones !== tombstones) {
    desired.set(TOMBSTONES_FILE, formatTombstones(namespaces.tombstones));
    const teams = desired.get(TEAMS_KUSTOMIZATION) ?? teamsKustomization;
    for (const [path, text] of tombstonesWiring(view.files, teams, TEAMS_KUSTOMIZATION)) desired.set(path, text);
  }
  // Under Flux a half-deleted team keeps its Namespace in tombstones/: the overlay renders it again.
  const released = unreleaseNamespaces(view.files, [team]);
  for (const [path, text] of released.writes) desired.set(path, text);
  const changes: ChangeSet = { writes: diffChanges(root, desired, view.files), deletes: [...stalePaths(root, team, overlay), ...staleInstanceDirs(root, team, overlay), ...released.deletes] };
  return {
    spec,
    created: existing === null,
    changes,
    summary: summarizeChanges(root, changes, view.files),
    config,
    overlay,
    moved: moved.from === null || moved.recorded === null ? null : { from: moved.from, tombstone: moved.recorded },
    removedNamespaces: namespaces.removed,
    addedNamespaces: namespaces.added,
    desired,
  };
}

/** The other teams' extra namespaces, for --allow-from (render/context.ts). */
export function peersOf(teams: readonly Pick<TeamSpec, "name" | "namespaces" | "apps">[]): TeamPeers {
  return new Map(teams.filter((t) => namespaceNames(t).length > 0).map((t) => [t.name, namespaceNames(t)]));
}

/** The app instance directories of the team's overlay (cluster/<team>/apps/<instance>) no longer rendered. */
export function staleInstanceDirs(root: string, team: string, rendered: ReadonlyMap<string, string>): string[] {
  const dir = join(root, teamDir(team), APPS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => `${teamDir(team)}/${APPS_DIR}/${f}`)
    .filter((p) => ![...rendered.keys()].some((k) => k.startsWith(`${p}/`)));
}

/**
 * When `spec`'s namespaces change, the network policies of the teams whose --allow-from names
 * it, rendered again so they let in exactly its namespaces; only their network-policies.yaml
 * is written (the rest of their overlays is theirs to render). Nothing when the namespaces stay.
 */
function allowingTeamsPolicies(
  t: Pick<Templates, "partials" | "overlay" | "cluster">,
  files: RepoFiles,
  config: ClusterConfig,
  others: readonly TeamSpec[],
  existing: TeamSpec | null,
  spec: TeamSpec,
  catalog: AppCatalog,
): Map<string, string> {
  const writes = new Map<string, string>();
  if (existing !== null && namespaceNames(existing).join(",") === namespaceNames(spec).join(",")) return writes;
  const peers = peersOf([...others, spec]);
  for (const other of others) {
    if (other.isolation !== "namespace" || !other.allowFrom.includes(spec.name)) continue;
    const file = `${teamDir(other.name)}/network-policies.yaml`;
    if (files(file) === null) continue;
    try {
      const text = renderTeamOverlay(t, config, other, generatedVersions(), peers, catalog).get(file);
      if (text !== undefined) writes.set(file, text);
    } catch {
      // That team cannot be rendered (a tier tenantry.yaml lacks): validate names it.
    }
  }
  return writes;
}

/**
 * Namespaces this change would take that another team's deletion still holds: a new team
 * named like a removed extra namespace (a Namespace tombstone of its name: a new team has no
 * such history of its own), or an extra namespace named like a deleted team (a Team
 * tombstone). Taking the name drops the tombstone, so the namespace would never be deleted and
 * its contents (Secrets, volumes, workloads) would become this team's. Refused unless the
 * namespace is gone (create-team --force). Not caught: an extra namespace named like another
 * team's removed extra namespace (team a adding b-c after team a-b removed c): a Namespace
 * tombstone does not say whose it was.
 */
export function adoptionProblems(team: string, existing: TeamSpec | null, spec: TeamSpec, tombstones: readonly Tombstone[]): string[] {
  const fix = (ns: string): string => `its contents may be another team's: once \`kubectl get namespace ${ns}\` says NotFound, pass --force to take the name (its tombstone is dropped), or pick another name`;
  const problems: string[] = [];
  if (existing === null && tombstones.some((t) => t.kind === "Namespace" && t.name === team)) {
    problems.push(`namespace ${team} is waiting to be deleted (tombstone Namespace ${team} in ${TOMBSTONES_FILE}): ${fix(team)}`);
  }
  const before = existing === null ? [] : namespaceNames(existing);
  for (const n of namespaceNames(spec).filter((x) => !before.includes(x))) {
    const ns = extraNamespace(team, n);
    if (tombstones.some((t) => t.kind === TEAM_KIND && t.name === ns)) problems.push(`namespace ${ns} is deleted team ${ns}'s, waiting to be deleted (tombstone Team ${ns} in ${TOMBSTONES_FILE}): ${fix(ns)}`);
  }
  return problems;
}

/**
 * The tombstones after a change of the team's extra namespaces: a namespace that goes is
 * recorded (kind Namespace, `<team>-<name>`), so the reconciler prunes it instead of holding
 * it as vanished; one that comes back loses its record. The same list when nothing changes.
 */
export function namespaceMove(
  team: string,
  existing: TeamSpec | null,
  spec: TeamSpec,
  tombstones: readonly Tombstone[],
  who: { readonly now: Date; readonly by: string },
): { readonly tombstones: readonly Tombstone[]; readonly removed: readonly Tombstone[]; readonly added: readonly string[] } {
  const before = existing === null || existing.isolation !== "namespace" ? [] : namespaceNames(existing);
  const after = spec.isolation === "namespace" ? namespaceNames(spec) : [];
  let next: readonly Tombstone[] = tombstones;
  for (const n of after) next = withoutTombstone(next, { kind: "Namespace", name: extraNamespace(team, n) });
  const removed = before.filter((n) => !after.includes(n)).map((n): Tombstone => ({ kind: "Namespace", name: extraNamespace(team, n), deletedAt: deletedAt(who.now), by: who.by }));
  for (const r of removed) next = withTombstone(next, r);
  const added = after.filter((n) => !before.includes(n)).map((n) => extraNamespace(team, n));
  const same = next.length === tombstones.length && next.every((x) => tombstones.some((u) => sameTarget(x, u) && u.deletedAt === x.deletedAt && u.by === x.by));
  return { tombstones: same ? tombstones : next, removed, added };
}

/** The host object a team of `isolation` has under its own name: what a tombstone releases. */
export function isolationKind(isolation: Isolation): string {
  return isolation === "controlplane" ? CONTROLPLANE_KIND : "Namespace";
}

/**
 * The tombstones after create-team: a team that comes back is no longer deleted (its Team
 * tombstone goes, so the reconciler guards it again), nor is what it renders again (a
 * Namespace or ControlPlane tombstone of an earlier move); a team whose isolation changes
 * leaves its old home behind, and that deletion is recorded (a Namespace or ControlPlane
 * tombstone), so the reconciler prunes it instead of holding it as a vanished team. The same
 * list when nothing changes.
 */
export function isolationMove(
  team: string,
  existing: TeamSpec | null,
  spec: TeamSpec,
  tombstones: readonly Tombstone[],
  who: { readonly now: Date; readonly by: string },
): { readonly tombstones: readonly Tombstone[]; readonly from: Isolation | null; readonly recorded: Tombstone | null } {
  let next = withoutTombstone(withoutTombstone(tombstones, { kind: TEAM_KIND, name: team }), { kind: isolationKind(spec.isolation), name: team });
  const from = existing !== null && existing.isolation !== spec.isolation ? existing.isolation : null;
  let recorded: Tombstone | null = null;
  if (from !== null) {
    recorded = { kind: isolationKind(from), name: team, deletedAt: deletedAt(who.now), by: who.by };
    next = withTombstone(next, recorded);
  }
  const same = next.length === tombstones.length && next.every((t) => tombstones.some((u) => sameTarget(t, u) && u.deletedAt === t.deletedAt && u.by === t.by));
  return { tombstones: same ? tombstones : next, from, recorded };
}

/**
 * Builds the overlay with the real kustomize: the render must be valid. The build reads the
 * overlay's files from memory (the request) and what its app instances name (apps/<template>/)
 * from the admin repo at `root`; nothing is written. The checkout's size bound is left out: the
 * admin repo is the admin's own, and the build reads only what the overlay names.
 */
export async function buildOverlay(overlay: ReadonlyMap<string, string>, team: string, root: string): Promise<KubeObject[]> {
  return buildObjects({ root, dir: teamDir(team), files: overlay, limits: { checkoutBytes: 0 } });
}

export interface CreateTeamFlags {
  readonly dryRun: boolean;
  readonly commit: boolean;
  readonly teamRepoDir?: string | undefined;
  /**
   * Called with the extra namespaces the change removes (full names), after every check and
   * before anything is written (in a dry run too); throwing stops the change.
   */
  readonly beforeRemoving?: ((namespaces: readonly string[]) => Promise<void>) | undefined;
  /** Take a namespace name another team's deletion still holds (adoptionProblems): --force. */
  readonly takeOver?: boolean | undefined;
}

export interface CreateTeamResult extends TeamChange {
  /** Set when the team's isolation changed: its old home is deleted after the push. */
  readonly moved: IsolationMove | null;
  readonly removedNamespaces: readonly Tombstone[];
  readonly addedNamespaces: readonly string[];
  readonly objects: number;
  readonly commit: string | null;
  readonly teamRepo: string | null;
  /** What an interrupted earlier run left and this one undid or finished. */
  readonly recovered: readonly string[];
}

function assertUsableRepoDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ValidationError([`--team-repo-dir ${dir} is not empty: choose an empty or new directory`]);
  }
}

/** The team's own repo, made and committed beside its destination; `place()` moves it there, `discard()` removes it from either. */
interface StagedRepo {
  place(): void;
  discard(): void;
}

async function stageTeamRepo(tree: ReadonlyMap<string, string>, dir: string, team: string): Promise<StagedRepo> {
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.tenantry-`);
  let placed = false;
  let wasEmptyDir = false;
  const discard = (): void => {
    if (!placed) {
      rmSync(staging, { recursive: true, force: true });
      return;
    }
    // Placed, then the admin repo's change failed after all: the directory is as before.
    rmSync(dir, { recursive: true, force: true });
    if (wasEmptyDir) mkdirSync(dir);
  };
  try {
    applyChanges(staging, { writes: tree, deletes: [] });
    await initAndCommit(staging, `tenantry: scaffold the repo of team ${team}`);
    chmodSync(staging, 0o755); // mkdtemp makes it 0700
  } catch (e) {
    discard();
    throw e;
  }
  return {
    discard,
    place: () => {
      wasEmptyDir = existsSync(dir);
      if (wasEmptyDir) rmdirSync(dir);
      try {
        renameSync(staging, dir);
        placed = true;
      } catch (e) {
        if (wasEmptyDir) mkdirSync(dir);
        throw new TenantryError(`cannot move the team repo into ${dir} (${errnoReason(e)})`, ExitCode.failure);
      }
    },
  };
}

function changedPaths(changes: ChangeSet): string[] {
  return [...changes.writes.keys(), ...changes.deletes];
}

export async function createTeam(
  t: Templates,
  root: string,
  team: string,
  options: TeamOptions,
  flags: CreateTeamFlags,
): Promise<CreateTeamResult> {
  const recovered = flags.dryRun ? [] : recoverRepo(root);
  const who = { now: new Date(), by: await deletedBy(root) };
  // The overlay's texts as earlier create-teams normalised them (render/yaml.ts).
  const memo = openSpecMemo<string>(root, tenantryBuild(), cacheDir(), "team-yaml");
  const plan = withTeamYamlMemo(memo, () => planCreateTeam(t, root, team, options, who, flags.takeOver === true));
  memo.save();
  const repoDir = flags.teamRepoDir === undefined ? null : resolve(flags.teamRepoDir);
  if (repoDir !== null) assertUsableRepoDir(repoDir);
  const objects = await buildOverlay(plan.overlay, team, root);
  const strays = objects.flatMap((o) => {
    const instance = o.metadata.labels?.[APP_LABEL];
    const app = plan.spec.apps.find((a) => a.name === instance);
    return app === undefined ? [] : instanceObjectProblems(team, app.name, app.template, [o]);
  });
  if (strays.length > 0) throw new ValidationError(strays);
  if (plan.removedNamespaces.length > 0 && flags.beforeRemoving !== undefined) await flags.beforeRemoving(plan.removedNamespaces.map((t) => t.name));
  if (flags.dryRun) return { ...plan, objects: objects.length, commit: null, teamRepo: null, recovered };

  // The team repo is made first, out of the way; it is put in place only once the admin repo's
  // change (and commit) stands, so any failure leaves neither behind and a retry starts clean.
  const verb = plan.created ? "create" : "update";
  const staged = repoDir === null ? null : await stageTeamRepo(renderTeamRepo(t, plan.config, plan.spec, generatedVersions()), repoDir, team);
  let commit: Commit | null = null;
  try {
    const tx = beginChanges(root, plan.changes, `${verb} team ${team} in ${root}`);
    // A failed commit undoes the files itself.
    if (flags.commit && changedPaths(plan.changes).length > 0) commit = await commitChange(tx, `tenantry: ${verb} team ${team}`, changedPaths(plan.changes));
    try {
      staged?.place();
    } catch (e) {
      let undone = "the admin repo's change was undone, nothing changed";
      try {
        await commit?.undo();
        tx.undo();
      } catch (u) {
        undone = `and undoing the admin repo's change failed: ${(u as Error).message}`;
      }
      throw new TenantryError(`${(e as Error).message}; ${undone}`, ExitCode.failure);
    }
    tx.finish();
  } catch (e) {
    staged?.discard();
    throw e;
  }
  return { ...plan, objects: objects.length, commit: commit?.hash ?? null, teamRepo: repoDir, recovered };
}

export interface DeleteTeamPlan {
  readonly team: string;
  /** The team's isolation (team.yaml; namespace when it is unreadable): what its tombstone releases. */
  readonly isolation: Isolation;
  /**
   * Under Flux, the path of the team's Namespace kept rendered without the prune-disabled
   * annotation until the next delete-team (engines/flux-deletion.ts); null under tenantry.
   */
  readonly released: string | null;
  /** The team's extra namespaces (full names, team.yaml's `namespaces`): they go with it. */
  readonly namespaces: readonly string[];
  /** What the reconciler will prune once this is pushed (besides everything else in the namespace). */
  readonly pruned: readonly KubeObject[];
  readonly tombstone: Tombstone;
  readonly changes: ChangeSet;
  readonly summary: readonly string[];
}

/** Who asks for a deletion: git's user.email in the admin repo, else the login name. */
export async function deletedBy(root: string): Promise<string> {
  const email = await gitUserEmail(root);
  if (email !== null) return email;
  const user = process.env.USER ?? process.env.LOGNAME;
  if (user !== undefined && user !== "") return user;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Plans delete-team without writing anything: the overlay and its line go, a tombstone is recorded; throws when the team is unknown. */
export async function planDeleteTeam(root: string, team: string, opts: { now?: Date; by?: string } = {}): Promise<DeleteTeamPlan> {
  assertTeamName(team);
  const config = readClusterConfig(root);
  const kustomization = readTeamsKustomization(root);
  const listed = listResources(kustomization, TEAMS_KUSTOMIZATION).includes(`../${team}`);
  const dirExists = existsSync(join(root, teamDir(team)));
  if (!listed && !dirExists) {
    throw new TenantryError(`unknown team "${team}": \`tenantry list\` shows the teams of this admin repo`, ExitCode.invalid);
  }
  const tombstones = readTombstonesFile(diskFiles(root));
  let isolation: Isolation = "namespace";
  let namespaces: readonly string[] = [];
  try {
    const spec = readTeamSpec(root, team);
    isolation = spec?.isolation ?? "namespace";
    namespaces = spec === null ? [] : namespaceNames(spec).map((n) => extraNamespace(team, n));
  } catch {
    // An unreadable team.yaml: the overlay's build below says what goes.
  }
  const pruned = dirExists ? await buildObjects({ root, dir: teamDir(team) }) : [];
  const tombstone = teamTombstone(team, opts.now ?? new Date(), opts.by ?? (await deletedBy(root)));
  const writes = new Map<string, string>();
  const wiring = tombstonesWiring(diskFiles(root), removeResource(kustomization, TEAMS_KUSTOMIZATION, `../${team}`), TEAMS_KUSTOMIZATION);
  for (const [path, text] of wiring) if (path !== TEAMS_KUSTOMIZATION || text !== kustomization) writes.set(path, text);
  // The reconciler releases a namespace by its own name: each extra namespace gets a Namespace tombstone beside the Team's.
  const extra = namespaces.map((name): Tombstone => ({ kind: "Namespace", name, deletedAt: tombstone.deletedAt, by: tombstone.by }));
  writes.set(TOMBSTONES_FILE, formatTombstones([tombstone, ...extra].reduce<readonly Tombstone[]>((list, t) => withTombstone(list, t), tombstones)));
  const owners = readRepoFile(root, CODEOWNERS);
  if (owners !== null) {
    const updated = setTeamOwners(owners, team, false, config.platformTeam);
    if (updated !== owners) writes.set(CODEOWNERS, updated);
  }
  let released: string | null = null;
  const namespaceFile = `${teamDir(team)}/namespace.yaml`;
  const namespaceText = config.engine === "flux" ? readRepoFile(root, namespaceFile) : null;
  if (namespaceText !== null) {
    released = releasedNamespacePath(team);
    writes.set(released, releasedNamespace(namespaceText, team, namespaceFile));
    const tk = readRepoFile(root, TOMBSTONES_KUSTOMIZATION) ?? TOMBSTONES_KUSTOMIZATION_TEXT;
    writes.set(TOMBSTONES_KUSTOMIZATION, addResource(tk, TOMBSTONES_KUSTOMIZATION, releasedNamespaceEntry(team)));
  }
  const changes: ChangeSet = { writes, deletes: dirExists ? [teamDir(team)] : [] };
  return { team, isolation, namespaces, released, pruned, tombstone, changes, summary: summarizeChanges(root, changes) };
}

/** Removes the released Namespaces of `teams` (files and their lines in the tombstones kustomization); nothing when none is there. */
export function unreleaseNamespaces(files: RepoFiles, teams: readonly string[]): ChangeSet {
  const present = teams.filter((t) => files(releasedNamespacePath(t)) !== null);
  const tk = files(TOMBSTONES_KUSTOMIZATION);
  if (present.length === 0) return { writes: new Map(), deletes: [] };
  const writes = new Map<string, string>();
  if (tk !== null) {
    const updated = present.reduce((text, t) => removeResource(text, TOMBSTONES_KUSTOMIZATION, releasedNamespaceEntry(t)), tk);
    if (updated !== tk) writes.set(TOMBSTONES_KUSTOMIZATION, updated);
  }
  return { writes, deletes: present.map(releasedNamespacePath) };
}

/** Teams whose deletion under Flux waits for its second step: their Namespace is still in tombstones/. */
export function pendingDeletions(root: string): string[] {
  const dir = join(root, TOMBSTONES_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map(releasedNamespaceTeam)
    .filter((t): t is string => t !== null)
    .sort();
}

export interface FinishDeletionPlan {
  readonly teams: readonly string[];
  /** The recorded deletions of these teams (tombstones.yaml). */
  readonly tombstones: readonly Tombstone[];
  readonly changes: ChangeSet;
  readonly summary: readonly string[];
}

/**
 * The second step of deleting `teams` under Flux (all pending ones when none is named): their
 * released Namespaces go, so Flux prunes them. Throws when a team has no such step waiting.
 */
export function planFinishDeletion(root: string, teams?: readonly string[]): FinishDeletionPlan {
  const config = readClusterConfig(root);
  const pending = pendingDeletions(root);
  const chosen = teams ?? pending;
  for (const t of chosen) assertTeamName(t);
  const problems = chosen
    .filter((t) => !pending.includes(t))
    .map((t) => `team "${t}" has no deletion to finish: ${releasedNamespacePath(t)} is not there (the first \`tenantry delete-team ${t}\` under engine flux writes it)`);
  if (config.engine !== "flux" && chosen.length > 0) problems.push(`this admin repo's engine is ${config.engine}: the tombstone alone deletes a team; remove ${chosen.map(releasedNamespacePath).join(", ")} (\`tenantry engine set ${config.engine}\` does)`);
  if (problems.length > 0) throw new ValidationError(problems);
  const recorded = readTombstonesFile(diskFiles(root));
  const tombstones = chosen.flatMap((t) => recorded.filter((s) => sameTarget(s, { kind: TEAM_KIND, name: t })));
  const changes = unreleaseNamespaces(diskFiles(root), chosen);
  return { teams: chosen, tombstones, changes, summary: summarizeChanges(root, changes) };
}

/** Whether `delete-team <team>` is the second step of a deletion under Flux (the team is gone but its Namespace is still rendered). */
export function isPendingDeletion(root: string, team: string): boolean {
  if (existsSync(join(root, teamDir(team)))) return false;
  if (listResources(readTeamsKustomization(root), TEAMS_KUSTOMIZATION).includes(`../${team}`)) return false;
  return pendingDeletions(root).includes(team);
}

/** Writes the second step of deletions, all or nothing, with its commit when asked. */
export async function applyFinishDeletion(root: string, plan: FinishDeletionPlan, flags: { commit: boolean }): Promise<string | null> {
  const tx = beginChanges(root, plan.changes, `finish deleting ${plan.teams.join(", ")} in ${root}`);
  const commit = flags.commit && changedPaths(plan.changes).length > 0 ? await commitChange(tx, `tenantry: finish deleting ${plan.teams.length === 1 ? `team ${plan.teams[0] ?? ""}` : `teams ${plan.teams.join(", ")}`}`, changedPaths(plan.changes)) : null;
  tx.finish();
  return commit?.hash ?? null;
}

/** Writes a planned deletion, all or nothing, with its commit when asked; returns the commit. */
export async function applyDeleteTeam(root: string, plan: DeleteTeamPlan, flags: { commit: boolean }): Promise<string | null> {
  const tx = beginChanges(root, plan.changes, `delete team ${plan.team} in ${root}`);
  const commit = flags.commit ? await commitChange(tx, `tenantry: delete team ${plan.team}`, changedPaths(plan.changes)) : null;
  tx.finish();
  return commit?.hash ?? null;
}
