// What the API server said, as data: the HTTP code and its Status message. Callers branch
// on `code`, never on message text. Also the one place that turns a failure to talk to the
// API server (network, TLS, credentials, rights, a kind it does not serve) into one line
// naming the server and the fix, for the CLI's top-level catch and for callers that map
// their own errors.

import { ExitCode, TenantryError } from "../errors.js";

/** The request an ApiError answered, for messages. */
export interface ApiRequest {
  readonly server: string;
  readonly method: string;
  readonly path: string;
}

/** A non-2xx answer of the API server: its HTTP code and body (usually a Status). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    readonly body: string,
    readonly request?: ApiRequest,
  ) {
    super(`HTTP ${code}${statusMessage(body)}`);
  }
}

/** ": <the Status's message>" of an error body, on one line and bounded, or "". */
function statusMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown } | null)?.message;
    return typeof message === "string" && message !== "" ? `: ${message.replace(/\s+/g, " ").trim().slice(0, 300)}` : "";
  } catch {
    return "";
  }
}

/**
 * No answer from the API server: the connection was refused, the name did not resolve, the
 * TLS handshake failed (an untrusted, expired or misnamed certificate), the connection broke.
 * `code` is Node's error code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN, ...).
 */
export class ClusterConnectionError extends TenantryError {
  override readonly name = "ClusterConnectionError";
  constructor(
    message: string,
    readonly code: string,
    readonly server: string,
    options?: { cause?: unknown },
  ) {
    super(message, ExitCode.external);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** The cluster does not serve a kind tenantry needs: its CRD is not installed. */
export class KindNotServedError extends TenantryError {
  override readonly name = "KindNotServedError";
  constructor(
    readonly server: string,
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(notServedMessage(server, apiVersion, kind), ExitCode.failure);
  }
}

/** Text from outside (a server's page, an error message) as one line of at most 300 characters. */
const oneLine = (text: string): string => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
};

const TENANTRY_GROUP = "tenantry.dev";

function notServedMessage(server: string, apiVersion: string, kind: string): string {
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  if (group === TENANTRY_GROUP) {
    return `the cluster at ${server} does not serve ${kind} (${apiVersion}): tenantry is not installed there: apply the admin repo's cluster/common (tenantry sync --url ADMIN_REPO_URL), or check --kubeconfig and its context`;
  }
  return `the cluster at ${server} does not serve ${kind} (${apiVersion}): install its CRD or API first, or check --kubeconfig and its context`;
}

export interface ApiRefusal {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
}

/** ApiError, or client-node's ApiException, recognised by shape: client-node is not loaded for this. */
function isApiError(e: unknown): e is { code: number; body: unknown; message: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "number" && "body" in e;
}

/** The refusal inside an API error (ours or client-node's), or undefined for anything else. */
export function apiRefusal(e: unknown): ApiRefusal | undefined {
  if (!isApiError(e)) return undefined;
  const body: unknown = e.body;
  let status: unknown = body;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body);
    } catch {
      status = undefined;
    }
    // A body that is not a Status (a proxy's or a plain HTTP server's page): its text, on one line.
    if (typeof status !== "object" || status === null) status = body.trim() === "" ? {} : { message: oneLine(body) };
  }
  const s = typeof status === "object" && status !== null ? (status as { reason?: unknown; message?: unknown }) : {};
  return { code: e.code, reason: typeof s.reason === "string" ? s.reason : "", message: typeof s.message === "string" ? s.message : e.message };
}

// Node's codes for certificates the kubeconfig's CA did not sign (or no CA given at all).
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "CERT_CHAIN_TOO_LONG",
]);
const EXPIRED = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERROR_IN_CERT_NOT_BEFORE_FIELD", "ERROR_IN_CERT_NOT_AFTER_FIELD"]);
const NO_ANSWER = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);
const BROKEN = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE", "UND_ERR_SOCKET"]);

