// What create-team renders for the teams a change reaches, at the plan's head: the review
// compares each team object of head with it (an object it does not render is an extension, one
// it renders otherwise a hand edit) and names the teams' owners. Read from git at head's
// commit, rendered with this tenantry's templates.

import { ValidationError } from "../errors.js";
import { parseClusterConfig } from "../model/cluster-config.js";
import { type KubeObject, objectId, parseObjects } from "../model/object.js";
import { namespaceNames, parseTeamSpec, type TeamSpec, teamSpecProblems } from "../model/team-spec.js";
import { teamNameProblems } from "../model/names.js";
import { type AppCatalog, type AppTemplate, NO_APPS, parseAppTemplate, templateFile, templateNameProblems } from "../model/apps.js";
import type { TeamPeers } from "../render/context.js";
import type { TeamFacts } from "../plan/plan.js";
import { renderAdminRepo, renderTeamOverlay } from "../render/repos.js";
import { CONFIG_FILE } from "../repo/admin-repo.js";
import { templates } from "../repo/templates.js";
import { generatedVersions } from "../toolchain.js";
import { readAtCommit } from "./refs.js";

/** The overlay create-team renders, as objects by objectId; null when it cannot be rendered. */
function generated(rendered: ReadonlyMap<string, string>): Map<string, KubeObject> {
  const objects = new Map<string, KubeObject>();
  for (const [path, text] of rendered) {
    if (!path.endsWith(".yaml") || path.endsWith("/team.yaml") || path.endsWith("/kustomization.yaml")) continue;
    for (const o of parseObjects(text, path)) objects.set(objectId(o), o);
  }
  return objects;
}

function unknown(problem: string): TeamFacts {
  return { generated: null, problem, extensions: [], owners: [], allowFrom: [] };
}

/**
 * The facts of `teams` at `commit` of the admin repo at `repoDir`. A team whose render is
 * unknown (tenantry.yaml or its team.yaml missing or invalid) gets facts saying why, so the
 * plan flags its objects rather than trusting them.
 */
export async function teamFactsAt(repoDir: string, commit: string, teams: readonly string[], opts: { only?: readonly string[]; rendered?: ReadonlySet<string> } = {}): Promise<Map<string, TeamFacts>> {
  // `rendered`: the teams whose render is compared with an object of the plan; the others'
  // facts say the render was not read (any comparison with it would flag the object).
  // `only`: render just these overlay templates (plan's network model needs three of them).
  const only = opts.only;
  const set = only === undefined ? templates : { ...templates, overlay: new Map([...templates.overlay].filter(([path]) => only.some((f) => path.startsWith(f)))) };
  const facts = new Map<string, TeamFacts>();
  if (teams.length === 0) return facts;
  const [configText, ...specTexts] = await readAtCommit(repoDir, commit, [CONFIG_FILE, ...teams.map((t) => `cluster/${t}/team.yaml`)]);
  let config;
  try {
    if (configText === null || configText === undefined) throw new ValidationError([`${CONFIG_FILE} is missing`]);
    config = parseClusterConfig(configText);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    for (const team of teams) facts.set(team, unknown(`${CONFIG_FILE} is missing or invalid at head`));
    return facts;
  }
  // Each team.yaml parsed once (three parses of 5000 specs were 2 s of a plan).
  const specs = teams.map((team, i) => specOrNull(specTexts[i], `cluster/${team}/team.yaml`));
  const peers = await peersAt(repoDir, commit, specs);
  const catalog = await catalogAt(repoDir, commit, specs);
  for (const [i, team] of teams.entries()) {
    const file = `cluster/${team}/team.yaml`;
    const text = specTexts[i];
    if (text === null || text === undefined) {
      facts.set(team, unknown(`${file} is missing at head`));
      continue;
    }
    const spec = specs[i];
    if (spec === null || spec === undefined) {
      facts.set(team, unknown(`${file} is invalid at head`));
      continue;
    }
    if (spec.name !== team) {
      facts.set(team, unknown(`${file} names team ${spec.name}`));
      continue;
    }
    // A hand-edited team.yaml (an owner with markup, a tier tenantry.yaml lacks) vouches for nothing.
    if (teamSpecProblems(spec, config).length > 0) {
      facts.set(team, unknown(`${file} is invalid at head (tenantry validate names the problem)`));
      continue;
    }
    if (opts.rendered !== undefined && !opts.rendered.has(team)) {
      facts.set(team, { ...unknown(`create-team's render of team ${team} was not read: nothing in its overlay changed`), extensions: spec.extensions, owners: spec.owners, allowFrom: spec.allowFrom });
      continue;
    }
    try {
      const rendered = renderTeamOverlay(set, config, spec, generatedVersions(), peers, catalog);
      const objects = generated(rendered);
      facts.set(team, { generated: objects, problem: null, extensions: spec.extensions, owners: spec.owners, allowFrom: spec.allowFrom, trustedInstances: await trustedInstances(repoDir, commit, team, spec, rendered) });
    } catch {
      facts.set(team, { ...unknown(`create-team cannot render ${file} with tenantry.yaml (a tier it lacks?)`), owners: spec.owners, allowFrom: spec.allowFrom });
    }
  }
  return facts;
}

