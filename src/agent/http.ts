// The agent's HTTP edge (node:http only). The webhook listener turns a signed push into a
// reconcile of one GitSync and answers /healthz and /readyz; the ops listener serves
// Prometheus metrics and the probes again, so a NetworkPolicy can open webhooks to the world
// and the ops port to monitoring (and the kubelet) only, and a flood of the webhook port
// cannot fail the probes. The reconcile loop stays elsewhere; this module only calls back.
// Anyone can reach the webhook port (THREATS.md): it answers an unknown GitSync exactly as a
// bad signature, acts on a delivery once, caps connections, lookups in flight, body size and
// body time, serves one request per connection, and never carries a secret, a signature or
// a request body into a response or a log.

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.js";
import type { AgentMetrics, WebhookResult } from "./metrics.js";
import { deliveryKeys, ReplayGuard } from "./replay.js";
import { deliveryId, isPushEvent, parseHookPath, verifyWebhook } from "./webhook.js";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 64;
export const DEFAULT_MAX_HOOKS_IN_FLIGHT = 8;
export const DEFAULT_BODY_TIMEOUT_MS = 5_000;
export const DEFAULT_REJECT_FLOOR_MS = 100;

export interface AgentServerOptions {
  readonly port: number;
  /** Interface to listen on; all interfaces when undefined. */
  readonly host?: string;
  /** The /metrics listener's port; no metrics are served when undefined. Never the webhook port. */
  readonly metricsPort?: number;
  /** The /metrics listener's interface (default: as `host`). */
  readonly metricsHost?: string;
  /** Larger webhook bodies are refused with 413 (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Open connections to the webhook port beyond this are dropped (default 64). */
  readonly maxConnections?: number;
  /** Webhook requests handled at once; more get 503 (default 8). */
  readonly maxHooksInFlight?: number;
  /** A webhook body must arrive within this (default 5 s), else 408. */
  readonly bodyTimeoutMs?: number;
  /** A refused webhook is answered no sooner than this after its lookup began (default 100 ms): a found GitSync's secret read does not show in the timing. */
  readonly rejectFloorMs?: number;
  /** Deliveries already acted on (default: a 15-minute window). */
  readonly replay?: ReplayGuard;
  /** The webhook secret of a GitSync, or undefined when there is no such GitSync or it has none. */
  readonly webhookSecret: (namespace: string, name: string) => Promise<string | undefined>;
  /** A verified push for this GitSync arrived: reconcile it when the schedule allows; when that is (ms since epoch). */
  readonly onPush: (namespace: string, name: string) => number | undefined | Promise<number | undefined>;
  readonly ready: () => boolean;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  /** The clock, for tests. */
  readonly now?: () => number;
}

export interface AgentServer {
  /** The webhook port actually bound (useful with port 0). */
  readonly port: number;
  /** The metrics port actually bound, when there is one. */
  readonly metricsPort: number | undefined;
  /** Stops accepting connections; resolves once the open ones have finished. */
  close(): Promise<void>;
}

/** A whole request may take this long; a client trickling a body is cut off after it. */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

/** What every request that does not prove it comes from the GitSync's host is told. */
const UNAUTHORIZED = "unauthorized";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const TOO_LARGE = Symbol("too large");
const TOO_SLOW = Symbol("too slow");
const BUSY = Symbol("busy");

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(`${body}\n`);
}

