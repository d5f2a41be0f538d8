// `tenantry app create|delete|upgrade`: an app instance is part of its team's spec (team.yaml's
// `apps`), so each command is a create-team of the team with its instances changed: the same
// checks (collisions, the tier's quota, safe deletion through tombstones), the same real build
// and the same all-or-nothing write. `upgrade --template` renders every instance of a template
// again, across teams, in one change.

import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { stringify } from "yaml";
import { ValidationError } from "../errors.js";
import { mapLimit } from "../concurrency.js";
import { buildDir } from "../build/kustomize.js";
import { buildInstance } from "../build/instance.js";
import { type AppInstance, type AppTemplate, instanceNameProblems, instanceObjectProblems, resolveValues, templateFile, templateNameProblems } from "../model/apps.js";
import { MANAGED_BY_LABEL } from "../model/labels.js";
import { addResource, removeField, removeResource } from "../repo/kustomization.js";
import { readRepoFile } from "../repo/changes.js";
import type { Commit } from "../repo/commit.js";
import { teamNameProblems } from "../model/names.js";
import type { TeamSpec } from "../model/team-spec.js";
import { readAppCatalog } from "../repo/apps.js";
import { readTeamSpec } from "../repo/admin-repo.js";
import { beginChanges, type ChangeSet, diffChanges, summarizeChanges } from "../repo/changes.js";
import { commitChange } from "../repo/commit.js";
import type { Templates } from "../render/repos.js";
import { buildOverlay, createTeam, type CreateTeamFlags, type CreateTeamResult, deletedBy, planCreateTeam, repoView } from "./team.js";

export interface AppResult extends CreateTeamResult {
  readonly instance: AppInstance;
  readonly template: AppTemplate;
  /** For a template of delivery team: the team repo checkout written (its change summary), or null. */
  readonly teamRepo: string | null;
  readonly teamRepoSummary: readonly string[];
}

/** Where an instance of delivery team lives in its team's repo. */
export function teamRepoInstanceDir(instance: string): string {
  return `apps/${instance}`;
}

const TEAM_ROOT = "kustomization.yaml";

/**
 * The instance's objects as the team's repo gets them (delivery team): the template's base
 * built with the instance's values into namespace `<team>-<instance>` (in a scratch copy of
 * the template), labelled as the instance but not as tenantry's (the team owns them from now
 * on), as apps/<instance>/ with its kustomization; the repo's root kustomization lists it and
 * loses a `namespace:` field (it would move the instance home; an object without a namespace
 * goes home anyway). Problems (no checkout, a cluster-scoped object) are thrown all at once.
 */
async function teamRepoChange(root: string, dir: string, team: string, instance: AppInstance, template: AppTemplate): Promise<ChangeSet> {
  const base = teamRepoInstanceDir(instance.name);
  assertNoLinks(dir, [TEAM_ROOT, "apps", base]);
  const rootText = readRepoFile(dir, TEAM_ROOT);
  if (rootText === null) throw new ValidationError([`--team-repo-dir ${dir} has no ${TEAM_ROOT}: give a checkout of team ${team}'s repo`]);
  const objects = await buildInstance(root, team, instance, template);
  const strays = instanceObjectProblems(team, instance.name, template.name, objects);
  if (strays.length > 0) throw new ValidationError(strays);
  const rootWithout = removeField(rootText, TEAM_ROOT, "namespace");
  if (rootWithout !== rootText) await assertNamespaceDropSafe(dir, team, rootWithout);
  const owned = objects.map((o) => ({ ...o, metadata: { ...o.metadata, labels: Object.fromEntries(Object.entries(o.metadata.labels ?? {}).filter(([k]) => k !== MANAGED_BY_LABEL)) } }));
  const header = `# App instance ${instance.name} (template ${template.name}, ${templateFile(template.name)} ${template.digest}), handed to team ${team} by \`tenantry app\`: yours to change.\n`;
  const writes = new Map<string, string>([
    [`${base}/kustomization.yaml`, `${header}apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - resources.yaml\n`],
    [`${base}/resources.yaml`, header + owned.map((o) => stringify(o, { lineWidth: 0 })).join("---\n")],
    [TEAM_ROOT, addResource(rootWithout, TEAM_ROOT, base)],
  ]);
  return { writes: diffChanges(dir, writes), deletes: [] };
}

/** Refuses a symbolic link at any of `paths` in the team repo checkout: a write or delete there would land outside it. */
function assertNoLinks(dir: string, paths: readonly string[]): void {
  const links = paths.filter((p) => {
    try {
      return lstatSync(join(dir, p)).isSymbolicLink();
    } catch {
      return false; // absent: written as a plain file or directory
    }
  });
  if (links.length > 0) throw new ValidationError(links.map((p) => `--team-repo-dir ${dir}: ${p} is a symbolic link: tenantry writes only plain files and directories of the checkout; replace it or pick the right checkout`));
}

