// HTTP to the API server with one keep-alive agent per server and TLS identity.
// client-node 1.4 builds a new https.Agent for every request (kubernetes-client/javascript
// #2893): every request paid a TLS handshake and a fresh SecureContext, which made a no-op
// re-apply of 850 objects take 14-16 s instead of 6 s and churned native memory. Requests
// here share pooled connections; auth headers are still computed per request, so rotated
// tokens (in-cluster token files, exec plugins) are picked up. A kubeconfig's proxy-url is
// honoured like client-node does (hpagent for HTTP(S) proxies, socks-proxy-agent for SOCKS).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { HttpProxyAgent, HttpsProxyAgent } from "hpagent";
import { SocksProxyAgent } from "socks-proxy-agent";
import { ExitCode, TenantryError } from "../errors.js";
import type { Cluster, KubeAccess, User } from "./access.js";
import { ApiError, ClusterConnectionError, connectionFailure } from "./api-errors.js";

export interface Connection {
  readonly server: string;
  /**
   * Where requests go and whom they trust: the server, the proxy, the CA and TLS settings
   * (not the client's identity). Discovery is cached per endpoint: a kubeconfig that names a
   * server through another proxy, or trusts another CA, may not be talking to that server,
   * and must not fill the cache others read.
   */
  readonly endpoint: string;
  readonly agent: http.Agent;
  /** Aborts this connection's requests, on the wire too; an aborted request rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** The most one answer's body may be: past it the request is destroyed, not buffered. */
  readonly maxResponseBytes?: number | undefined;
  headers(): Promise<Record<string, string | string[]>>;
}

export interface Request {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs?: number;
  /** A cap on this answer's bytes, below the connection's own (a list's pages share one). */
  readonly maxBytes?: number;
}

/** Connections are shared: several clients of one server and identity reuse one pool. */
const agents = new Map<string, http.Agent>();
const connections = new WeakMap<KubeAccess, Connection>();

/** A file the kubeconfig names that cannot be read: one line naming the field and the file. */
function kubeconfigFile(field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new TenantryError(`the kubeconfig's ${field} ${file} cannot be read (${why}): fix the path in the kubeconfig (it is relative to the kubeconfig's own directory)`, ExitCode.invalid);
  }
}

const read = (field: string, file: string | undefined | null, data: string | undefined | null): Buffer | undefined => {
  if (data != null && data !== "") return Buffer.from(data, "base64");
  if (file != null && file !== "") return kubeconfigFile(field, file);
  return undefined;
};

function agentFor(cluster: Cluster, user: User): { agent: http.Agent; endpoint: string } {
  const { id, endpoint, server, proxy, tls } = poolOf(cluster, user);
  let agent = agents.get(id);
  if (agent === undefined) {
    agent = newAgent(server, proxy, tls);
    agents.set(id, agent);
  }
  return { agent, endpoint };
}

/** The pool key of a cluster and user: its server and TLS identity (tokens are headers, not part of it). */
function poolOf(cluster: Cluster, user: User): { id: string; endpoint: string; server: string; proxy: string; tls: https.AgentOptions } {
  const tls: https.AgentOptions = {};
  const ca = read("certificate-authority", cluster.caFile, cluster.caData);
  const cert = read("client-certificate", user.certFile, user.certData);
  const key = read("client-key", user.keyFile, user.keyData);
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (cluster.skipTLSVerify) tls.rejectUnauthorized = false;
  if (cluster.tlsServerName != null) tls.servername = cluster.tlsServerName;
  const proxy = cluster.proxyUrl ?? "";
  const id = createHash("sha256")
    .update([cluster.server, ca?.toString("base64"), cert?.toString("base64"), key?.toString("base64"), String(cluster.skipTLSVerify), cluster.tlsServerName, proxy].join("\0"))
    .digest("hex");
  const endpoint = createHash("sha256")
    .update([cluster.server, ca?.toString("base64"), String(cluster.skipTLSVerify), cluster.tlsServerName, proxy].join("\0"))
    .digest("hex");
  return { id, endpoint, server: cluster.server, proxy, tls };
}