/**
 * The request body; TOO_LARGE as soon as it passes `limit` bytes, TOO_SLOW when it has not
 * ended within `timeoutMs`. From then on nothing is kept and the request is paused, so a
 * client cannot make the agent hold more than `limit` or keep a slot longer than `timeoutMs`.
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer | typeof TOO_LARGE | typeof TOO_SLOW> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      stop();
      resolve(TOO_SLOW);
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const stop = (): void => {
      done();
      req.pause();
      chunks.length = 0;
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stop();
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const onClose = (): void => {
      done();
      reject(new Error("request closed before its body ended"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

function listen(server: Server, port: number, host: string | undefined, logger: Logger): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      server.on("error", (e) => {
        logger.error("agent server error", { error: e });
      });
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((done, fail) => {
    if (!server.listening) {
      done();
      return;
    }
    server.close((e) => {
      if (e === undefined) done();
      else fail(e);
    });
    // Idle keep-alive connections would hold close() open until they time out.
    server.closeIdleConnections();
  });
}

export async function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxInFlight = opts.maxHooksInFlight ?? DEFAULT_MAX_HOOKS_IN_FLIGHT;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const replay = opts.replay ?? new ReplayGuard();
  const now = opts.now ?? Date.now;
  const rejectFloorMs = opts.rejectFloorMs ?? DEFAULT_REJECT_FLOOR_MS;
  const { logger, metrics } = opts;
  // Checked against when no GitSync matches, so an unknown name costs what a wrong signature does.
  const decoy = randomBytes(32).toString("hex");
  let inFlight = 0;
  /** `work` in one of the maxInFlight slots, or BUSY when none is free. */
  const inSlot = async <T>(work: () => Promise<T>): Promise<T | typeof BUSY> => {
    if (inFlight >= maxInFlight) return BUSY;
    inFlight++;
    try {
      return await work();
    } finally {
      inFlight--;
    }
  };

  const webhookAnswer = (
    res: ServerResponse,
    result: WebhookResult,
    status: number,
    body: string,
    fields: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): void => {
    metrics.countWebhook(result);
    if (result === "accepted" || result === "ignored" || result === "replayed") logger.info(`webhook ${result}`, { status, ...fields });
    else logger.warn(`webhook ${result}`, { status, ...fields });
    send(res, status, body, headers);
  };

  const probe = (res: ServerResponse, path: string, method: string): void => {
    if (method !== "GET" && method !== "HEAD") send(res, 405, "method not allowed", { allow: "GET, HEAD" });
    else if (path === "/healthz") send(res, 200, "ok");
    else {
      const ready = opts.ready();
      send(res, ready ? 200 : 503, ready ? "ready" : "not ready");
    }
  };

  const hook = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const remote = req.socket.remoteAddress;
    const target = parseHookPath(path);
    if (!target.ok) {
      webhookAnswer(res, "rejected", 404, "not found", { remote, reason: "bad path" });
      return;
    }
    const { namespace, name } = target;
    const fields = { namespace, name, remote };
    // The body first, bounded in size and time and holding nothing but its connection: a
    // client that sends none cannot keep a lookup slot from real deliveries.
    const declared = Number(req.headers["content-length"] ?? 0);
    const body = declared > maxBodyBytes ? TOO_LARGE : await readBody(req, maxBodyBytes, bodyTimeoutMs);
    if (body === TOO_LARGE) {
      // Over the limit: answer at once and close the connection rather than read the rest.
      webhookAnswer(res, "too_large", 413, "payload too large", fields, { connection: "close" });
      return;
    }
    if (body === TOO_SLOW) {
      webhookAnswer(res, "too_slow", 408, "request body too slow", fields, { connection: "close" });
      return;
    }
    const busy = (text: string): void => {
      webhookAnswer(res, "busy", 503, text, fields, { "retry-after": "5", connection: "close" });
    };
    const started = now();
    let reason = "";
    const checked = await inSlot(async () => {
      let secret: string | undefined;
      try {
        secret = await opts.webhookSecret(namespace, name);
      } catch (e) {
        logger.error("webhook secret lookup failed", { ...fields, error: e });
        reason = "secret lookup failed";
      }
      const verdict = verifyWebhook(req.headers, body, secret ?? decoy);
      if (secret === undefined && reason === "") reason = "unknown GitSync or no webhook secret";
      else if (!verdict.ok && reason === "") reason = verdict.reason;
      return secret === undefined ? { ok: false as const, reason } : verdict;
    });
    if (checked === BUSY) {
      busy("busy");
      return;
    }
    const verdict = checked;
    if (!verdict.ok) {
      // An unknown GitSync, one without a secret, a failed lookup and a wrong signature look
      // alike from outside: the same answer, and none sooner than the floor.
      await sleep(Math.max(0, started + rejectFloorMs - now()));
      webhookAnswer(res, "rejected", 401, UNAUTHORIZED, { ...fields, reason });
      return;
    }
    const { provider } = verdict;
    if (isPushEvent(req.headers, provider) === undefined) {
      webhookAnswer(res, "ignored", 202, "ignored: not a push event", { ...fields, provider });
      return;
    }
    const delivery = deliveryId(req.headers, provider);
    const keys = deliveryKeys(`${namespace}/${name}`, delivery, body);
    if (replay.replayed(keys, now())) {
      webhookAnswer(res, "replayed", 200, "ignored: delivery already received", { ...fields, provider, delivery });
      return;
    }
    // Acting on a push may write to the API server (a replica that does not lead asks the
    // leader): it takes a slot too, and a failure forgets the delivery so the Git host's
    // redelivery of it is not taken for a replay.
    let due: number | undefined | typeof BUSY;
    try {
      due = await inSlot(async () => opts.onPush(namespace, name));
    } catch (e) {
      replay.forget(keys);
      logger.error("webhook push could not be acted on", { ...fields, provider, delivery, error: e });
      busy("try again");
      return;
    }
    if (due === BUSY) {
      replay.forget(keys);
      busy("busy");
      return;
    }
    const deferred = due === undefined ? undefined : Math.max(0, due - now());
    webhookAnswer(res, "accepted", 202, "accepted", { ...fields, provider, delivery, ...(deferred === undefined || deferred === 0 ? {} : { deferredMs: deferred }) });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Only the path: new URL() would read "//host/x" as another host.
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const method = req.method ?? "GET";
    if (path === "/healthz" || path === "/readyz") {
      probe(res, path, method);
    } else if (path.startsWith("/hooks/")) {
      if (method !== "POST") send(res, 405, "method not allowed", { allow: "POST" });
      else await hook(req, res, path);
    } else {
      send(res, 404, "not found");
    }
  };

  // The ops listener: /metrics, and the probes again, so a flood of the webhook port cannot
  // fail the kubelet's probes and restart the agent.
  const serveMetrics = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const method = req.method ?? "GET";
    if (path === "/healthz" || path === "/readyz") probe(res, path, method);
    else if (path !== "/metrics") send(res, 404, "not found");
    else if (method !== "GET" && method !== "HEAD") send(res, 405, "method not allowed", { allow: "GET, HEAD" });
    else {
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
      res.end(body);
    }
  };

  const serve = (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, oneRequestPerConnection: boolean): Server =>
    createServer(
      {
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        // Enforce those timeouts every second, not every 30 s (node's default).
        connectionsCheckingInterval: 1_000,
        keepAliveTimeout: 2_000,
      },
      (req, res) => {
        // A webhook sender gets one request per connection: none can hold one open between deliveries.
        if (oneRequestPerConnection) res.shouldKeepAlive = false;
        handler(req, res).catch((e: unknown) => {
          logger.error("request failed", { method: req.method, path: (req.url ?? "").split("?", 1)[0], error: e });
          if (!res.headersSent && !res.destroyed) send(res, 500, "internal error", { connection: "close" });
          else res.destroy();
        });
      },
    );

  const server = serve(handle, true);
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const metricsServer = opts.metricsPort === undefined ? undefined : serve(serveMetrics, false);
  if (metricsServer !== undefined) metricsServer.maxConnections = 16;

  const port = await listen(server, opts.port, opts.host, logger);
  let metricsPort: number | undefined;
  if (metricsServer !== undefined) {
    try {
      metricsPort = await listen(metricsServer, opts.metricsPort ?? 0, opts.metricsHost ?? opts.host, logger);
    } catch (e) {
      await closeServer(server);
      throw e;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    port,
    metricsPort,
    close: () => (closing ??= Promise.all([closeServer(server), metricsServer === undefined ? undefined : closeServer(metricsServer)]).then(() => undefined)),
  };
}
