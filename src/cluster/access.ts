// What tenantry needs of a kubeconfig to talk to a cluster: its current cluster and user.
// client-node's KubeConfig satisfies KubeAccess, and so does the light StaticAccess that
// loadAccess reads: importing client-node costs ~78 MB of RSS (it loads every generated
// model), so the long-running agent reads plain kubeconfigs and in-cluster credentials
// itself and only falls back to client-node for what it cannot (exec plugins, auth
// providers, merged KUBECONFIG lists).

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { Cluster, Context, User } from "@kubernetes/client-node";
import { parse } from "yaml";
import { TenantryError } from "../errors.js";

export type { Cluster, User };

export interface KubeAccess {
  getCurrentCluster(): Cluster | null;
  getCurrentUser(): User | null;
  getCurrentContext(): string;
  getContextObject(name: string): Context | null;
}

const IN_CLUSTER = "/var/run/secrets/kubernetes.io/serviceaccount";

/** One cluster, one user, one context: what tenantry reads, or derives by impersonation. */
export class StaticAccess implements KubeAccess {
  constructor(
    private readonly cluster: Cluster,
    private readonly user: User,
    private readonly namespace?: string,
  ) {}

  getCurrentCluster(): Cluster {
    return this.cluster;
  }

  getCurrentUser(): User {
    return this.user;
  }

  getCurrentContext(): string {
    return "tenantry";
  }

  getContextObject(name: string): Context | null {
    if (name !== "tenantry") return null;
    return { name, cluster: this.cluster.name, user: this.user.name, ...(this.namespace === undefined ? {} : { namespace: this.namespace }) };
  }
}

/** The namespace of `access`'s current context, or `default`. */
export function contextNamespace(access: KubeAccess): string {
  return access.getContextObject(access.getCurrentContext())?.namespace ?? "default";
}

/** A copy of `access` whose requests impersonate `user` (the API server adds its groups). */
export function impersonate(access: KubeAccess, user: string): KubeAccess {
  const cluster = access.getCurrentCluster();
  const current = access.getCurrentUser();
  if (cluster === null || current === null) throw new TenantryError("kubeconfig has no current cluster or user", 2);
  return new StaticAccess(cluster, { ...current, name: `${current.name}-as-${user}`, impersonateUser: user });
}

type Raw = Record<string, unknown>;

const str = (o: Raw | undefined, k: string): string | undefined => (typeof o?.[k] === "string" ? o[k] : undefined);

/** Named entry `name` of a kubeconfig list (clusters, users, contexts). */
function entry(doc: Raw, list: string, name: string | undefined, field: string): Raw | undefined {
  const items = Array.isArray(doc[list]) ? (doc[list] as Raw[]) : [];
  const found = items.find((i) => i.name === name);
  const value = found?.[field];
  return typeof value === "object" && value !== null ? (value as Raw) : undefined;
}

/** A StaticAccess from one kubeconfig file, or undefined when it needs client-node. */
function fromFile(file: string): StaticAccess | undefined {
  const doc = parse(readFileSync(file, "utf8")) as Raw | null;
  if (doc === null || typeof doc !== "object") return undefined;
  const current = str(doc, "current-context");
  const context = entry(doc, "contexts", current, "context");
  const c = entry(doc, "clusters", str(context, "cluster"), "cluster");
  const u = entry(doc, "users", str(context, "user"), "user") ?? {};
  const server = str(c, "server");
  if (context === undefined || c === undefined || server === undefined) return undefined;
  // exec plugins and auth providers: client-node's implementations.
  if (u.exec != null || u["auth-provider"] != null) return undefined;
  const dir = dirname(file);
  const path = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : join(dir, p));
  const tokenFile = path(str(u, "tokenFile") ?? str(u, "token-file"));
  const clusterName = str(context, "cluster") ?? "cluster";
  const userName = str(context, "user") ?? "user";
  const caFile = path(str(c, "certificate-authority"));
  const certFile = path(str(u, "client-certificate"));
  const keyFile = path(str(u, "client-key"));
  const optional = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
  const cluster: Cluster = {
    name: clusterName,
    server,
    skipTLSVerify: c["insecure-skip-tls-verify"] === true,
    ...optional("caData", str(c, "certificate-authority-data")),
    ...optional("caFile", caFile),
    ...optional("tlsServerName", str(c, "tls-server-name")),
    ...optional("proxyUrl", str(c, "proxy-url")),
  };
  const user: User = {
    name: userName,
    ...optional("certData", str(u, "client-certificate-data")),
    ...optional("certFile", certFile),
    ...optional("keyData", str(u, "client-key-data")),
    ...optional("keyFile", keyFile),
    ...optional("token", str(u, "token") ?? (tokenFile === undefined ? undefined : readFileSync(tokenFile, "utf8").trim())),
    ...optional("username", str(u, "username")),
    ...optional("password", str(u, "password")),
    ...optional("impersonateUser", str(u, "as")),
  };
  return new StaticAccess(cluster, user, str(context, "namespace"));
}

/** The Pod's own ServiceAccount; its token file is re-read as the kubelet rotates it. */
function inCluster(): StaticAccess | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || port === undefined || !existsSync(`${IN_CLUSTER}/token`)) return undefined;
  const h = host.includes(":") ? `[${host}]` : host;
  const ns = existsSync(`${IN_CLUSTER}/namespace`) ? readFileSync(`${IN_CLUSTER}/namespace`, "utf8").trim() : undefined;
  return new StaticAccess(
    { name: "inCluster", server: `https://${h}:${port}`, caFile: `${IN_CLUSTER}/ca.crt`, skipTLSVerify: false },
    { name: "inClusterUser", authProvider: { name: "tokenFile", config: { tokenFile: `${IN_CLUSTER}/token` } } },
    ns,
  );
}

/**
 * Credentials from `file`, or $KUBECONFIG / ~/.kube/config / in-cluster when absent, in the
 * same order as client-node's loadFromDefault. Anything this light reader does not handle
 * is loaded by client-node (imported only then).
 */
export async function loadAccess(file?: string): Promise<KubeAccess> {
  let light: StaticAccess | undefined;
  try {
    const env = process.env.KUBECONFIG;
    const single = file ?? (env !== undefined && env !== "" && !env.includes(delimiter) ? env : undefined);
    const home = join(homedir(), ".kube", "config");
    if (single !== undefined) light = fromFile(single);
    else if (env === undefined || env === "") light = existsSync(home) ? fromFile(home) : inCluster();
  } catch {
    light = undefined; // client-node reports the problem with its own message below
  }
  if (light !== undefined) return light;
  const { loadKubeConfig } = await import("./kubeconfig.js");
  return loadKubeConfig(file);
}