/**
 * The team repo's root kustomization loses its `namespace:` (it would move the instance into
 * the home namespace). Refused when that would move one of the repo's own objects elsewhere:
 * built before and after (the build service, in a scratch copy), every object must stay in the
 * home namespace or have none (the agent puts it home).
 */
async function assertNamespaceDropSafe(dir: string, team: string, rootWithout: string): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-team-repo-"));
  try {
    cpSync(dir, scratch, { recursive: true, dereference: false, verbatimSymlinks: true, filter: (src) => !src.split(sep).includes(".git") });
    writeFileSync(join(scratch, TEAM_ROOT), rootWithout);
    const moved = (await buildDir(scratch)).filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== team);
    if (moved.length === 0) return;
    throw new ValidationError(moved.map((o) => `--team-repo-dir ${dir}: ${o.kind} ${o.metadata.name} names namespace ${o.metadata.namespace ?? ""}, which the root kustomization's \`namespace: ${team}\` overrides today; tenantry drops that line to hand over the instance: put ${o.kind} ${o.metadata.name} in namespace ${team} (or remove its namespace) first`));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The team repo's change when an instance of delivery team goes: its directory and line. */
function teamRepoRemoval(dir: string, instance: string): ChangeSet {
  const base = teamRepoInstanceDir(instance);
  assertNoLinks(dir, [TEAM_ROOT, "apps", base]);
  const rootText = readRepoFile(dir, TEAM_ROOT);
  const writes = new Map<string, string>();
  if (rootText !== null) {
    const next = removeResource(rootText, TEAM_ROOT, base);
    if (next !== rootText) writes.set(TEAM_ROOT, next);
  }
  if (!existsSync(join(dir, base))) return { writes, deletes: [] };
  // The last instance gone: apps/ goes too (git keeps no empty directory, nor should the checkout).
  const siblings = readdirSync(join(dir, "apps"));
  return { writes, deletes: [siblings.length === 1 ? "apps" : base] };
}

/**
 * Runs the admin repo's change with the team repo's beside it, all or nothing: the team repo
 * is written (and committed) first and undone when the admin repo's change fails.
 */
async function withTeamRepo<T>(dir: string | null, change: ChangeSet | null, message: string, commit: boolean, admin: () => Promise<T>): Promise<{ result: T; summary: readonly string[] }> {
  if (dir === null || change === null || change.writes.size + change.deletes.length === 0) return { result: await admin(), summary: [] };
  const summary = summarizeChanges(dir, change);
  const tx = beginChanges(dir, change, `hand an app instance to the team repo in ${dir}`);
  let done: Commit | null = null;
  try {
    if (commit) done = await commitChange(tx, message, [...change.writes.keys(), ...change.deletes]);
    const result = await admin();
    tx.finish();
    return { result, summary };
  } catch (e) {
    await done?.undo();
    tx.undo();
    throw e;
  }
}

/** Problems with the team named (unknown, unreadable): the team's spec when there are none. */
function teamOf(root: string, team: string, problems: string[]): TeamSpec | null {
  const named = teamNameProblems(team);
  if (named.length > 0) {
    problems.push(...named);
    return null;
  }
  try {
    const spec = readTeamSpec(root, team);
    if (spec === null) problems.push(`unknown team "${team}": \`tenantry list\` shows the teams of this admin repo`);
    return spec;
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.problems);
    return null;
  }
}

/** The template named, or problems naming what there is. */
function templateOf(root: string, template: string, problems: string[]): AppTemplate | null {
  const named = templateNameProblems(template);
  if (named.length > 0) {
    problems.push(...named);
    return null;
  }
  const { catalog, broken } = readAppCatalog(root);
  const found = catalog.get(template);
  if (found !== undefined) return found;
  const why = broken.get(template);
  if (why !== undefined) problems.push(...why);
  else problems.push(`unknown app template "${template}": ${catalog.size === 0 ? "the admin repo has none (apps/<template>/template.yaml)" : `the admin repo has ${[...catalog.keys()].join(", ")}`}`);
  return null;
}

/**
 * Plans the team with `apps` and throws every problem at once: `early` (the request's own)
 * together with what create-team's planning finds (collisions, quota, values), so a bad
 * request is answered in one go.
 */
