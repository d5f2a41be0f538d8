// What create-team renders for the teams a change reaches, at the plan's head: the review
// compares each team object of head with it (an object it does not render is an extension, one
// it renders otherwise a hand edit) and names the teams' owners. Read from git at head's
// commit, rendered with this tenantry's templates.

import { ValidationError } from "../errors.js";
import { parseClusterConfig } from "../model/cluster-config.js";
import { type KubeObject, objectId, parseObjects } from "../model/object.js";
import { parseTeamSpec } from "../model/team-spec.js";
import type { TeamFacts } from "../plan/plan.js";
import { renderTeamOverlay } from "../render/repos.js";
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

/** The facts of `teams` at `commit` of the admin repo at `repoDir`; a team whose files do not parse is left out. */
export async function teamFactsAt(repoDir: string, commit: string, teams: readonly string[]): Promise<Map<string, TeamFacts>> {
  const facts = new Map<string, TeamFacts>();
  if (teams.length === 0) return facts;
  const [configText, ...specTexts] = await readAtCommit(repoDir, commit, [CONFIG_FILE, ...teams.map((t) => `cluster/${t}/team.yaml`)]);
  if (configText === null || configText === undefined) return facts;
  let config;
  try {
    config = parseClusterConfig(configText);
  } catch (e) {
    if (e instanceof ValidationError) return facts; // tenantry validate reports it
    throw e;
  }
  for (const [i, team] of teams.entries()) {
    const text = specTexts[i];
    if (text === null || text === undefined) continue;
    try {
      const spec = parseTeamSpec(text, `cluster/${team}/team.yaml`);
      let objects: Map<string, KubeObject> | null;
      try {
        objects = generated(renderTeamOverlay(templates, config, spec, generatedVersions()));
      } catch {
        objects = null; // a tier the config lacks: validate names it
      }
      facts.set(team, { generated: objects, extensions: spec.extensions, owners: spec.owners });
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
    }
  }
  return facts;
}
