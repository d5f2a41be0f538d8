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
import { createSecureContext } from "node:tls";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { Cluster, User as KubeconfigUser } from "@kubernetes/client-node";
import { parse, parseDocument } from "yaml";
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
  /** The most one answer's body may be (transport.ts refuses past it, unbuffered); none when absent. */
  readonly maxResponseBytes?: number | undefined;
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

function named(doc: Raw, list: string, refuse: (why: string) => Error): [string, Raw][] {
  const items = doc[list] ?? [];
  if (!Array.isArray(items)) throw refuse(`${list} is not a list`);
  const seen = new Set<string>();
  return items.flatMap((item: unknown, i): [string, Raw][] => {
    if (typeof item !== "object" || item === null) throw refuse(`${list}[${String(i)}] is not a mapping`);
    const name = str(item as Raw, "name");
    if (name === undefined) throw refuse(`${list}[${String(i)}].name is missing`);
    // Which of two same-named entries counts is ambiguous (ctx edits the first): refuse, as kubectl does.
    if (seen.has(name)) throw refuse(`${list} has two entries named ${name}`);
    seen.add(name);
    const field = list.slice(0, -1);
    const value = (item as Raw)[field];
    return [[name, typeof value === "object" && value !== null ? (value as Raw) : {}]];
  });
}

/**
 * Where a kubeconfig's text came from. A file's relative paths are relative to it, and its
 * exec plugins and auth providers run (it is the user's own). A kubeconfig read from a Secret
 * must be self-contained: it may not name a file (the agent's own token or key would go to
 * whatever server the Secret names) nor run a program.
 */
type Origin = { readonly file: string } | { readonly selfContained: true };

/** The fields a self-contained kubeconfig may not use, and what to use instead. */
const FILE_FIELDS: readonly (readonly [string, string])[] = [
  ["certificate-authority", "certificate-authority-data"],
  ["client-certificate", "client-certificate-data"],
  ["client-key", "client-key-data"],
  ["tokenFile", "token"],
  ["token-file", "token"],
];

