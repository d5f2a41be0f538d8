// Finding and reading an admin repo: its root, tenantry.yaml and the team list.

import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ValidationError } from "../errors.js";
import { type ClusterConfig, parseClusterConfig } from "../model/cluster-config.js";
import { parseTeamSpec, type TeamSpec } from "../model/team-spec.js";
import { listResources } from "./kustomization.js";
import { cacheDir, tenantryBuild } from "../paths.js";
import { readRepoFile } from "./changes.js";
import { openSpecMemo, type SpecMemo } from "./spec-cache.js";

export const CONFIG_FILE = "tenantry.yaml";
export const TEAMS_KUSTOMIZATION = "cluster/teams/kustomization.yaml";

/**
 * The admin repo: `explicit` (--admin-repo) must hold tenantry.yaml itself; otherwise the
 * nearest of the current directory and its parents that holds one.
 */
export function findAdminRepo(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit !== undefined) {
    const dir = resolve(explicit);
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    throw new ValidationError([`--admin-repo ${dir} has no ${CONFIG_FILE}: point it at the root of an admin repo (tenantry init)`]);
  }
  const start = cwd;
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new ValidationError([
        `no ${CONFIG_FILE} in ${resolve(start)} or its parents: run inside an admin repo (tenantry init) or pass --admin-repo DIR`,
      ]);
    }
    dir = parent;
  }
}

export function readClusterConfig(root: string): ClusterConfig {
  const text = readRepoFile(root, CONFIG_FILE);
  if (text === null) throw new ValidationError([`${join(root, CONFIG_FILE)} is missing: restore it with git or run tenantry init`]);
  return parseClusterConfig(text, CONFIG_FILE);
}

export function readTeamsKustomization(root: string): string {
  return teamsKustomizationText(readRepoFile(root, TEAMS_KUSTOMIZATION));
}

/** The teams kustomization's text, or the error that it is missing. */
export function teamsKustomizationText(text: string | null): string {
  if (text === null) {
    throw new ValidationError([`${TEAMS_KUSTOMIZATION} is missing: restore it with git (or run tenantry init in this repo again)`]);
  }
  return text;
}

export function teamSpecPath(team: string): string {
  return `cluster/${team}/team.yaml`;
}

export function readTeamSpec(root: string, team: string, memo?: SpecMemo<TeamSpec>): TeamSpec | null {
  const text = readRepoFile(root, teamSpecPath(team));
  if (text === null) return null;
  const parse = (t: string): TeamSpec => parseTeamSpec(t, teamSpecPath(team));
  return memo === undefined ? parse(text) : memo.parse(text, parse);
}

/** The teams listed in cluster/teams/kustomization.yaml, in the file's order. */
export function listTeams(root: string): TeamSpec[] {
  const entries = listResources(readTeamsKustomization(root), TEAMS_KUSTOMIZATION);
  const teams: TeamSpec[] = [];
  const memo = openSpecMemo<TeamSpec>(root, tenantryBuild(), cacheDir());
  for (const entry of entries) {
    const m = /^\.\.\/([^/]+)\/?$/.exec(entry);
    if (m?.[1] === undefined) continue;
    const spec = readTeamSpec(root, m[1], memo);
    if (spec !== null) teams.push(spec);
  }
  memo.save();
  return teams;
}

/**
 * Every team spec of the admin repo: each directory cluster/<dir>/ with a team.yaml, listed
 * in cluster/teams or not (its namespaces stay taken while its overlay is there). A team.yaml
 * that does not parse is left out: `tenantry validate` names it.
 */
export function readTeamSpecs(root: string): TeamSpec[] {
  const dir = join(root, "cluster");
  if (!existsSync(dir)) return [];
  const teams: TeamSpec[] = [];
  const memo = openSpecMemo<TeamSpec>(root, tenantryBuild(), cacheDir());
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory()) continue;
    try {
      const spec = readTeamSpec(root, e.name, memo);
      if (spec !== null && spec.name === e.name) teams.push(spec);
    } catch {
      // Unreadable: validate says so; create-team judges the others.
    }
  }
  memo.save();
  return teams;
}
