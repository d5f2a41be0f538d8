// client-node's object API with tenantry's raw-JSON methods, for code that also needs
// client-node's own request machinery (subclasses writing subresources, typed clients).
// Every method below runs on RestClient (src/cluster/rest.ts): keep-alive connections,
// one discovery cache per server, objects sent byte for byte. The reconciler and the agent
// use RestClient directly and never load client-node.

import { type KubeConfig, KubernetesObjectApi, type KubernetesObject, type ResponseContext, ApiException } from "@kubernetes/client-node";
import type { KubeObject } from "../model/object.js";
import { type Header, RestClient, type WriteOptions } from "./rest.js";

export type { ObjectList, WriteOptions } from "./rest.js";

export class ObjectClient extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): ObjectClient {
    const client = kc.makeApiClient(ObjectClient);
    client.setDefaultNamespace(kc);
    return client;
  }

  /** The RestClient of the kubeconfig this client was made from (makeApiClient keeps it as the default auth method). */
  protected get rest(): RestClient {
    return RestClient.forConfig(this.configuration.authMethods.default as unknown as KubeConfig);
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(text) as T;
    throw new ApiException(response.httpStatusCode, "Unsuccessful HTTP Request", text, response.headers);
  }

  apply(o: KubeObject, opts: WriteOptions & { fieldManager: string }): Promise<KubeObject> {
    return this.rest.apply(o, opts);
  }

  createObject(o: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.rest.createObject(o, opts);
  }

  replaceObject(o: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.rest.replaceObject(o, opts);
  }

  readObject(h: Header): Promise<KubeObject> {
    return this.rest.readObject(h);
  }

  deleteObject(h: Header, opts: { propagationPolicy?: string; dryRun?: boolean } = {}): Promise<unknown> {
    return this.rest.deleteObject(h, opts);
  }

  listObjects(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): ReturnType<RestClient["listObjects"]> {
    return this.rest.listObjects(apiVersion, kind, namespace, labelSelector);
  }

  patchStatus(h: Header, status: unknown): Promise<KubeObject> {
    return this.rest.patchStatus(h, status);
  }

  whoami(): Promise<string> {
    return this.rest.whoami();
  }

  scopeOf(apiVersion: string, kind: string): Promise<"namespaced" | "cluster" | "unknown"> {
    return this.rest.scopeOf(apiVersion, kind);
  }

  serves(apiVersion: string, kind: string): Promise<boolean> {
    return this.rest.serves(apiVersion, kind);
  }
}