/**
 * The team's admin-delivered instances whose kustomization and the overlay's are, at `commit`,
 * exactly what tenantry renders (read from git: a path through a symbolic link reads as missing).
 */
async function trustedInstances(repoDir: string, commit: string, team: string, spec: TeamSpec, rendered: ReadonlyMap<string, string>): Promise<ReadonlySet<string>> {
  const overlay = `cluster/${team}/kustomization.yaml`;
  const paths = spec.apps.map((a) => `cluster/${team}/apps/${a.name}/kustomization.yaml`).filter((p) => rendered.has(p));
  if (paths.length === 0) return new Set();
  const [overlayText, ...texts] = await readAtCommit(repoDir, commit, [overlay, ...paths]);
  if (overlayText !== rendered.get(overlay)) return new Set();
  return new Set(paths.filter((p, i) => texts[i] === rendered.get(p)).map((p) => p.split("/")[3] ?? ""));
}

/** The app templates, at `commit`, that the teams' instances use (those that parse). */
async function catalogAt(repoDir: string, commit: string, specs: readonly (TeamSpec | null)[]): Promise<AppCatalog> {
  const used = new Set<string>();
  for (const spec of specs) for (const a of spec?.apps ?? []) if (templateNameProblems(a.template).length === 0) used.add(a.template);
  const names = [...used].sort();
  if (names.length === 0) return NO_APPS;
  const texts = await readAtCommit(repoDir, commit, names.map(templateFile));
  const catalog = new Map<string, AppTemplate>();
  for (const [i, name] of names.entries()) {
    const text = texts[i];
    if (text === null || text === undefined) continue;
    try {
      catalog.set(name, parseAppTemplate(text, name));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
    }
  }
  return catalog;
}

function specOrNull(text: string | null | undefined, file: string): TeamSpec | null {
  if (text === null || text === undefined) return null;
  try {
    return parseTeamSpec(text, file);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return null;
  }
}

/**
 * The extra namespaces, at `commit`, of the teams that `teams` let in (--allow-from): create-team
 * renders such a policy for every namespace of that team (render/context.ts).
 */
async function peersAt(repoDir: string, commit: string, specs: readonly (TeamSpec | null)[]): Promise<TeamPeers> {
  const named = new Set<string>();
  for (const spec of specs) for (const from of spec?.allowFrom ?? []) named.add(from);
  const wanted = [...named].filter((n) => teamNameProblems(n).length === 0).sort();
  if (wanted.length === 0) return new Map();
  const texts = await readAtCommit(repoDir, commit, wanted.map((t) => `cluster/${t}/team.yaml`));
  const peers = new Map<string, readonly string[]>();
  for (const [i, t] of wanted.entries()) {
    const spec = specOrNull(texts[i], `cluster/${t}/team.yaml`);
    if (spec !== null && spec.name === t && namespaceNames(spec).length > 0) peers.set(t, namespaceNames(spec));
  }
  return peers;
}

/**
 * What `tenantry init` renders into tenantry-system for the network (its Namespace,
 * NetworkPolicies and the admin agent's Deployment), from tenantry.yaml at `commit`; [] when
 * tenantry.yaml is missing or invalid there. Plan models tenantry-system with it when
 * cluster/common is not built (nothing in it changed).
 */
export async function renderedSystemNetwork(repoDir: string, commit: string): Promise<KubeObject[]> {
  const [configText] = await readAtCommit(repoDir, commit, [CONFIG_FILE]);
  let config;
  try {
    if (configText === null || configText === undefined) return [];
    config = parseClusterConfig(configText);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return [];
  }
  const tree = renderAdminRepo(templates, config, generatedVersions());
  const out: KubeObject[] = [];
  for (const file of ["cluster/common/namespace.yaml", "cluster/common/network-policies.yaml", "cluster/common/agent.yaml"]) {
    const text = tree.get(file);
    if (text === undefined) continue;
    out.push(...parseObjects(text, file).filter((o) => o.kind === "Namespace" || o.kind === "NetworkPolicy" || o.kind === "Deployment"));
  }
  return out;
}
