// The last pure step of an import: every team the parser found is checked the way
// create-team checks it (name, repo URL, branch, interval against the new tenantry.yaml). A
// team that fails is left out and reported as not mapped, with create-team's own words; it is
// never renamed. Two tenants becoming the same team: the second is left out.

import { ValidationError } from "../errors.js";
import type { ClusterConfig } from "../model/cluster-config.js";
import { teamNameProblems } from "../model/names.js";
import { resolveTeamSpec } from "../model/team-spec.js";
import { type ImportedTeam, type ParsedSource, type ReportItem, teamOptions } from "./report.js";

const SCP_LIKE = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

/** `git@host:org/repo` as Flux fetches it (`ssh://git@host/org/repo`); other URLs as they are. */
export function fluxGitUrl(url: string): string {
  const m = SCP_LIKE.exec(url);
  return m === null ? url : `ssh://${m[1] ?? "git"}@${m[2] ?? ""}/${(m[3] ?? "").replace(/^\/+/, "")}`;
}

/** The source's URLs in the form the engine fetches: Flux takes ssh:// and http(s):// only. */
export function forEngine(parsed: ParsedSource, engine: string): ParsedSource {
  if (engine !== "flux") return parsed;
  // The parsers speak of tenantry's agent; under Flux the same things are Flux's objects.
  const items: ReportItem[] = parsed.items.map((i) => ({
    ...i,
    detail: i.detail
      .replace("tenantry's agent in cluster/common (engine tenantry)", "Flux's source-controller and kustomize-controller in cluster/common/flux-system (engine flux), locked down")
      .replace("GitSync tenantry-system/admin", "GitRepository and Kustomization flux-system/flux-system")
      .replace("applied by tenantry's agent", "applied by Flux"),
  }));
  const teams = parsed.teams.map((t) => {
    const url = fluxGitUrl(t.repoUrl);
    if (url === t.repoUrl) return t;
    items.push({ verdict: "mapped", tenant: t.tenant, file: t.file, subject: `repo URL ${t.repoUrl}`, detail: `${url}: the same repo, in the form Flux fetches` });
    return { ...t, repoUrl: url };
  });
  const admin = parsed.adminGitUrl === null ? null : fluxGitUrl(parsed.adminGitUrl);
  return { ...parsed, teams, items, adminGitUrl: admin };
}

export function finishImport(parsed: ParsedSource, config: ClusterConfig): ParsedSource {
  const items: ReportItem[] = [...parsed.items];
  const teams: ImportedTeam[] = [];
  const taken = new Map<string, string>();
  for (const t of parsed.teams) {
    const leftOut = (why: string): void => {
      items.push({ verdict: "unmapped", tenant: t.tenant, file: t.file, subject: `tenant ${t.tenant} -> team ${t.team}`, detail: `not imported: ${why}` });
    };
    const nameProblems = teamNameProblems(t.team);
    if (nameProblems.length > 0) {
      leftOut(`${nameProblems.join("; ")} (tenantry does not rename it: rename the tenant, or import with --team-name namespace)`);
      continue;
    }
    const other = taken.get(t.team);
    if (other !== undefined) {
      leftOut(`tenant ${other} already becomes team ${t.team}`);
      continue;
    }
    try {
      resolveTeamSpec(t.team, teamOptions(t), null, config);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      leftOut(e.problems.join("; "));
      continue;
    }
    taken.set(t.team, t.tenant);
    teams.push(t);
  }
  return { ...parsed, teams, items };
}
