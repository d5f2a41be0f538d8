// The I/O edge of the tenant views: a raw-JSON client for discovery and subresources
// (TokenRequest) on top of ObjectClient, the one place that turns network failures and API
// refusals into one-line errors, and the check that a team exists.

import type { KubeConfig } from "@kubernetes/client-node";
import { ObjectClient } from "./client.js";
import { apiRefusal, unreachable } from "./errors.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import { teamNameProblems } from "../model/names.js";
import { TEAM_LABEL } from "../model/labels.js";

export class ViewClient extends ObjectClient {
  static of(kc: KubeConfig): ViewClient {
    const client = kc.makeApiClient(ViewClient);
    client.setDefaultNamespace(kc);
    return client;
  }

  /** GET of any API path (discovery documents, lists by resource name). */
  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.rest.request({ method: "GET", path, query });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.rest.request({ method: "POST", path, body });
  }

  /** Every item of a list path, following `continue` tokens. */
  async listAll(path: string, labelSelector?: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.get<{ items?: KubeObject[]; metadata?: { continue?: string } }>(path, { limit: "500", continue: token, labelSelector });
      items.push(...(page.items ?? []));
      token = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
    } while (token !== undefined);
    return items;
  }
}

/** The server URL of `kc`'s current cluster, for messages. */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? "(unknown server)";
}

/** Runs `fn`, turning an unreachable server or an API refusal into a one-line TenantryError. */
export async function clusterCall<T>(kc: KubeConfig, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TenantryError) throw e;
    const down = unreachable(e, serverOf(kc));
    if (down !== undefined) throw down;
    const r = apiRefusal(e);
    if (r !== undefined) {
      const hint = r.code === 401 ? ": the kubeconfig's credentials were not accepted (expired token?)" : r.code === 403 ? ": the kubeconfig's identity may not do this" : "";
      throw new TenantryError(`${what}: ${r.message} (HTTP ${r.code})${hint}`, ExitCode.external);
    }
    const err = e as { code?: string; message?: string };
    throw new TenantryError(`${what}: cannot talk to the API server at ${serverOf(kc)}: ${err.code ?? err.message ?? String(e)}`, ExitCode.external);
  }
}

/**
 * Checks that `team` is a valid name and a team of this cluster: namespace `<team>` labelled
 * tenantry.dev/team=<team>. An identity that may not read Namespaces (the team's own token)
 * gets the benefit of the doubt: the API server judges its later requests anyway.
 */
export async function requireTeam(kc: KubeConfig, client: ViewClient, team: string): Promise<void> {
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
    return clusterCall(kc, `reading namespace ${team}`, () => Promise.reject(e as Error));
  }
  if (ns.metadata.labels?.[TEAM_LABEL] !== team) {
    throw new TenantryError(`unknown team ${team}: namespace ${team} is not labelled ${TEAM_LABEL}=${team}: ${hint}`, ExitCode.invalid);
  }
}

