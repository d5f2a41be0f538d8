// For the commands a person runs against a cluster (views, kubeconfig, ctx): the one place
// that turns network failures and API refusals into one-line errors, and the check that a
// team exists.

import type { RestClient } from "./rest.js";
import { apiRefusal, unreachable } from "./api-errors.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import { teamNameProblems } from "../model/names.js";
import { TEAM_LABEL } from "../model/labels.js";

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

