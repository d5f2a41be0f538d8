// The agent's HTTP edge (node:http only): liveness, readiness, Prometheus metrics, and the
// webhook receiver that turns a signed push into an immediate reconcile of one GitSync.
// The reconcile loop stays elsewhere; this module only calls back. Responses and logs never
// carry a secret, a signature or a request body.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.js";
import type { AgentMetrics, WebhookResult } from "./metrics.js";
import { isPushEvent, parseHookPath, verifyWebhook } from "./webhook.js";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface AgentServerOptions {
  readonly port: number;
  /** Interface to listen on; all interfaces when undefined. */
  readonly host?: string;
  /** Larger webhook bodies are refused with 413 (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** The webhook secret of a GitSync, or undefined when there is no such GitSync or it has none. */
  readonly webhookSecret: (namespace: string, name: string) => Promise<string | undefined>;
  /** A verified push for this GitSync arrived: reconcile it soon. */
  readonly onPush: (namespace: string, name: string) => void;
  readonly ready: () => boolean;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
}

export interface AgentServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections; resolves once the open ones have finished. */
  close(): Promise<void>;
}

/** A whole request may take this long; a client trickling a body is cut off after it. */
const REQUEST_TIMEOUT_MS = 30_000;

const TOO_LARGE = Symbol("too large");

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(`${body}\n`);
}

/**
 * The request body, or TOO_LARGE as soon as it passes `limit` bytes: from then on nothing is
 * kept and the request is paused, so a client cannot make the agent hold more than `limit`.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | typeof TOO_LARGE> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        req.pause();
        chunks.length = 0;
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

export function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { logger, metrics } = opts;

  const webhookAnswer = (
    res: ServerResponse,
    result: WebhookResult,
    status: number,
    body: string,
    fields: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): void => {
    metrics.countWebhook(result);
    if (result === "accepted" || result === "ignored") logger.info(`webhook ${result}`, { status, ...fields });
    else logger.warn(`webhook ${result}`, { status, ...fields });
    send(res, status, body, headers);
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
    // Over the limit: answer at once and close the connection rather than read the rest.
    const tooLarge = (): void => {
      webhookAnswer(res, "too_large", 413, "payload too large", fields, { connection: "close" });
    };
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBodyBytes) {
      tooLarge();
      return;
    }
    const secret = await opts.webhookSecret(namespace, name);
    if (secret === undefined) {
      webhookAnswer(res, "rejected", 404, "unknown GitSync or no webhook secret", { ...fields, reason: "no secret" });
      return;
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === TOO_LARGE) {
      tooLarge();
      return;
    }
    const verdict = verifyWebhook(req.headers, body, secret);
    if (!verdict.ok) {
      webhookAnswer(res, "rejected", 401, verdict.reason, { ...fields, reason: verdict.reason });
      return;
    }
    if (isPushEvent(req.headers, verdict.provider) === undefined) {
      webhookAnswer(res, "ignored", 202, "ignored: not a push event", { ...fields, provider: verdict.provider });
      return;
    }
    opts.onPush(namespace, name);
    webhookAnswer(res, "accepted", 202, "accepted", { ...fields, provider: verdict.provider });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Only the path: new URL() would read "//host/x" as another host.
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const method = req.method ?? "GET";
    if (path === "/healthz" || path === "/readyz" || path === "/metrics") {
      if (method !== "GET" && method !== "HEAD") send(res, 405, "method not allowed", { allow: "GET, HEAD" });
      else if (path === "/healthz") send(res, 200, "ok");
      else if (path === "/readyz") {
        const ready = opts.ready();
        send(res, ready ? 200 : 503, ready ? "ready" : "not ready");
      }
      else {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
        res.end(body);
      }
    } else if (path.startsWith("/hooks/")) {
      if (method !== "POST") send(res, 405, "method not allowed", { allow: "POST" });
      else await hook(req, res, path);
    } else {
      send(res, 404, "not found");
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      logger.error("request failed", { method: req.method, path: (req.url ?? "").split("?", 1)[0], error: e });
      if (!res.headersSent && !res.destroyed) send(res, 500, "internal error", { connection: "close" });
      else res.destroy();
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, REQUEST_TIMEOUT_MS);

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      server.on("error", (e) => {
        logger.error("agent server error", { error: e });
      });
      const { port } = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close: () =>
          (closing ??= new Promise<void>((done, fail) => {
            server.close((e) => {
              if (e === undefined) done();
              else fail(e);
            });
            // Idle keep-alive connections would hold close() open until they time out.
            server.closeIdleConnections();
          })),
      });
    });
  });
}
