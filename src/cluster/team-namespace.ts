// For the commands a person runs against a cluster (views, kubeconfig, ctx): the one place
// that turns network failures and API refusals into one-line errors, the check that a team
// exists, and a team's namespaces (its home and the extra ones its GitSync lists).

import type { RestClient } from "./rest.js";
import { apiRefusal, unreachable } from "./api-errors.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import { teamNameProblems } from "../model/names.js";
import { TEAM_LABEL } from "../model/labels.js";
import { namespacesProblems } from "../model/gitsync.js";

/** Runs `fn`, turning an unreachable server or an API refusal into a one-line TenantryError. */
export async function clusterCall<T>(client: RestClient, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TenantryError) throw e;
    const down = unreachable(e, client.server);
    if (down !== undefined) throw down;
    const r = apiRefusal(e);
    if (r !== undefined) {
      const hint = r.code === 401 ? ": the kubeconfig's credentials were not accepted (expired token?)" : r.code === 403 ? ": the kubeconfig's identity may not do this" : "";
      throw new TenantryError(`${what}: ${r.message} (HTTP ${r.code})${hint}`, ExitCode.external);
    }
    const err = e as { code?: string; message?: string };
    throw new TenantryError(`${what}: cannot talk to the API server at ${client.server}: ${err.code ?? err.message ?? String(e)}`, ExitCode.external);
  }
}

/**
 * Checks that `team` is a valid name and a team of this cluster: namespace `<team>` labelled
 * tenantry.dev/team=<team>. An identity that may not read Namespaces (the team's own token)
 * gets the benefit of the doubt: the API server judges its later requests anyway.
 */
export async function requireTeam(client: RestClient, team: string): Promise<void> {
  const problems = teamNameProblems(team);
  if (problems.length > 0) throw new ValidationError(problems);
  const hint = "tenantry list (in the admin repo) shows the teams";
  let ns: KubeObject;
  try {
    ns = await client.get<KubeObject>(`/api/v1/namespaces/${team}`);
  } catch (e) {
    const code = apiRefusal(e)?.code;
    if (code === 404) throw new TenantryError(`unknown team ${team}: the cluster has no namespace ${team}: ${hint}`, ExitCode.invalid);
    if (code === 403) return;
    return clusterCall(client, `reading namespace ${team}`, () => Promise.reject(e as Error));
  }
  if (ns.metadata.labels?.[TEAM_LABEL] !== team) {
    throw new TenantryError(`unknown team ${team}: namespace ${team} is not labelled ${TEAM_LABEL}=${team}: ${hint}`, ExitCode.invalid);
  }
}


/** A team's namespaces on this API server, as the views and kubeconfig read them. */
export interface TeamNamespaces {
  /** Home first, then the extra namespaces `<team>-<name>`. */
  readonly namespaces: string[];
  /** Where the extra namespaces were read, and any listed one left out (and why). */
  readonly notes: string[];
}

/**
 * The namespaces of namespace team `team`: its home, then the extra namespaces its GitSync
 * `<team>/<team>` lists in spec.namespaces (issue 20). Both are admin-owned: a team may read
 * its GitSync but not change its spec, and has no rights on Namespaces. Only names the
 * reconciler accepts (`<team>-<name>`, model/gitsync.ts) are taken; where the identity may
 * read Namespaces, each must also exist and carry tenantry.dev/team=<team>, else it is left
 * out with a note. Without a GitSync (Flux's engine), the Namespaces labelled as the team's,
 * when the identity may list them; else only the home namespace.
 */
export async function teamNamespaces(client: RestClient, team: string): Promise<TeamNamespaces> {
  let listed: readonly string[] | undefined;
  try {
    const gs = await client.get<KubeObject & { spec?: { namespaces?: unknown } }>(`/apis/tenantry.dev/v1alpha1/namespaces/${team}/gitsyncs/${team}`);
    const raw = gs.spec?.namespaces;
    listed = Array.isArray(raw) ? raw.filter((n): n is string => typeof n === "string") : [];
  } catch (e) {
    const code = apiRefusal(e)?.code;
    if (code !== 404 && code !== 403) return clusterCall(client, `reading GitSync ${team}/${team}`, () => Promise.reject(e as Error));
  }
  if (listed === undefined) {
    try {
      const labelled = await client.listAll("/api/v1/namespaces", `${TEAM_LABEL}=${team}`);
      const extra = labelled.map((n) => n.metadata.name).filter((n) => n.startsWith(`${team}-`)).sort();
      return { namespaces: [team, ...extra], notes: extra.length === 0 ? [] : [`namespaces of team ${team}: those labelled ${TEAM_LABEL}=${team} (it has no GitSync ${team}/${team})`] };
    } catch (e) {
      const code = apiRefusal(e)?.code;
      if (code === 403 || code === 404) return { namespaces: [team], notes: [] };
      return clusterCall(client, "listing namespaces", () => Promise.reject(e as Error));
    }
  }
  const notes: string[] = [];
  const valid = listed.filter((n) => n !== team && namespacesProblems(team, false, [n]).length === 0);
  for (const n of listed.filter((x) => !valid.includes(x))) notes.push(`GitSync ${team}/${team} lists namespace ${n}, which is not one of the team's (${team}-<name>): left out`);
  const extra: string[] = [];
  for (const n of [...new Set(valid)]) {
    try {
      const ns = await client.get<KubeObject>(`/api/v1/namespaces/${n}`);
      if (ns.metadata.labels?.[TEAM_LABEL] === team) extra.push(n);
      else notes.push(`namespace ${n} (listed by GitSync ${team}/${team}) is not labelled ${TEAM_LABEL}=${team}: left out`);
    } catch (e) {
      const code = apiRefusal(e)?.code;
      if (code === 403) extra.push(n); // a team's own token may not read Namespaces: the API server judges each read
      else if (code === 404) notes.push(`namespace ${n} (listed by GitSync ${team}/${team}) does not exist (yet): left out`);
      else return clusterCall(client, `reading namespace ${n}`, () => Promise.reject(e as Error));
    }
  }
  return { namespaces: [team, ...extra], notes };
}