/**
 * Forgets the pool of `access`'s server and TLS identity and closes its idle connections:
 * for credentials that were replaced (a kubeconfig Secret that changed). Requests in flight
 * finish; a later request with the same identity opens a new pool. (A connection that
 * still holds the old pool keeps working with it.)
 */
export function retirePool(access: KubeAccess): void {
  let id: string;
  try {
    id = poolOf(access.cluster, access.user).id;
  } catch {
    return; // credentials that cannot be read have no pool
  }
  const agent = agents.get(id);
  if (agent === undefined) return;
  agents.delete(id);
  for (const list of Object.values(agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
}

/** A keep-alive pool, through the kubeconfig's proxy-url if it has one (as client-node does). */
function newAgent(server: string, proxy: string, tls: https.AgentOptions): http.Agent {
  const pool = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 16, maxFreeSockets: 16, scheduling: "lifo" as const };
  const plain = server.startsWith("http:");
  if (proxy === "") return plain ? new http.Agent(pool) : new https.Agent({ ...pool, ...tls });
  if (/^socks[45]?h?:\/\//.test(proxy)) return new SocksProxyAgent(proxy, { ...pool, ...tls });
  if (!/^https?:\/\//.test(proxy)) throw new TenantryError(`kubeconfig proxy-url ${proxy}: use an http://, https:// or socks5:// proxy`, ExitCode.invalid);
  return plain ? new HttpProxyAgent({ ...pool, proxy }) : new HttpsProxyAgent({ ...pool, ...tls, proxy });
}

/** Bearer tokens from a file are re-read at most once a minute (the kubelet rotates them). */
function tokenFileReader(file: string): () => string {
  let token = "";
  let at = 0;
  return () => {
    if (Date.now() - at > 60_000) {
      token = kubeconfigFile("tokenFile", file).toString("utf8").trim();
      at = Date.now();
    }
    return token;
  };
}

/** Headers of users tenantry does not authenticate itself: client-node's authenticators. */
function delegatedHeaders(cluster: Cluster, user: User): () => Promise<Record<string, string | string[]>> {
  let kc: Promise<KubeConfig> | undefined;
  return async () => {
    kc ??= import("@kubernetes/client-node").then(({ KubeConfig }) => {
      const c = new KubeConfig();
      c.loadFromClusterAndUser(cluster, user);
      return c;
    });
    const opts: https.RequestOptions = {};
    await (await kc).applyToHTTPSOptions(opts);
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
    if (opts.auth != null) out.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    if (user.impersonateGroups !== undefined && user.impersonateGroups.length > 0) out["Impersonate-Group"] = [...user.impersonateGroups];
    return out;
  };
}

function headersFor(cluster: Cluster, user: User): () => Promise<Record<string, string | string[]>> {
  const provider = user.authProvider as { name?: string; config?: { tokenFile?: string } } | null | undefined;
  const tokenFile = provider?.config?.tokenFile;
  if (user.exec != null || (provider != null && tokenFile === undefined)) return delegatedHeaders(cluster, user);
  const fileToken = tokenFile === undefined ? undefined : tokenFileReader(tokenFile);
  return () => {
    const h: Record<string, string | string[]> = {};
    const token = fileToken?.() ?? user.token;
    if (token != null && token !== "") h.Authorization = `Bearer ${token}`;
    else if (user.username != null) h.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64")}`;
    if (user.impersonateUser != null) h["Impersonate-User"] = user.impersonateUser;
    if (user.impersonateGroups !== undefined && user.impersonateGroups.length > 0) h["Impersonate-Group"] = [...user.impersonateGroups];
    return Promise.resolve(h);
  };
}

/** The connection of `access`'s cluster and user (cached per access object). */
export function connectionOf(access: KubeAccess): Connection {
  let c = connections.get(access);
  if (c === undefined) {
    const { cluster, user } = access;
    const { agent, endpoint } = agentFor(cluster, user);
    c = { server: cluster.server.replace(/\/+$/, ""), endpoint, agent, headers: headersFor(cluster, user), signal: access.signal, maxResponseBytes: access.maxResponseBytes };
    connections.set(access, c);
  }
  return c;
}

interface Prepared {
  readonly url: URL;
  readonly lib: typeof http | typeof https;
  readonly headers: Record<string, string | string[]>;
  readonly body: string | undefined;
  readonly request: { server: string; method: string; path: string };
  readonly noAnswer: (e: unknown) => Error;
}

/** The URL, headers and body of `r`, and how a failure with no answer reads. */
async function prepare(conn: Connection, r: Request): Promise<Prepared> {
  let url: URL;
  try {
    url = new URL(conn.server + r.path);
  } catch {
    throw new TenantryError(`the kubeconfig's server ${conn.server} is not a URL: give one like https://host:6443`, ExitCode.invalid);
  }
  const request = { server: conn.server, method: r.method, path: r.path };
  const signal = conn.signal;
  const noAnswer = (e: unknown): Error => {
    if (signal?.aborted === true) return signal.reason instanceof Error ? signal.reason : new Error("request aborted");
    return connectionFailure(e, conn.server) ?? (e instanceof Error ? e : new Error(String(e)));
  };
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const body = r.body === undefined ? undefined : JSON.stringify(r.body);
  let auth: Record<string, string | string[]>;
  try {
    auth = await conn.headers();
  } catch (e) {
    if (e instanceof TenantryError) throw e;
    // An exec plugin or auth provider that failed (client-node's authenticators throw plain errors).
    const why = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim().slice(0, 300);
    throw new TenantryError(`cannot get credentials for ${conn.server} from the kubeconfig's user (${why}): check its exec plugin or auth provider, or use another kubeconfig (--kubeconfig)`, ExitCode.external);
  }
  const headers: Record<string, string | string[]> = { Accept: "application/json", ...auth };
  if (body !== undefined) {
    headers["Content-Type"] = r.contentType ?? "application/json";
    headers["Content-Length"] = String(Buffer.byteLength(body));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TenantryError(`the kubeconfig's server ${conn.server} is not an http(s) URL: give one like https://host:6443`, ExitCode.invalid);
  }
  return { url, lib: url.protocol === "http:" ? http : https, headers, body, request, noAnswer };
}

/**
 * One request; resolves with the parsed JSON body of a 2xx answer, throws ApiError (with the
 * request) for any other answer and ClusterConnectionError when there was no answer (refused,
 * unresolved, TLS, timeout).
 */
export async function send<T>(conn: Connection, r: Request): Promise<T> {
  return (await sendSized(conn, r)).body as T;
}

/** send, and how many bytes the answer's body had. */
export async function sendSized(conn: Connection, r: Request): Promise<{ body: unknown; bytes: number }> {
  const { url, lib, headers, body, request, noAnswer } = await prepare(conn, r);
  const signal = conn.signal;
  signal?.throwIfAborted();
  return new Promise<{ body: unknown; bytes: number }>((resolve, reject) => {
    // A bad certificate or key in the kubeconfig throws here, before any 'error' event.
    let req: http.ClientRequest;
    try {
      req = lib.request(url, { method: r.method, headers, agent: conn.agent, timeout: r.timeoutMs ?? 60_000, ...(signal === undefined ? {} : { signal }) }, (res) => {
        const chunks: Buffer[] = [];
        const cap = r.maxBytes === undefined ? conn.maxResponseBytes : Math.min(r.maxBytes, conn.maxResponseBytes ?? Infinity);
        let size = 0;
        let refused = false;
        const tooLarge = (): void => {
          refused = true;
          chunks.length = 0;
          const e = new ClusterConnectionError(`the server at ${conn.server} answered ${r.method} ${r.path} with more than ${String(cap)} bytes: response too large, refused unread past that`, "ERESPONSETOOLARGE", conn.server);
          reject(e);
          req.destroy(e);
        };
        // Refused by its announced length, else once what came is past the cap.
        if (cap !== undefined && Number(res.headers["content-length"] ?? 0) > cap) {
          tooLarge();
          return;
        }
        res.on("data", (c: Buffer) => {
          if (refused) return;
          size += c.length;
          if (cap !== undefined && size > cap) tooLarge();
          else chunks.push(c);
        });
        res.on("error", (e) => {
          reject(noAnswer(e));
        });
        res.on("end", () => {
          if (refused) return;
          const text = Buffer.concat(chunks).toString("utf8");
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) {
            reject(new ApiError(code, text, request));
            return;
          }
          try {
            resolve({ body: text === "" ? {} : (JSON.parse(text) as unknown), bytes: size });
          } catch {
            reject(new TenantryError(`the server at ${conn.server} answered ${r.method} ${r.path} with something that is not JSON: is ${conn.server} a Kubernetes API server? Check the kubeconfig's server`, ExitCode.external));
          }
        });
      });
    } catch (e) {
      reject(noAnswer(e));
      return;
    }
    req.on("timeout", () => req.destroy(Object.assign(new Error(`request to ${url.host} timed out`), { code: "ETIMEDOUT" })));
    req.on("error", (e) => {
      reject(noAnswer(e));
    });
    req.end(body);
  });
}

/**
 * A streaming GET (a watch): yields each newline-delimited JSON document of a 2xx answer as it
 * arrives, until the server ends the stream, the connection's signal aborts, or the consumer
 * stops (the request is then destroyed). The answer's headers are waited for `r.timeoutMs`
 * (60 s); then the stream may send nothing for at most `idleMs`. A non-2xx answer throws
 * ApiError; no answer, or a connection that broke or went quiet, ClusterConnectionError. A
 * document longer than `maxLineBytes` ends the stream with an error instead of being buffered.
 */
export async function* streamJson<T>(conn: Connection, r: Request, maxLineBytes: number, idleMs: number): AsyncGenerator<T> {
  const { url, lib, headers, body, request, noAnswer } = await prepare(conn, r);
  const signal = conn.signal;
  signal?.throwIfAborted();
  let req: http.ClientRequest | undefined;
  let quiet: Error | undefined;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    try {
      req = lib.request(url, { method: r.method, headers, agent: conn.agent, timeout: r.timeoutMs ?? 60_000, ...(signal === undefined ? {} : { signal }) }, resolve);
    } catch (e) {
      reject(noAnswer(e));
      return;
    }
    const sent = req;
    sent.on("timeout", () => {
      quiet = Object.assign(new Error(`request to ${url.host} timed out`), { code: "ETIMEDOUT" });
      sent.destroy(quiet);
    });
    sent.on("error", (e) => {
      reject(noAnswer(e));
    });
    sent.end(body);
  });
  req?.setTimeout(idleMs);
  try {
    const code = res.statusCode ?? 0;
    if (code < 200 || code > 299) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res as AsyncIterable<Buffer>) {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      }
      throw new ApiError(code, Buffer.concat(chunks).toString("utf8"), request);
    }
    let pending: Buffer[] = [];
    let pendingSize = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        let rest = chunk;
        for (let nl = rest.indexOf(10); nl !== -1; nl = rest.indexOf(10)) {
          pending.push(rest.subarray(0, nl));
          const line = Buffer.concat(pending).toString("utf8");
          pending = [];
          pendingSize = 0;
          rest = rest.subarray(nl + 1);
          if (line.trim() === "") continue;
          let doc: T;
          try {
            doc = JSON.parse(line) as T;
          } catch {
            throw new TenantryError(`the server at ${conn.server} streamed ${r.method} ${r.path} with a line that is not JSON: is ${conn.server} a Kubernetes API server? Check the kubeconfig's server`, ExitCode.external);
          }
          yield doc;
        }
        pendingSize += rest.length;
        if (pendingSize > maxLineBytes) {
          throw new ClusterConnectionError(`the server at ${conn.server} streamed ${r.method} ${r.path} with a document of more than ${String(maxLineBytes)} bytes: refused unread past that`, "ERESPONSETOOLARGE", conn.server);
        }
        if (rest.length > 0) pending.push(rest);
      }
    } catch (e) {
      if (e instanceof TenantryError) throw e;
      if (quiet !== undefined && signal?.aborted !== true) {
        throw new ClusterConnectionError(`the server at ${conn.server} sent nothing on ${r.method} ${r.path} for ${String(idleMs / 1000)} s: the connection is taken for dead`, "ETIMEDOUT", conn.server);
      }
      throw noAnswer(e);
    }
  } finally {
    if (!res.complete) req?.destroy(); // the consumer stopped early, or the stream broke
  }
}
