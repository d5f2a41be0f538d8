// The generic object client of the reconciler: sends and returns objects exactly as the API
// server speaks them (a GitOps applier must send what Git says, byte for byte; client-node's
// typed models drop fields such as LimitRange's `default`). It runs on tenantry's own
// transport (keep-alive connections, one discovery cache per server) and never loads
// client-node, so the long-running agent does not pay for its generated models.

import type { KubeAccess } from "./access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { ApiError, KindNotServedError } from "./api-errors.js";
import { type ApiResource, resourceOf } from "./discovery.js";
import { type Connection, connectionOf, type Request, send, sendSized, streamJson } from "./transport.js";
import type { KubeObject } from "../model/object.js";

export interface ObjectList {
  readonly items: KubeObject[];
  readonly metadata?: { resourceVersion?: string; continue?: string };
}

/** One event of a watch (ERROR's object is a Status). */
export interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: KubeObject & { code?: number; message?: string };
}

export interface WriteOptions {
  readonly fieldManager?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

export type Header = Pick<KubeObject, "apiVersion" | "kind"> & { metadata: { name: string; namespace?: string } };

type Action = "create" | "list" | "item";

/** Objects per page where a list is paged (listAll from a capped server). */
const LIST_PAGE = "500";

export class RestClient {
  private constructor(
    private readonly conn: Connection,
    /** Where namespaced objects without a namespace go (the kubeconfig context's namespace). */
    readonly defaultNamespace: string,
  ) {}

  static forConfig(access: KubeAccess): RestClient {
    return new RestClient(connectionOf(access), access.namespace);
  }

  get server(): string {
    return this.conn.server;
  }

  /** The discovery entry of `kind`, or undefined when the cluster does not serve it. */
  resource(apiVersion: string, kind: string): Promise<ApiResource | undefined> {
    return resourceOf(this.conn, apiVersion, kind);
  }

