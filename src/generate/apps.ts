// `tenantry app create|delete|upgrade`: an app instance is part of its team's spec (team.yaml's
// `apps`), so each command is a create-team of the team with its instances changed: the same
// checks (collisions, the tier's quota, safe deletion through tombstones), the same real build
// and the same all-or-nothing write. `upgrade --template` renders every instance of a template
// again, across teams, in one change.

import { ValidationError } from "../errors.js";
import { type AppInstance, type AppTemplate, instanceNameProblems, resolveValues, templateFile, templateNameProblems } from "../model/apps.js";
import { teamNameProblems } from "../model/names.js";
import type { TeamSpec } from "../model/team-spec.js";
import { readAppCatalog } from "../repo/apps.js";
import { readTeamSpec, readTeamSpecs } from "../repo/admin-repo.js";
import { beginChanges, type ChangeSet, summarizeChanges } from "../repo/changes.js";
import { commitChange } from "../repo/commit.js";
import type { Templates } from "../render/repos.js";
import { buildOverlay, createTeam, type CreateTeamFlags, type CreateTeamResult, deletedBy, planCreateTeam } from "./team.js";

export interface AppResult extends CreateTeamResult {
  readonly instance: AppInstance;
  readonly template: AppTemplate;
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
  const apps = spec !== null && instance !== null && instanceNameProblems(team, instanceName).length === 0 && !spec.apps.some((a) => a.name === instanceName) ? [...spec.apps, instance] : null;
  assertPlannable(t, root, team, apps, problems);
  if (apps === null || instance === null || template === null) throw new Error("unreachable: a plannable app has a team, template and instance");
  const result = await createTeam(t, root, team, { apps }, { ...flags, teamRepoDir: undefined });
  return { ...result, instance, template };
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
  assertPlannable(t, root, team, apps, problems);
  if (apps === null || instance === null || template === null) throw new Error("unreachable: a plannable upgrade has its instance");
  const result = await createTeam(t, root, team, { apps }, { ...flags, teamRepoDir: undefined });
  return { ...result, instance, template };
}

/** `app delete <team> <instance>`: its namespace goes under the tombstone rules (create-team's beforeRemoving reads what it holds). */
export async function deleteApp(t: Templates, root: string, team: string, instanceName: string, flags: CreateTeamFlags): Promise<CreateTeamResult & { readonly instance: AppInstance }> {
  const problems: string[] = [];
  const spec = teamOf(root, team, problems);
  const instance = spec?.apps.find((a) => a.name === instanceName);
  if (spec !== null && instance === undefined) problems.push(`team ${team} has no app instance ${instanceName}: tenantry app list shows them`);
  if (problems.length > 0 || spec === null || instance === undefined) throw new ValidationError(problems);
  const result = await createTeam(t, root, team, { apps: spec.apps.filter((a) => a.name !== instanceName) }, { ...flags, teamRepoDir: undefined });
  return { ...result, instance };
}

export interface TemplateUpgrade {
  readonly template: string;
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
  const teams = readTeamSpecs(root).filter((s) => s.apps.some((a) => a.template === templateName));
  const by = await deletedBy(root);
  const writes = new Map<string, string>();
  const deletes: string[] = [];
  const instances: string[] = [];
  const builds: { overlay: ReadonlyMap<string, string>; team: string; templates: string[] }[] = [];
  for (const spec of teams) {
    try {
      const apps = spec.apps.map((a) => (a.template === templateName ? { ...a, templateDigest: template.digest } : a));
      const plan = planCreateTeam(t, root, spec.name, { apps }, { now: new Date(), by });
      for (const [p, c] of plan.changes.writes) writes.set(p, c);
      deletes.push(...plan.changes.deletes);
      builds.push({ overlay: plan.overlay, team: spec.name, templates: plan.spec.apps.map((a) => a.template) });
      instances.push(...spec.apps.filter((a) => a.template === templateName).map((a) => `${spec.name}/${a.name}`));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new ValidationError([...new Set(problems)]);
  for (const b of builds) await buildOverlay(b.overlay, b.team, root, b.templates);
  const changes: ChangeSet = { writes, deletes: [...new Set(deletes)] };
  const summary = summarizeChanges(root, changes);
  if (flags.dryRun || summary.length === 0) return { template: templateName, instances, changes, summary, commit: null };
  const tx = beginChanges(root, changes, `upgrade the instances of app template ${templateName} in ${root}`);
  const commit = flags.commit ? await commitChange(tx, `tenantry: upgrade the instances of app template ${templateName} (${templateFile(templateName)} ${template.digest})`, [...writes.keys(), ...changes.deletes]) : null;
  tx.finish();
  return { template: templateName, instances, changes, summary, commit: commit?.hash ?? null };
}