function assertPlannable(t: Templates, root: string, team: string, apps: readonly AppInstance[] | null, early: readonly string[]): void {
  const problems = [...early];
  if (apps !== null) {
    try {
      planCreateTeam(t, root, team, { apps });
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new ValidationError([...new Set(problems)]);
}

/** `app create <team> <template> <instance> --set k=v…`. */
export async function createApp(t: Templates, root: string, team: string, templateName: string, instanceName: string, sets: readonly string[], flags: CreateTeamFlags): Promise<AppResult> {
  const problems: string[] = [];
  const spec = teamOf(root, team, problems);
  const template = templateOf(root, templateName, problems);
  if (teamNameProblems(team).length === 0) problems.push(...instanceNameProblems(team, instanceName));
  if (spec !== null && spec.apps.some((a) => a.name === instanceName)) problems.push(`app instance ${instanceName} of team ${team} exists already (template ${spec.apps.find((a) => a.name === instanceName)?.template ?? "?"}): change it with tenantry app upgrade ${team} ${instanceName} --set k=v`);
  let instance: AppInstance | null = null;
  if (template !== null) {
    const values = resolveValues(template, {}, sets);
    problems.push(...values.problems);
    instance = { name: instanceName, template: templateName, values: values.given, templateDigest: template.digest };
  }
  const repoDir = flags.teamRepoDir === undefined ? null : resolve(flags.teamRepoDir);
  if (template?.delivery === "team" && repoDir === null) problems.push(`template ${templateName} hands its objects to the team's repo (delivery team): pass --team-repo-dir <a checkout of team ${team}'s repo>`);
  if (template?.delivery === "admin" && repoDir !== null) problems.push(`template ${templateName}'s objects are the admin repo's (delivery admin): leave out --team-repo-dir`);
  const apps = spec !== null && instance !== null && instanceNameProblems(team, instanceName).length === 0 && !spec.apps.some((a) => a.name === instanceName) ? [...spec.apps, instance] : null;
  assertPlannable(t, root, team, apps, problems);
  if (apps === null || instance === null || template === null) throw new Error("unreachable: a plannable app has a team, template and instance");
  const handed = template.delivery === "team" && repoDir !== null ? await teamRepoChange(root, repoDir, team, instance, template) : null;
  const teamRepoAt = flags.dryRun ? null : repoDir;
  const { result, summary } = await withTeamRepo(teamRepoAt, handed, `tenantry: app instance ${instanceName} (template ${templateName})`, flags.commit, () => createTeam(t, root, team, { apps }, { ...flags, teamRepoDir: undefined }));
  return { ...result, instance, template, teamRepo: handed === null ? null : repoDir, teamRepoSummary: flags.dryRun && handed !== null && repoDir !== null ? summarizeChanges(repoDir, handed) : summary };
}

/** `app upgrade <team> <instance> [--set k=v…] [--unset k…]`: the instance rendered again from its template as it is now. */
export async function upgradeApp(t: Templates, root: string, team: string, instanceName: string, sets: readonly string[], unset: readonly string[], flags: CreateTeamFlags): Promise<AppResult> {
  const problems: string[] = [];
  const spec = teamOf(root, team, problems);
  const current = spec?.apps.find((a) => a.name === instanceName);
  if (spec !== null && current === undefined) problems.push(`team ${team} has no app instance ${instanceName}: tenantry app list shows them`);
  const template = current === undefined ? null : templateOf(root, current.template, problems);
  let apps: AppInstance[] | null = null;
  let instance: AppInstance | null = null;
  if (spec !== null && current !== undefined && template !== null) {
    const kept = Object.fromEntries(Object.entries(current.values).filter(([k]) => !unset.includes(k)));
    for (const k of unset) if (!Object.hasOwn(current.values, k)) problems.push(`--unset ${k}: app instance ${instanceName} has no value ${k} set`);
    const values = resolveValues(template, kept, sets);
    problems.push(...values.problems);
    instance = { ...current, values: values.given, templateDigest: template.digest };
    apps = spec.apps.map((a) => (a.name === instanceName ? (instance as AppInstance) : a));
  }
  const repoDir = flags.teamRepoDir === undefined ? null : resolve(flags.teamRepoDir);
  if (template?.delivery === "admin" && repoDir !== null) problems.push(`template ${template.name}'s objects are the admin repo's (delivery admin): leave out --team-repo-dir`);
  assertPlannable(t, root, team, apps, problems);
  if (apps === null || instance === null || template === null) throw new Error("unreachable: a plannable upgrade has its instance");
  // Delivery team: the team's repo gets the new render only when its checkout is given (it is theirs now).
  const handed = template.delivery === "team" && repoDir !== null ? await teamRepoChange(root, repoDir, team, instance, template) : null;
  const { result, summary } = await withTeamRepo(flags.dryRun ? null : repoDir, handed, `tenantry: upgrade app instance ${instanceName} (template ${template.name})`, flags.commit, () => createTeam(t, root, team, { apps }, { ...flags, teamRepoDir: undefined }));
  return { ...result, instance, template, teamRepo: handed === null ? null : repoDir, teamRepoSummary: flags.dryRun && handed !== null && repoDir !== null ? summarizeChanges(repoDir, handed) : summary };
}

/** `app delete <team> <instance>`: its namespace goes under the tombstone rules (create-team's beforeRemoving reads what it holds). */
export async function deleteApp(t: Templates, root: string, team: string, instanceName: string, flags: CreateTeamFlags): Promise<CreateTeamResult & { readonly instance: AppInstance; readonly teamRepoSummary: readonly string[] }> {
  const problems: string[] = [];
  const spec = teamOf(root, team, problems);
  const instance = spec?.apps.find((a) => a.name === instanceName);
  if (spec !== null && instance === undefined) problems.push(`team ${team} has no app instance ${instanceName}: tenantry app list shows them`);
  if (problems.length > 0 || spec === null || instance === undefined) throw new ValidationError(problems);
  const repoDir = flags.teamRepoDir === undefined ? null : resolve(flags.teamRepoDir);
  if (repoDir !== null && readAppCatalog(root).catalog.get(instance.template)?.delivery !== "team") {
    throw new ValidationError([`app instance ${instanceName} (template ${instance.template}) was not handed to the team's repo (delivery admin): leave out --team-repo-dir`]);
  }
  const removal = repoDir === null ? null : teamRepoRemoval(repoDir, instanceName);
  const { result, summary } = await withTeamRepo(flags.dryRun ? null : repoDir, removal, `tenantry: remove app instance ${instanceName}`, flags.commit, () => createTeam(t, root, team, { apps: spec.apps.filter((a) => a.name !== instanceName) }, { ...flags, teamRepoDir: undefined }));
  return { ...result, instance, teamRepoSummary: flags.dryRun && removal !== null && repoDir !== null ? summarizeChanges(repoDir, removal) : summary };
}

export interface TemplateUpgrade {
  readonly template: string;
  readonly delivery: AppTemplate["delivery"];
  /** `team/instance` of every instance rendered again. */
  readonly instances: readonly string[];
  readonly changes: ChangeSet;
  readonly summary: readonly string[];
  readonly commit: string | null;
}

/**
 * `app upgrade --template <template>`: every instance of it, in every team, rendered again from
 * the template as it is now, each build checked, all in one change (nothing is written when any
 * team cannot take it).
 */
export async function upgradeTemplate(t: Templates, root: string, templateName: string, flags: { readonly dryRun: boolean; readonly commit: boolean }): Promise<TemplateUpgrade> {
  const problems: string[] = [];
  const template = templateOf(root, templateName, problems);
  if (template === null) throw new ValidationError(problems);
  // One view of the repo for every team's plan: each plan read every spec again (quadratic in teams).
  const view = repoView(root);
  const teams = view.specs().filter((s) => s.apps.some((a) => a.template === templateName));
  const by = await deletedBy(root);
  const writes = new Map<string, string>();
  const deletes: string[] = [];
  const instances: string[] = [];
  const builds: { overlay: ReadonlyMap<string, string>; team: string }[] = [];
  for (const spec of teams) {
    try {
      const apps = spec.apps.map((a) => (a.template === templateName ? { ...a, templateDigest: template.digest } : a));
      const plan = planCreateTeam(t, root, spec.name, { apps }, { now: new Date(), by }, false, view);
      for (const [p, c] of plan.changes.writes) writes.set(p, c);
      deletes.push(...plan.changes.deletes);
      builds.push({ overlay: plan.overlay, team: spec.name });
      instances.push(...spec.apps.filter((a) => a.template === templateName).map((a) => `${spec.name}/${a.name}`));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new ValidationError([...new Set(problems)]);
  await mapLimit(builds, 8, (b) => buildOverlay(b.overlay, b.team, root));
  const changes: ChangeSet = { writes, deletes: [...new Set(deletes)] };
  const summary = summarizeChanges(root, changes);
  if (flags.dryRun || summary.length === 0) return { template: templateName, delivery: template.delivery, instances, changes, summary, commit: null };
  const tx = beginChanges(root, changes, `upgrade the instances of app template ${templateName} in ${root}`);
  const commit = flags.commit ? await commitChange(tx, `tenantry: upgrade the instances of app template ${templateName} (${templateFile(templateName)} ${template.digest})`, [...writes.keys(), ...changes.deletes]) : null;
  tx.finish();
  return { template: templateName, delivery: template.delivery, instances, changes, summary, commit: commit?.hash ?? null };
}
