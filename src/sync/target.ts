// The API server a GitSync's objects go to: the agent's own, or the one its spec.kubeConfig
// names (Flux's spec.kubeConfig; a team on its own control plane, model/controlplane.ts).
// The kubeconfig Secret is read with the agent's identity on the agent's cluster, each run
// (one GET: a changed Secret is seen at once); the access built from it is kept per Secret
// version, so its connections and discovery are reused across runs, and retired when the
// Secret changes or goes. The kubeconfig only ever lives in memory: no file holds it.
// Every problem is a reason and one line naming the Secret and the fix, never a throw; only
// a failure to talk to the agent's own API server is thrown, as for any other host read.

import { accessFromKubeconfigText, type KubeAccess } from "../cluster/access.js";
import { apiRefusal } from "../cluster/api-errors.js";
import type { RestClient } from "../cluster/rest.js";
import { retirePool } from "../cluster/transport.js";
import { type GitSync, kubeConfigSecretOf } from "../model/gitsync.js";
import type { KubeObject } from "../model/object.js";

/** Ready=False reasons of a kubeconfig that cannot be had or used. */
export const KUBECONFIG_NOT_FOUND = "KubeConfigNotFound";
export const KUBECONFIG_INVALID = "KubeConfigInvalid";
export const KUBECONFIG_REFUSED = "KubeConfigRefused";

export interface RemoteTarget {
  /** The access the kubeconfig gives, shared by every run of this Secret version (no signal of its own). */
  readonly access: KubeAccess;
  /** `Secret <ns>/<name>, key <key>`: for messages. */
  readonly source: string;
}

export type TargetResult = { readonly remote: RemoteTarget | undefined } | { readonly failure: { readonly reason: string; readonly message: string } };

interface Entry {
  /** The Secret's uid and resourceVersion the access was built from. */
  readonly version: string;
  readonly access: KubeAccess;
}

/** `Secret <ns>/<name>, key <key>`. */
export function describeSecret(s: { namespace: string; name: string; key: string }): string {
  return `Secret ${s.namespace}/${s.name}, key ${s.key}`;
}

/** Remote accesses by kubeconfig Secret and key; one per process by default. */
export class RemoteAccesses {
  private readonly entries = new Map<string, Entry>();

  /** How many accesses are kept (for tests). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Where `gs`'s objects go: undefined for the agent's own API server (no spec.kubeConfig),
   * else the access its kubeconfig Secret gives, or why there is none. `host` is the agent's
   * own client. The caller has checked kubeConfigRefusal(gs) first.
   */
  async resolve(host: Pick<RestClient, "readObject">, gs: GitSync): Promise<TargetResult> {
    const secret = kubeConfigSecretOf(gs);
    if (secret === undefined) return { remote: undefined };
    const source = describeSecret(secret);
    const cacheKey = `${secret.namespace}/${secret.name}/${secret.key}`;
    const none = " Nothing was applied or pruned.";
    let object: KubeObject;
    try {
      object = await host.readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: secret.name, namespace: secret.namespace } });
    } catch (e) {
      const r = apiRefusal(e);
      if (r === undefined) throw e;
      if (r.code === 404) {
        this.drop(cacheKey);
        return {
          failure: {
            reason: KUBECONFIG_NOT_FOUND,
            message: `kubeconfig ${source}: Secret ${secret.namespace}/${secret.name} not found: create it with the kubeconfig of the API server to apply into under key ${secret.key} (for a KubeFlex control plane, KubeFlex writes it once the control plane is ready).${none}`,
          },
        };
      }
      return { failure: { reason: KUBECONFIG_NOT_FOUND, message: `kubeconfig ${source}: the agent cannot read the Secret (HTTP ${String(r.code)}: ${r.message}): grant the agent get on it, or name a Secret it can read.${none}` } };
    }
    const data = (object as { data?: Record<string, string> }).data ?? {};
    const encoded = data[secret.key];
    if (encoded === undefined) {
      this.drop(cacheKey);
      const keys = Object.keys(data).sort();
      return {
        failure: {
          reason: KUBECONFIG_NOT_FOUND,
          message: `kubeconfig ${source}: the Secret has no key ${secret.key} (${keys.length === 0 ? "it has no keys" : `its keys: ${keys.join(", ")}`}): set spec.kubeConfig.secretRef.key to the key that holds the kubeconfig, or add it to the Secret.${none}`,
        },
      };
    }
    const meta = object.metadata as { uid?: string; resourceVersion?: string };
    const version = `${meta.uid ?? ""}/${meta.resourceVersion ?? ""}`;
    const cached = this.entries.get(cacheKey);
    if (cached?.version === version) return { remote: { access: cached.access, source } };
    this.drop(cacheKey);
    const parsed = accessFromKubeconfigText(Buffer.from(encoded, "base64").toString("utf8"));
    if ("problem" in parsed) {
      return {
        failure: {
          reason: KUBECONFIG_INVALID,
          message: `kubeconfig ${source}: it cannot be used: ${parsed.problem}. Put a kubeconfig there whose current context names the API server to apply into, with inline credentials (a token, a client certificate or basic auth).${none}`,
        },
      };
    }
    this.entries.set(cacheKey, { version, access: parsed.access });
    return { remote: { access: parsed.access, source } };
  }

  /** Forgets the access of `key` and closes its idle connections. */
  private drop(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    retirePool(old.access);
  }
}
