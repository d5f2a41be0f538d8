// Who tenantry talks to the API server as: one cluster, one user, one context, read once at
// the edge from a kubeconfig (or the Pod's own ServiceAccount) and handed to RestClient. The
// one way to get one is loadAccess; the one way to act as someone else is impersonate.
//
// tenantry reads kubeconfigs itself, as kubectl does: --kubeconfig FILE, else every file of
// $KUBECONFIG merged (the first file to set a name or current-context wins), else
// ~/.kube/config, else in-cluster. Exec plugins and auth providers are kept as written and
// run by client-node's authenticators when a request needs their headers (transport.ts);
// importing client-node costs ~78 MB of RSS, so nothing else loads it.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { Cluster, User as KubeconfigUser } from "@kubernetes/client-node";
import { parse } from "yaml";
import { ExitCode, TenantryError } from "../errors.js";

export type { Cluster };

/** A kubeconfig user, and the groups to impersonate with impersonateUser (Impersonate-Group). */
export type User = KubeconfigUser & { readonly impersonateGroups?: readonly string[] };

export interface KubeAccess {
  /** The context's name, for messages and for choosing another one. */
  readonly context: string;
  readonly cluster: Cluster;
  readonly user: User;
  /** Where namespaced objects without a namespace go: the context's namespace, or `default`. */
  readonly namespace: string;
  /** Aborts every request made through this access, in flight or not (a cancelled reconcile). */
  readonly signal?: AbortSignal | undefined;
}

const IN_CLUSTER = "/var/run/secrets/kubernetes.io/serviceaccount";

type Raw = Record<string, unknown>;

const str = (o: Raw | undefined, k: string): string | undefined => (typeof o?.[k] === "string" ? o[k] : undefined);
const optional = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });

/** One kubeconfig file's entries, with relative paths made absolute (they are relative to the file). */
interface Entries {
  readonly current: string | undefined;
  readonly clusters: Map<string, Cluster>;
  readonly users: Map<string, User>;
  readonly contexts: Map<string, Raw>;
}

function fail(file: string, why: string): TenantryError {
  return new TenantryError(`cannot read kubeconfig ${file}: ${why}: pass --kubeconfig FILE`, ExitCode.invalid);
}

function named(doc: Raw, list: string, file: string): [string, Raw][] {
  const items = doc[list] ?? [];
  if (!Array.isArray(items)) throw fail(file, `${list} is not a list`);
  const seen = new Set<string>();
  return items.flatMap((item: unknown, i): [string, Raw][] => {
    if (typeof item !== "object" || item === null) throw fail(file, `${list}[${String(i)}] is not a mapping`);
    const name = str(item as Raw, "name");
    if (name === undefined) throw fail(file, `${list}[${String(i)}].name is missing`);
    // Which of two same-named entries counts is ambiguous (ctx edits the first): refuse, as kubectl does.
    if (seen.has(name)) throw fail(file, `${list} has two entries named ${name}`);
    seen.add(name);
    const field = list.slice(0, -1);
    const value = (item as Raw)[field];
    return [[name, typeof value === "object" && value !== null ? (value as Raw) : {}]];
  });
}

function readEntries(file: string): Entries {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw fail(file, (e as Error).message.split("\n")[0] ?? "unreadable");
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw fail(file, "it is not a kubeconfig (a YAML mapping)");
  const raw = doc as Raw;
  const dir = dirname(file);
  const path = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : join(dir, p));
  const clusters = new Map<string, Cluster>();
  for (const [name, c] of named(raw, "clusters", file)) {
    const server = str(c, "server");
    if (server === undefined) throw fail(file, `cluster ${name} has no server`);
    clusters.set(name, {
      name,
      server: server.replace(/\/+$/, ""),
      skipTLSVerify: c["insecure-skip-tls-verify"] === true,
      ...optional("caData", str(c, "certificate-authority-data")),
      ...optional("caFile", path(str(c, "certificate-authority"))),
      ...optional("tlsServerName", str(c, "tls-server-name")),
      ...optional("proxyUrl", str(c, "proxy-url")),
    });
  }
  const users = new Map<string, User>();
  for (const [name, u] of named(raw, "users", file)) {
    const tokenFile = path(str(u, "tokenFile") ?? str(u, "token-file"));
    let token = str(u, "token");
    if (token === undefined && tokenFile !== undefined) {
      try {
        token = readFileSync(tokenFile, "utf8").trim();
      } catch (e) {
        throw fail(file, `user ${name}'s token file ${tokenFile}: ${(e as Error).message}`);
      }
    }
    users.set(name, {
      name,
      ...optional("certData", str(u, "client-certificate-data")),
      ...optional("certFile", path(str(u, "client-certificate"))),
      ...optional("keyData", str(u, "client-key-data")),
      ...optional("keyFile", path(str(u, "client-key"))),
      ...optional("token", token),
      ...optional("username", str(u, "username")),
      ...optional("password", str(u, "password")),
      ...optional("impersonateUser", str(u, "as")),
      // Run by client-node's authenticators (transport.ts), in the shape its loader gives them.
      ...optional("exec", u.exec ?? undefined),
      ...optional("authProvider", u["auth-provider"] ?? undefined),
    });
  }
  return { current: str(raw, "current-context"), clusters, users, contexts: new Map(named(raw, "contexts", file)) };
}