function entriesOf(doc: unknown, origin: Origin, refuse: (why: string) => Error): Entries {
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw refuse("it is not a kubeconfig (a YAML mapping)");
  const raw = doc as Raw;
  const dir = "file" in origin ? dirname(origin.file) : undefined;
  const path = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) || dir === undefined ? p : join(dir, p));
  const selfContained = (what: string, o: Raw): void => {
    if (dir !== undefined) return;
    for (const [field, instead] of FILE_FIELDS) {
      if (o[field] !== undefined) throw refuse(`${what} names a file (${field}): a kubeconfig in a Secret must carry it inline (${instead})`);
    }
    if (o.exec !== undefined && o.exec !== null) throw refuse(`${what} runs an exec plugin: a kubeconfig in a Secret may not make tenantry run a program; use a token or a client certificate`);
    if (o["auth-provider"] !== undefined && o["auth-provider"] !== null) throw refuse(`${what} uses an auth provider: a kubeconfig in a Secret may only use a token, a client certificate or basic auth`);
  };
  const clusters = new Map<string, Cluster>();
  for (const [name, c] of named(raw, "clusters", refuse)) {
    selfContained(`cluster ${name}`, c);
    const server = str(c, "server");
    if (server === undefined) throw refuse(`cluster ${name} has no server`);
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
  for (const [name, u] of named(raw, "users", refuse)) {
    selfContained(`user ${name}`, u);
    const tokenFile = path(str(u, "tokenFile") ?? str(u, "token-file"));
    let token = str(u, "token");
    if (token === undefined && tokenFile !== undefined) {
      try {
        token = readFileSync(tokenFile, "utf8").trim();
      } catch (e) {
        throw refuse(`user ${name}'s token file ${tokenFile}: ${(e as Error).message}`);
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
  return { current: str(raw, "current-context"), clusters, users, contexts: new Map(named(raw, "contexts", refuse)) };
}

function readEntries(file: string): Entries {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw fail(file, (e as Error).message.split("\n")[0] ?? "unreadable");
  }
  return entriesOf(doc, { file }, (why) => fail(file, why));
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
  return accessOf(merge(files), context, (why) => fail(label, why));
}

/** The access of context `context` (else the current one) of `e`. */
function accessOf(e: Entries, context: string | undefined, refuse: (why: string) => Error): KubeAccess {
  const name = context ?? e.current;
  if (name === undefined || name === "") throw refuse("it has no current-context: set one (kubectl config use-context NAME)");
  const ctx = e.contexts.get(name);
  if (ctx === undefined) throw refuse(`it has no context ${name}`);
  const cluster = e.clusters.get(str(ctx, "cluster") ?? "");
  if (cluster === undefined) throw refuse(`context ${name} names cluster ${str(ctx, "cluster") ?? "(none)"}, which it does not have`);
  const userName = str(ctx, "user");
  const user = userName === undefined ? { name: "" } : e.users.get(userName);
  if (user === undefined) throw refuse(`context ${name} names user ${userName ?? ""}, which it does not have`);
  return { context: name, cluster, user, namespace: str(ctx, "namespace") ?? "default" };
}

/** Why `access` cannot be used for a request (a server that is no http(s) URL, certificates or a key TLS cannot load), if so. */
function usableProblem(access: KubeAccess): string | undefined {
  const { cluster, user } = access;
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    return `cluster ${cluster.name}'s server is not a URL: give one like https://host:6443`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `cluster ${cluster.name}'s server is not an http(s) URL: give one like https://host:6443`;
  const pem = (data: string | undefined): Buffer | undefined => (data === undefined || data === "" ? undefined : Buffer.from(data, "base64"));
  const [ca, cert, key] = [pem(cluster.caData), pem(user.certData), pem(user.keyData)];
  for (const [field, value, marker] of [["certificate-authority-data", ca, "CERTIFICATE-----"], ["client-certificate-data", cert, "CERTIFICATE-----"], ["client-key-data", key, "KEY-----"]] as const) {
    if (value !== undefined && !value.toString("latin1").includes(marker)) return `its ${field} is not base64 of PEM (no ${marker.replace(/-+$/, "")} block)`;
  }
  if ((cert === undefined) !== (key === undefined)) return `user ${user.name} has ${cert === undefined ? "client-key-data without client-certificate-data" : "client-certificate-data without client-key-data"}`;
  try {
    createSecureContext({ ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return `its certificate-authority-data, client-certificate-data or client-key-data cannot be used (${typeof code === "string" ? code : "not base64 of PEM"})`;
  }
  return undefined;
}

/** The most a kubeconfig read from a Secret may be: a real one is a few KiB. */
export const KUBECONFIG_TEXT_MAX_BYTES = 64 * 1024;

/**
 * The most one answer of the API server a Secret's kubeconfig names may be: that server may
 * be anyone's (an `external` control plane), and one endless answer would fill the agent's
 * memory. A team's render is at most 4 MiB; discovery and its lists are far below this.
 */
export const KUBECONFIG_RESPONSE_MAX_BYTES = 32 * 1024 * 1024;

/**
 * The access a kubeconfig's text gives (a Secret's: Flux's spec.kubeConfig), or the problem
 * with it as one line that quotes nothing of the text. It must be self-contained: no file
 * paths, no exec plugin or auth provider (a Secret must not make tenantry run a program or
 * send a file of its own); a token, a client certificate or basic auth. Its current context
 * counts, else its only one. The server must be an http(s) URL and the certificates and key
 * usable; nothing is written to disk. Text over KUBECONFIG_TEXT_MAX_BYTES is refused unread.
 */
export function accessFromKubeconfigText(text: string): { readonly access: KubeAccess } | { readonly problem: string } {
  // Before parsing: the YAML parser's memory grows far beyond its input (1 MB of `[` is ~600 MB).
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > KUBECONFIG_TEXT_MAX_BYTES) return { problem: `it is ${String(bytes)} bytes, more than a kubeconfig's ${String(KUBECONFIG_TEXT_MAX_BYTES)} (64 KiB)` };
  class Problem extends Error {}
  try {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    const first = doc.errors[0];
    // The position only: a parser's message may quote the text, and this text holds credentials.
    if (first !== undefined) return { problem: `it is not YAML (${first.code} at line ${String(text.slice(0, first.pos[0]).split("\n").length)})` };
    const e = entriesOf(doc.toJS() as unknown, { selfContained: true }, (why) => new Problem(why));
    const only = e.contexts.size === 1 ? [...e.contexts.keys()][0] : undefined;
    const access = accessOf(e, e.current === undefined || e.current === "" ? only : e.current, (why) => new Problem(why));
    const unusable = usableProblem(access);
    return unusable === undefined ? { access: { ...access, maxResponseBytes: KUBECONFIG_RESPONSE_MAX_BYTES } } : { problem: unusable };
  } catch (e) {
    if (e instanceof Problem) return { problem: e.message };
    // Anything else the parser or toJS throws (yaml's ReferenceError "Excessive alias count"
    // of an alias bomb, a RangeError of deep nesting) is this text's problem too; by name
    // only, as its message may quote the text.
    const name = e instanceof Error ? e.name : typeof e;
    return { problem: /alias/i.test(e instanceof Error ? e.message : "") ? `it is not YAML tenantry reads (${name}: too many aliases)` : `it is not YAML tenantry reads (${name})` };
  }
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
