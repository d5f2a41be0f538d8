// Everything live in one namespace, every kind the API server serves there: what deleting a
// team would lose (`tenantry delete-team`, `plan --cluster`). Discovery gives the namespaced,
// listable kinds (each group's preferred version, events and metrics left out); a kind that
// cannot be listed (forbidden, unavailable) is named, not fatal. An unreachable server or a
// refusal to read the Namespace itself ends the call with one line (clusterCall).

import { mapLimit } from "../concurrency.js";
import type { KubeObject } from "../model/object.js";
import { apiRefusal } from "./api-errors.js";
import type { KubeAccess } from "./access.js";
import { RestClient } from "./rest.js";
import { clusterCall } from "./team-namespace.js";

interface ResourceList {
  readonly groupVersion: string;
  readonly resources: readonly { readonly name: string; readonly kind: string; readonly namespaced: boolean; readonly verbs?: readonly string[] }[];
}

interface GroupList {
  readonly groups: readonly { readonly name: string; readonly preferredVersion?: { readonly groupVersion: string }; readonly versions: readonly { readonly groupVersion: string }[] }[];
}

export interface NamespaceContents {
  readonly namespace: string;
  /** The API server it was read from. */
  readonly server: string;
  /** Whether the Namespace exists (false: nothing to lose). */
  readonly exists: boolean;
  /** Every object listed, apiVersion and kind set. */
  readonly objects: readonly KubeObject[];
  /** `resource.group` of kinds that could not be listed, with why. */
  readonly unread: readonly string[];
}

const SKIPPED_RESOURCES = new Set(["events", "events.events.k8s.io"]);
const SKIPPED_GROUPS = new Set(["metrics.k8s.io"]);
const CONCURRENCY = 8;

function groupOf(gv: string): string {
  const slash = gv.indexOf("/");
  return slash === -1 ? "" : gv.slice(0, slash);
}

/** The objects of `namespace`, read as `kc`. */
export async function namespaceContents(kc: KubeAccess, namespace: string): Promise<NamespaceContents> {
  const client = RestClient.forConfig(kc);
  const server = client.server;
  return clusterCall(client, `reading namespace ${namespace}`, async () => {
    try {
      await client.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
    } catch (e) {
      if (apiRefusal(e)?.code === 404) return { namespace, server, exists: false, objects: [], unread: [] };
      throw e;
    }
    const unread: string[] = [];
    const [core, groups] = await Promise.all([client.get<ResourceList>("/api/v1"), client.get<GroupList>("/apis")]);
    const versions = groups.groups.filter((g) => !SKIPPED_GROUPS.has(g.name)).map((g) => g.preferredVersion?.groupVersion ?? g.versions[0]?.groupVersion).filter((gv): gv is string => gv !== undefined);
    const lists = await mapLimit(versions, CONCURRENCY, async (gv) => {
      try {
        return await client.get<ResourceList>(`/apis/${gv}`);
      } catch (e) {
        const r = apiRefusal(e);
        if (r === undefined) throw e;
        unread.push(`${gv} (HTTP ${r.code})`);
        return undefined;
      }
    });
    const kinds: { apiVersion: string; kind: string; path: string; qualified: string }[] = [];
    const seen = new Set<string>();
    for (const list of [core, ...lists.filter((l): l is ResourceList => l !== undefined)]) {
      const group = groupOf(list.groupVersion);
      for (const r of list.resources) {
        const qualified = group === "" ? r.name : `${r.name}.${group}`;
        if (r.name.includes("/") || !r.namespaced || !(r.verbs ?? []).includes("list") || SKIPPED_RESOURCES.has(qualified) || seen.has(`${group}/${r.kind}`)) continue;
        seen.add(`${group}/${r.kind}`);
        const prefix = list.groupVersion.includes("/") ? `/apis/${list.groupVersion}` : `/api/${list.groupVersion}`;
        kinds.push({ apiVersion: list.groupVersion, kind: r.kind, path: `${prefix}/namespaces/${encodeURIComponent(namespace)}/${r.name}`, qualified });
      }
    }
    const found = await mapLimit(kinds, CONCURRENCY, async (k) => {
      try {
        // Lists leave apiVersion and kind out of their items.
        return (await client.listAll(k.path)).map((o): KubeObject => ({ ...o, apiVersion: k.apiVersion, kind: k.kind }));
      } catch (e) {
        const r = apiRefusal(e);
        if (r === undefined) throw e;
        unread.push(`${k.qualified} (HTTP ${r.code})`);
        return [];
      }
    });
    return { namespace, server, exists: true, objects: found.flat(), unread: unread.sort() };
  });
}
