// Which resource serves a kind: one discovery cache per API server endpoint (its URL, proxy
// and trusted CA: Connection.endpoint), shared by every client of it (the agent creates
// clients per GitSync and per identity; each used to refetch the discovery documents). A kind missing from a cached document refetches that document, so
// a CRD applied a moment ago is found; concurrent lookups share one request.

import { ApiError } from "./api-errors.js";
import { type Connection, send } from "./transport.js";

export interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs?: readonly string[];
}

interface Entry {
  /** undefined: the server does not serve this apiVersion. */
  resources: Promise<readonly ApiResource[] | undefined>;
}

const caches = new Map<string, Map<string, Entry>>();

function apiVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function fetchList(conn: Connection, apiVersion: string): Promise<readonly ApiResource[] | undefined> {
  return send<{ resources?: ApiResource[] }>(conn, { method: "GET", path: apiVersionPath(apiVersion) }).then(
    // Subresources (pods/status) are not kinds one applies.
    (l) => (l.resources ?? []).filter((r) => !r.name.includes("/")).map((r) => ({ name: r.name, kind: r.kind, namespaced: r.namespaced, ...(r.verbs === undefined ? {} : { verbs: r.verbs }) })),
    (e: unknown) => {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    },
  );
}

/** The resource of `kind` in `apiVersion`, or undefined when the cluster does not serve it. */
export async function resourceOf(conn: Connection, apiVersion: string, kind: string): Promise<ApiResource | undefined> {
  let cache = caches.get(conn.endpoint);
  if (cache === undefined) {
    cache = new Map();
    caches.set(conn.endpoint, cache);
  }
  const cached = cache.get(apiVersion);
  if (cached !== undefined) {
    const hit = (await cached.resources.catch(() => undefined))?.find((r) => r.kind === kind);
    if (hit !== undefined) return hit;
    // A miss may be a CRD applied since: refetch, unless another lookup already is.
    if (cache.get(apiVersion) !== cached) return (await cache.get(apiVersion)?.resources)?.find((r) => r.kind === kind);
  }
  const entry: Entry = { resources: fetchList(conn, apiVersion) };
  cache.set(apiVersion, entry);
  entry.resources.catch(() => {
    if (cache.get(apiVersion) === entry) cache.delete(apiVersion);
  });
  return (await entry.resources)?.find((r) => r.kind === kind);
}
