// The I/O edge of status, resources and usage: reads what each view needs from the API
// server (bounded concurrency for discovery and lists) and hands it to the pure cores.

import type { KubeAccess } from "../cluster/access.js";
import { apiRefusal, unreachable } from "../cluster/api-errors.js";
import { ExitCode, TenantryError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import type { GitSync } from "../model/gitsync.js";
import { mapLimit } from "../concurrency.js";
import { RestClient } from "../cluster/rest.js";
import { clusterCall, requireTeam } from "../cluster/team-namespace.js";
import { type ApiGroupList, type ApiResourceList, type KindGroup, listableKinds, listPath, preferredGroupVersions, qualifiedResource, resourceTree } from "./resources.js";
import { type QuotaObject, type StatusRow, statusRows } from "./status.js";
import { TEAM_LABEL } from "../model/labels.js";
import { type PodMetrics, type PodUsage, podUsage, type QuotaUsage, quotaUsage } from "./usage.js";

const CONCURRENCY = 8;

export async function gatherStatus(kc: KubeAccess, now: () => Date = () => new Date()): Promise<StatusRow[]> {
  const client = RestClient.forConfig(kc);
  return clusterCall(client, "listing GitSyncs", async () => {
    let gitsyncs: GitSync[];
    try {
      gitsyncs = (await client.listAll("/apis/tenantry.dev/v1alpha1/gitsyncs")) as GitSync[];
    } catch (e) {
      if (apiRefusal(e)?.code === 404) throw new TenantryError(`the cluster at ${client.server} serves no GitSyncs: tenantry is not installed there (apply the admin repo's cluster/common)`, ExitCode.failure);
      throw e;
    }
    const [namespaces, quotas] = await Promise.all([client.listAll("/api/v1/namespaces", TEAM_LABEL), client.listAll("/api/v1/resourcequotas") as Promise<QuotaObject[]>]);
    return statusRows(gitsyncs, namespaces, quotas, now());
  });
}

export interface Skipped {
  readonly resource: string;
  readonly reason: string;
}

export interface ResourcesView {
  readonly team: string;
  readonly namespace: string;
  readonly groups: KindGroup[];
  /** Kinds or API groups that could not be read (forbidden, unavailable). */
  readonly skipped: Skipped[];
}

/** A list or discovery failure that only hides one kind; anything else ends the command. */
function skippable(e: unknown, server: string): string {
  const down = unreachable(e, server);
  if (down !== undefined) throw down;
  const r = apiRefusal(e);
  if (r === undefined) throw e;
  return r.code === 403 ? "forbidden" : `HTTP ${r.code}`;
}

export async function gatherResources(kc: KubeAccess, team: string): Promise<ResourcesView> {
  const client = RestClient.forConfig(kc);
  const server = client.server;
  await requireTeam(client, team);
  return clusterCall(client, `listing the resources of namespace ${team}`, async () => {
    const skipped: Skipped[] = [];
    const [core, groups] = await Promise.all([client.get<ApiResourceList>("/api/v1"), client.get<ApiGroupList>("/apis")]);
    const lists = await mapLimit(preferredGroupVersions(groups), CONCURRENCY, async (gv) => {
      try {
        return await client.get<ApiResourceList>(`/apis/${gv}`);
      } catch (e) {
        skipped.push({ resource: gv, reason: skippable(e, server) });
        return undefined;
      }
    });
    const kinds = listableKinds([core, ...lists.filter((l): l is ApiResourceList => l !== undefined)]);
    const found = await mapLimit(kinds, CONCURRENCY, async (k) => {
      try {
        const items = await client.listAll(listPath(k, team));
        // Lists leave apiVersion and kind out of their items.
        return items.map((o): KubeObject => ({ ...o, apiVersion: k.apiVersion, kind: k.kind }));
      } catch (e) {
        skipped.push({ resource: qualifiedResource(k), reason: skippable(e, server) });
        return [];
      }
    });
    return { team, namespace: team, groups: resourceTree(found.flat()), skipped: skipped.sort((a, b) => a.resource.localeCompare(b.resource)) };
  });
}

export interface UsageView {
  readonly team: string;
  readonly namespace: string;
  readonly quotas: QuotaUsage[];
  /** null when metrics-server does not answer; `metricsNote` says why. */
  readonly pods: PodUsage[] | null;
  readonly metricsNote?: string;
}

export const NO_METRICS_SERVER = "metrics-server is not installed: pod CPU/memory usage is not available";

export async function gatherUsage(kc: KubeAccess, team: string): Promise<UsageView> {
  const client = RestClient.forConfig(kc);
  const server = client.server;
  await requireTeam(client, team);
  return clusterCall(client, `reading the quota of namespace ${team}`, async () => {
    const quotas = quotaUsage(await client.listAll(`/api/v1/namespaces/${team}/resourcequotas`));
    try {
      const metrics = (await client.listAll(`/apis/metrics.k8s.io/v1beta1/namespaces/${team}/pods`)) as PodMetrics[];
      return { team, namespace: team, quotas, pods: podUsage(metrics) };
    } catch (e) {
      const reason = skippable(e, server);
      const note = reason === "HTTP 404" ? NO_METRICS_SERVER : `metrics-server did not answer (${reason}): pod CPU/memory usage is not available`;
      return { team, namespace: team, quotas, pods: null, metricsNote: note };
    }
  });
}