  private async pathOf(o: { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } }, action: Action): Promise<string> {
    const r = await this.resource(o.apiVersion, o.kind);
    if (r === undefined) throw new KindNotServedError(this.server, o.apiVersion, o.kind);
    const ns = o.metadata?.namespace ?? (action === "list" ? undefined : this.defaultNamespace);
    const parts = [o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`];
    if (r.namespaced && ns !== undefined && ns !== "") parts.push("namespaces", encodeURIComponent(ns));
    parts.push(r.name);
    if (action === "item") {
      if (o.metadata?.name === undefined) throw new TenantryError(`a ${o.kind} (${o.apiVersion}) has no metadata.name: give it one`, ExitCode.invalid);
      parts.push(encodeURIComponent(o.metadata.name));
    }
    return parts.join("/");
  }

  /** A raw request to any API path (subresources, discovery documents). */
  request<T>(r: Request): Promise<T> {
    return send<T>(this.conn, r);
  }

  /** GET of any API path (discovery documents, lists by resource name). */
  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return send<T>(this.conn, { method: "GET", path, query });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return send<T>(this.conn, { method: "POST", path, body });
  }

  /**
   * Every item of a list path. From an API server of the kubeconfig's (no cap on its answers):
   * one request, any `continue` token it still hands out followed. Without a limit the API
   * server (1.31 on, ConsistentListFromCache) serves a consistent list from its watch cache;
   * with one it reads etcd page by page. At 5000 teams `tenantry status` reads some 35 000
   * objects: 5001 GitSyncs cost the API server 850-2840 ms of CPU in pages of 500 or 2000 and
   * about 300 ms in one request; 20 003 ValidatingAdmissionPolicyBindings 400-1650 ms and about
   * 260 ms. From a server whose answers are capped (a controlplane team's own, which may be
   * anyone's): pages of 500 that share the one cap, so endless `continue` tokens cannot fill
   * the process.
   */
  async listAll(path: string, labelSelector?: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    const cap = this.conn.maxResponseBytes;
    let left = cap;
    let token: string | undefined;
    do {
      const query = { limit: cap === undefined ? undefined : LIST_PAGE, continue: token, labelSelector };
      const { body, bytes } = await sendSized(this.conn, { method: "GET", path, query, ...(left === undefined ? {} : { maxBytes: left }) });
      const page = body as { items?: KubeObject[]; metadata?: { continue?: string } };
      if (left !== undefined) left -= bytes;
      items.push(...(page.items ?? []));
      token = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
    } while (token !== undefined);
    return items;
  }

  private writeQuery(o: WriteOptions): Record<string, string | undefined> {
    return { fieldManager: o.fieldManager, force: o.force === true ? "true" : undefined, dryRun: o.dryRun === true ? "All" : undefined };
  }

  /** Server-side apply of `o` as given. */
  async apply(o: KubeObject, opts: WriteOptions & { fieldManager: string }): Promise<KubeObject> {
    return send(this.conn, { method: "PATCH", path: await this.pathOf(o, "item"), body: o, query: this.writeQuery(opts), contentType: "application/apply-patch+yaml" });
  }

  async createObject(o: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return send(this.conn, { method: "POST", path: await this.pathOf(o, "create"), body: o, query: this.writeQuery(opts) });
  }

  /** PUT: replaces `o`; with metadata.resourceVersion set, fails with 409 if it changed. */
  async replaceObject(o: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return send(this.conn, { method: "PUT", path: await this.pathOf(o, "item"), body: o, query: this.writeQuery(opts) });
  }

  async readObject(h: Header): Promise<KubeObject> {
    return send(this.conn, { method: "GET", path: await this.pathOf(h, "item") });
  }

  async deleteObject(h: Header, opts: { propagationPolicy?: string; dryRun?: boolean } = {}): Promise<unknown> {
    const query = { propagationPolicy: opts.propagationPolicy ?? "Background", dryRun: opts.dryRun === true ? "All" : undefined };
    return send(this.conn, { method: "DELETE", path: await this.pathOf(h, "item"), query });
  }

  /** One list request (all namespaces when `namespace` is undefined). */
  async listObjects(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, page?: { limit: number; continue?: string }): Promise<ObjectList> {
    const path = await this.pathOf({ apiVersion, kind, metadata: namespace === undefined ? {} : { namespace } }, "list");
    const query = { labelSelector, limit: page === undefined ? undefined : String(page.limit), continue: page?.continue };
    return send(this.conn, { method: "GET", path, query });
  }

  /** The items of a list a page at a time, so a large list is never held whole. */
  async *listPaged(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, limit = 250): AsyncGenerator<KubeObject[]> {
    let token: string | undefined;
    do {
      const page = await this.listObjects(apiVersion, kind, namespace, labelSelector, { limit, ...(token === undefined ? {} : { continue: token }) });
      yield page.items;
      token = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
    } while (token !== undefined);
  }

  /**
   * A watch of `kind` from `resourceVersion` (with bookmarks): its events as they come, until
   * the API server ends it after about `timeoutSeconds`, or nothing came for `idleMs`. An
   * event's object may be at most `maxEventBytes` of JSON.
   */
  async *watch(apiVersion: string, kind: string, namespace: string | undefined, resourceVersion: string, timeoutSeconds: number, maxEventBytes: number, idleMs: number): AsyncGenerator<WatchEvent> {
    const path = await this.pathOf({ apiVersion, kind, metadata: namespace === undefined ? {} : { namespace } }, "list");
    const query = { watch: "1", resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(timeoutSeconds) };
    // An answer is waited for as long as any request's; once it streams, it may sit idle for `idleMs`.
    yield* streamJson<WatchEvent>(this.conn, { method: "GET", path, query }, maxEventBytes, idleMs);
  }

  /** A JSON patch (RFC 6902) of `h`, e.g. of its managedFields. */
  async jsonPatch(h: Header, ops: readonly unknown[]): Promise<KubeObject> {
    return send(this.conn, { method: "PATCH", path: await this.pathOf(h, "item"), body: ops, contentType: "application/json-patch+json" });
  }

  /** A JSON merge patch (RFC 7386) of `h`, as `fieldManager` (what `kubectl patch --type merge` sends). */
  async mergePatch(h: Header, patch: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    return send(this.conn, { method: "PATCH", path: await this.pathOf(h, "item"), body: patch, query: this.writeQuery(opts), contentType: "application/merge-patch+json" });
  }

  /** Merge-patches the status subresource of `h`. */
  async patchStatus(h: Header, status: unknown): Promise<KubeObject> {
    const path = `${await this.pathOf(h, "item")}/status`;
    return send(this.conn, { method: "PATCH", path, body: { status }, contentType: "application/merge-patch+json" });
  }

  /** Who the API server takes this client for (SelfSubjectReview, always allowed). */
  async whoami(): Promise<string> {
    const review = await send<{ status?: { userInfo?: { username?: string } } }>(this.conn, {
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    return review.status?.userInfo?.username ?? "";
  }

  /** namespaced, cluster, or unknown when the cluster does not serve the kind. */
  async scopeOf(apiVersion: string, kind: string): Promise<"namespaced" | "cluster" | "unknown"> {
    const r = await this.resource(apiVersion, kind).catch(servedNot);
    if (r === undefined) return "unknown";
    return r.namespaced ? "namespaced" : "cluster";
  }

  /** Whether the cluster serves `kind` in `apiVersion` (CRDs may be missing). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind).catch(servedNot)) !== undefined;
  }
}

/**
 * A discovery request the API server answered with an error (an aggregated API that is
 * down answers 503) means the kind is not served; a request that never got an answer (the
 * server or a proxy unreachable) is not an answer about the kind and is rethrown.
 */
function servedNot(e: unknown): undefined {
  if (e instanceof ApiError) return undefined;
  throw e;
}