/** The one line for a request that got no answer from `server`, or undefined when `e` is not such a failure. */
function connectionMessage(e: unknown, server: string): { code: string; message: string } | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown }; type?: unknown; message?: unknown };
  const raw = typeof err.code === "string" ? err.code : typeof err.cause?.code === "string" ? err.cause.code : undefined;
  const detail = typeof err.message === "string" ? oneLine(err.message) : "";
  const code = raw ?? (err.type === "system" ? "network error" : undefined);
  if (code === undefined) return undefined;
  if (NO_ANSWER.has(code) || err.type === "system") {
    return { code, message: `cannot reach the API server at ${server} (${code}): check the kubeconfig and that the cluster is up` };
  }
  if (UNTRUSTED.has(code)) {
    return { code, message: `the API server at ${server} presented a certificate the kubeconfig does not trust (${code}): set the cluster's certificate-authority-data (or certificate-authority) in the kubeconfig to the CA that signed the API server's certificate` };
  }
  if (EXPIRED.has(code)) {
    return { code, message: `the API server at ${server} presented a certificate that is not valid now (${code}): renew the API server's certificate, or check this machine's clock` };
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return { code, message: `the API server at ${server} presented a certificate for other names (${code}: ${detail}): use a server URL or tls-server-name in the kubeconfig that the certificate names` };
  }
  if (code === "EPROTO" || code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") {
    return { code, message: `the server at ${server} does not speak TLS as an API server does (${code}): check the server URL in the kubeconfig (https:// and the API server's port)` };
  }
  if (code.startsWith("ERR_SSL_") && /ALERT/.test(code)) {
    return { code, message: `the API server at ${server} refused the TLS handshake (${code}): its client certificate may be wrong or not signed by the cluster's CA: fix client-certificate-data/client-key-data in the kubeconfig` };
  }
  if (code.startsWith("ERR_OSSL_")) {
    return { code, message: `the kubeconfig's certificates or key for ${server} cannot be used (${code}: ${detail}): fix certificate-authority-data, client-certificate-data and client-key-data (base64 of PEM)` };
  }
  if (BROKEN.has(code)) {
    return { code, message: `the connection to the API server at ${server} broke (${code}): check the server URL and any proxy in the kubeconfig, then run the command again` };
  }
  if (code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") || code.startsWith("CERT_")) {
    return { code, message: `TLS with the API server at ${server} failed (${code}: ${detail}): check the server URL and certificates in the kubeconfig` };
  }
  return undefined;
}

/** `e` as a ClusterConnectionError when it is a request to `server` that got no answer; undefined otherwise. */
export function connectionFailure(e: unknown, server: string): ClusterConnectionError | undefined {
  if (e instanceof ClusterConnectionError) return e;
  const found = connectionMessage(e, server);
  return found === undefined ? undefined : new ClusterConnectionError(found.message, found.code, server, { cause: e });
}

/** Network failures and the like: the API server could not be reached (or trusted) at all. */
export function unreachable(e: unknown, server: string): TenantryError | undefined {
  return connectionFailure(e, server);
}

/**
 * An API refusal that reached the top without a caller handling it, as one line naming the
 * server and the fix: 401 (credentials not accepted), 403 (no right), anything else.
 */
export function refusalFailure(e: unknown): TenantryError | undefined {
  const r = apiRefusal(e);
  if (r === undefined) return undefined;
  const request = e instanceof ApiError ? e.request : undefined;
  const server = request === undefined ? "the API server" : `the API server at ${request.server}`;
  const what = request === undefined ? "" : ` ${request.method} ${request.path}`;
  const said = oneLine(r.message);
  if (r.code === 401) {
    return new TenantryError(`${server} did not accept the kubeconfig's credentials (401 Unauthorized): the token or client certificate is wrong or expired: get a new one, or use another kubeconfig or context (--kubeconfig)`, ExitCode.external);
  }
  // RBAC's refusal names the verb and resource; admission and quota refusals are 403 too, with their own reason.
  if (r.code === 403 && /\bcannot [a-z]+ resource\b/.test(said)) {
    return new TenantryError(`${server} refused${what}: ${said} (403 Forbidden): use a kubeconfig whose identity has that right (--kubeconfig), or grant it with RBAC`, ExitCode.external);
  }
  const retry = r.code === 429 || r.code >= 500 ? ": it may be overloaded or restarting: run the command again" : "";
  return new TenantryError(`${server} refused${what}: ${said} (HTTP ${r.code}${r.reason === "" ? "" : ` ${r.reason}`})${retry}`, ExitCode.external);
}

/** Any failure to talk to the API server, as one line: no answer, or an answer no caller handled. */
export function clusterFailure(e: unknown, server?: string): TenantryError | undefined {
  if (e instanceof TenantryError) return undefined;
  return refusalFailure(e) ?? (server === undefined ? undefined : connectionFailure(e, server));
}
