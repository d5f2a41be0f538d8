// A generic object client that sends and returns objects exactly as the API server speaks
// them. client-node's KubernetesObjectApi runs every body through its typed models, which
// silently drops fields whose TypeScript name differs from the JSON one (LimitRange's
// `default` becomes `_default` and is lost) and any field newer than the models. A GitOps
// applier must send what Git says, byte for byte, so only discovery and transport are
// reused from client-node here.

import { HttpMethod, type KubeConfig, KubernetesObjectApi, type KubernetesObject, type RequestContext, type ResponseContext, ApiException } from "@kubernetes/client-node";
import type { KubeObject } from "../kustomize/build.js";

export interface ObjectList {
  readonly items: KubeObject[];
  readonly metadata?: { resourceVersion?: string; continue?: string };
}

export interface WriteOptions {
  readonly fieldManager?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

type Header = Pick<KubeObject, "apiVersion" | "kind"> & { metadata: { name: string; namespace?: string } };

export class ObjectClient extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): ObjectClient {
    const client = kc.makeApiClient(ObjectClient);
    client.setDefaultNamespace(kc);
    return client;
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(text) as T;
    throw new ApiException(response.httpStatusCode, "Unsuccessful HTTP Request", text, response.headers);
  }

  private async send<T>(path: string, method: HttpMethod, body: unknown, query: Record<string, string | undefined>, contentType = "application/json"): Promise<T> {
    const ctx: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam("Accept", "application/json");
    for (const [k, v] of Object.entries(query)) if (v !== undefined) ctx.setQueryParam(k, v);
    if (body !== undefined) {
      ctx.setHeaderParam("Content-Type", contentType);
      ctx.setBody(JSON.stringify(body));
    }
    return (await this.requestPromise(ctx)) as T;
  }

  private writeQuery(o: WriteOptions): Record<string, string | undefined> {
    return { fieldManager: o.fieldManager, force: o.force === true ? "true" : undefined, dryRun: o.dryRun === true ? "All" : undefined };
  }

  /** Server-side apply of `o` as given. */
  async apply(o: KubeObject, opts: WriteOptions & { fieldManager: string }): Promise<KubeObject> {
    const path = await this.specUriPath(structuredClone(o), "patch");
    return this.send(path, HttpMethod.PATCH, o, this.writeQuery(opts), "application/apply-patch+yaml");
  }

  async createObject(o: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const path = await this.specUriPath(structuredClone(o), "create");
    return this.send(path, HttpMethod.POST, o, this.writeQuery(opts));
  }

  /** PUT: replaces `o`; with metadata.resourceVersion set, fails with 409 if it changed. */
  async replaceObject(o: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const path = await this.specUriPath(structuredClone(o), "replace");
    return this.send(path, HttpMethod.PUT, o, this.writeQuery(opts));
  }

  async readObject(h: Header): Promise<KubeObject> {
    return this.send(await this.specUriPath(structuredClone(h) as KubernetesObject, "read"), HttpMethod.GET, undefined, {});
  }

  async deleteObject(h: Header, opts: { propagationPolicy?: string; dryRun?: boolean } = {}): Promise<unknown> {
    const path = await this.specUriPath(structuredClone(h), "delete");
    return this.send(path, HttpMethod.DELETE, undefined, { propagationPolicy: opts.propagationPolicy ?? "Background", dryRun: opts.dryRun === true ? "All" : undefined });
  }

  async listObjects(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<ObjectList> {
    const header = { apiVersion, kind, metadata: namespace === undefined ? {} : { namespace } };
    const path = await this.specUriPath(header, "list");
    return this.send(path, HttpMethod.GET, undefined, { labelSelector });
  }

  /** Merge-patches the status subresource of `h`. */
  async patchStatus(h: Header, status: unknown): Promise<KubeObject> {
    const path = `${await this.specUriPath(structuredClone(h), "patch")}/status`;
    return this.send(path, HttpMethod.PATCH, { status }, {}, "application/merge-patch+json");
  }

  /** Who the API server takes this client for (SelfSubjectReview, always allowed). */
  async whoami(): Promise<string> {
    const review = await this.send<{ status?: { userInfo?: { username?: string } } }>(
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      HttpMethod.POST,
      { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      {},
    );
    return review.status?.userInfo?.username ?? "";
  }

  /** namespaced, cluster, or unknown when the cluster does not serve the kind. */
  async scopeOf(apiVersion: string, kind: string): Promise<"namespaced" | "cluster" | "unknown"> {
    const r = await this.resource(apiVersion, kind).catch(() => undefined);
    if (r === undefined) return "unknown";
    return r.namespaced ? "namespaced" : "cluster";
  }

  /** Whether the cluster serves `kind` in `apiVersion` (CRDs may be missing). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      return (await this.resource(apiVersion, kind)) !== undefined;
    } catch {
      return false;
    }
  }
}