/** Several files as one, by kubectl's rule: the first file to set a name (or current-context) wins. */
function merge(files: readonly string[]): Entries {
  const out: Entries = { current: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  let current: string | undefined;
  for (const file of files) {
    if (!existsSync(file)) continue;
    const e = readEntries(file);
    current ??= e.current;
    for (const [k, v] of e.clusters) if (!out.clusters.has(k)) out.clusters.set(k, v);
    for (const [k, v] of e.users) if (!out.users.has(k)) out.users.set(k, v);
    for (const [k, v] of e.contexts) if (!out.contexts.has(k)) out.contexts.set(k, v);
  }
  return { ...out, current };
}

/** The files `file` or the environment name, in kubectl's order; [] means in-cluster. */
function sources(file: string | undefined): { files: string[]; label: string } {
  if (file !== undefined) {
    if (!existsSync(file)) throw fail(file, "no such file");
    return { files: [file], label: file };
  }
  const env = process.env.KUBECONFIG;
  if (env !== undefined && env !== "") {
    const files = env.split(delimiter).filter((f) => f !== "");
    return { files, label: `$KUBECONFIG (${env})` };
  }
  const home = join(homedir(), ".kube", "config");
  return existsSync(home) ? { files: [home], label: home } : { files: [], label: "in-cluster" };
}

/** The Pod's own ServiceAccount; its token file is re-read as the kubelet rotates it (transport.ts). */
function inCluster(): KubeAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || port === undefined || !existsSync(`${IN_CLUSTER}/token`)) {
    throw new TenantryError("no kubeconfig: none given, $KUBECONFIG is empty, ~/.kube/config does not exist and this is not a Pod: pass --kubeconfig FILE", ExitCode.invalid);
  }
  const h = host.includes(":") ? `[${host}]` : host;
  const ns = existsSync(`${IN_CLUSTER}/namespace`) ? readFileSync(`${IN_CLUSTER}/namespace`, "utf8").trim() : "default";
  return {
    context: "in-cluster",
    cluster: { name: "in-cluster", server: `https://${h}:${port}`, caFile: `${IN_CLUSTER}/ca.crt`, skipTLSVerify: false },
    user: { name: "in-cluster", authProvider: { name: "tokenFile", config: { tokenFile: `${IN_CLUSTER}/token` } } },
    namespace: ns,
  };
}

/**
 * Credentials from `file`, or $KUBECONFIG / ~/.kube/config / in-cluster when absent, for the
 * current context or the named one. A problem with the kubeconfig is one line, exit 2.
 */
export function loadAccess(file?: string, context?: string): KubeAccess {
  const { files, label } = sources(file);
  if (files.length === 0) return inCluster();
  const e = merge(files);
  const name = context ?? e.current;
  if (name === undefined || name === "") throw fail(label, "it has no current-context: set one (kubectl config use-context NAME)");
  const ctx = e.contexts.get(name);
  if (ctx === undefined) throw fail(label, `it has no context ${name}`);
  const cluster = e.clusters.get(str(ctx, "cluster") ?? "");
  if (cluster === undefined) throw fail(label, `context ${name} names cluster ${str(ctx, "cluster") ?? "(none)"}, which it does not have`);
  const userName = str(ctx, "user");
  const user = userName === undefined ? { name: "" } : e.users.get(userName);
  if (user === undefined) throw fail(label, `context ${name} names user ${userName ?? ""}, which it does not have`);
  return { context: name, cluster, user, namespace: str(ctx, "namespace") ?? "default" };
}

/** The context names of `file` (or of the environment's kubeconfigs); [] when there are none. */
export function contextNames(file?: string): string[] {
  const { files } = sources(file);
  return [...merge(files).contexts.keys()];
}

/**
 * A copy of `access` whose requests impersonate `user`: a ServiceAccount gets its groups from
 * the API server; a person's groups are given (`groups`).
 */
export function impersonate(access: KubeAccess, user: string, groups?: readonly string[]): KubeAccess {
  return {
    ...access,
    context: `${access.context}-as-${user}`,
    user: { ...access.user, name: `${access.user.name}-as-${user}`, impersonateUser: user, ...(groups === undefined ? {} : { impersonateGroups: groups }) },
  };
}

/** `access` whose every request is aborted when `signal` is: on the wire, not only before it. */
export function withSignal(access: KubeAccess, signal: AbortSignal): KubeAccess {
  return { ...access, signal };
}
