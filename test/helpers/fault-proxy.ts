// A proxy in front of a local control plane's API server that injects faults, for the fault
// tests (test/faults/): latency, dropped connections, 429 and 500 answers, and partitions.
// It terminates TLS with the API server's own certificate (pki/apiserver.*, signed by the
// cluster CA every kubeconfig of the cluster trusts), so a kubeconfig needs only its server
// URL changed (`writeKubeconfig`), and it sees each request's method and path: faults are
// chosen per request, and every request is recorded (what was forwarded, refused, dropped).
//
// Upstream it speaks as the cluster's admin (pki/admin.*, system:masters) when the client
// sent no Authorization header, else with that header and no client certificate: point only
// admin kubeconfigs (impersonation headers pass through) or token kubeconfigs at it.

import { randomInt } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { join } from "node:path";

/** What a fault rule sees of a request. */
export interface ProxiedRequest {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  /** The Impersonate-User header: whom the client acts as. */
  readonly impersonate: string | undefined;
}

export type Fault =
  /** Forwarded after `ms`. */
  | { readonly kind: "delay"; readonly ms: number }
  /** Answered by the proxy with this code and a Status body; the API server never sees it. */
  | { readonly kind: "status"; readonly code: number; readonly retryAfterSeconds?: number }
  /**
   * The client's connection is destroyed: `before` forwarding (the API server never sees the
   * request) or `after` the API server answered (it did the work; the client never hears).
   */
  | { readonly kind: "drop"; readonly when: "before" | "after" };

export interface FaultRule {
  /** Which requests it applies to (default: all). */
  readonly match?: (r: ProxiedRequest) => boolean;
  readonly fault: Fault;
  /** The share of matching requests it hits, 0..1 (default 1). */
  readonly probability?: number;
}

export type Outcome = "forwarded" | "answered" | "dropped-before" | "dropped-after" | "held-then-forwarded" | "abandoned" | "upstream-error";

export interface ProxyRecord extends ProxiedRequest {
  /** When the request arrived (Date.now()). */
  readonly at: number;
  /** When it was settled: answered, dropped or abandoned. */
  done?: number;
  outcome?: Outcome;
  /** The code the client got (from the API server or the proxy). */
  status?: number;
  /** The code the API server answered, when it saw the request. */
  upstreamStatus?: number;
  /** The fault applied, if any. */
  fault?: Fault["kind"];
}

export type PartitionMode =
  /** Nothing listens: new connections are refused, open ones are reset. */
  | "refuse"
  /** Packets vanish: connections are accepted and requests read, but nothing is answered or forwarded until `heal()`. */
  | "blackhole";

export interface FaultProxy {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly records: readonly ProxyRecord[];
  /** Replaces the fault rules; the first rule whose match and probability hit applies. */
  inject(...rules: FaultRule[]): void;
  /** No more faults (a partition stays until `heal`). */
  clear(): void;
  partition(mode: PartitionMode): Promise<void>;
  /** Ends a partition: a blackholed request whose client is still waiting is forwarded then. */
  heal(): Promise<void>;
  /** A copy of the cluster's admin kubeconfig pointing at the proxy, written to `file`. */
  writeKubeconfig(file: string): string;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "proxy-authorization", "proxy-authenticate"]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function statusBody(code: number): string {
  const reason = code === 429 ? "TooManyRequests" : code === 503 ? "ServiceUnavailable" : "InternalError";
  const message = `injected fault: HTTP ${code} from the fault proxy (test/helpers/fault-proxy.ts)`;
  return JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
}

function envOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(dir, "env"), "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2].replace(/^'(.*)'$/, "$1");
  }
  return out;
}

/** Starts a proxy on a free port of 127.0.0.1 in front of the API server of the local cluster in `clusterDir`. */
export async function startFaultProxy(clusterDir: string): Promise<FaultProxy> {
  const pki = join(clusterDir, "pki");
  const upstreamUrl = new URL(envOf(clusterDir).APISERVER_URL ?? "");
  if (upstreamUrl.port === "") throw new Error(`no APISERVER_URL in ${clusterDir}/env`);
  const ca = readFileSync(join(pki, "ca.crt"));
  const pool = { keepAlive: true, maxSockets: 64, ca };
  const asAdmin = new https.Agent({ ...pool, cert: readFileSync(join(pki, "admin.crt")), key: readFileSync(join(pki, "admin.key")) });
  const asToken = new https.Agent(pool);

  const records: ProxyRecord[] = [];
  let rules: FaultRule[] = [];
  let mode: PartitionMode | undefined;
  const sockets = new Set<Socket>();
  const heldSockets = new Set<Socket>();
  const heldRequests = new Set<() => void>();

  const tls = https.createServer({ cert: readFileSync(join(pki, "apiserver.crt")), key: readFileSync(join(pki, "apiserver.key")), requestCert: false }, (req, res) => {
    handle(req, res);
  });
  tls.keepAliveTimeout = 30_000;

  function settle(rec: ProxyRecord, outcome: Outcome, status?: number): void {
    rec.done = Date.now();
    rec.outcome = outcome;
    if (status !== undefined) rec.status = status;
  }

  function forward(req: IncomingMessage, res: ServerResponse, rec: ProxyRecord, dropAfter: boolean, held: boolean): void {
    const headers = forwardable(req.headers);
    headers.host = upstreamUrl.host;
    const up = https.request(
      { hostname: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers, agent: headers.authorization === undefined ? asAdmin : asToken },
      (upRes) => {
        rec.upstreamStatus = upRes.statusCode;
        if (dropAfter) {
          // The API server did the work; the client never hears of it.
          upRes.resume();
          upRes.on("end", () => {
            settle(rec, "dropped-after");
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, forwardable(upRes.headers));
        upRes.pipe(res);
        upRes.on("end", () => {
          settle(rec, held ? "held-then-forwarded" : "forwarded", upRes.statusCode);
        });
      },
    );
    up.on("error", (e) => {
      settle(rec, "upstream-error", 502);
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end(`fault proxy: API server unreachable: ${e.message}\n`);
      else res.destroy();
    });
    // The client gave up (its timeout, an abort): so does the request to the API server.
    res.on("close", () => {
      if (!res.writableFinished && rec.outcome === undefined) {
        up.destroy();
        settle(rec, "abandoned");
      }
    });
    req.pipe(up);
  }

  /** Read nothing more, answer nothing; at heal, forwarded if the client still waits. */
  function hold(req: IncomingMessage, res: ServerResponse, rec: ProxyRecord): void {
    req.pause();
    const release = (): void => {
      heldRequests.delete(release);
      if (req.socket.destroyed) settle(rec, "abandoned");
      else forward(req, res, rec, false, true);
    };
    heldRequests.add(release);
    req.socket.once("close", () => {
      if (heldRequests.delete(release)) settle(rec, "abandoned");
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://proxy");
    const imp = req.headers["impersonate-user"];
    const info: ProxiedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      contentType: req.headers["content-type"],
      impersonate: Array.isArray(imp) ? imp[0] : imp,
    };
    const rec: ProxyRecord = { ...info, at: Date.now() };
    records.push(rec);
    if (mode === "blackhole") {
      hold(req, res, rec);
      return;
    }
    const rule = rules.find((r) => (r.match?.(info) ?? true) && (r.probability === undefined || randomInt(1_000_000) < r.probability * 1_000_000));
    const fault = rule?.fault;
    if (fault !== undefined) rec.fault = fault.kind;
    const go = (): void => {
      if (fault?.kind === "status") {
        req.resume();
        const body = statusBody(fault.code);
        const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
        if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
        res.writeHead(fault.code, headers).end(body);
        settle(rec, "answered", fault.code);
      } else if (fault?.kind === "drop" && fault.when === "before") {
        settle(rec, "dropped-before");
        req.socket.destroy();
      } else if (mode === "blackhole") {
        hold(req, res, rec); // a delayed request that the partition caught on its way
      } else {
        forward(req, res, rec, fault?.kind === "drop", false);
      }
    };
    if (fault?.kind === "delay") setTimeout(go, fault.ms);
    else go();
  }

  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      heldSockets.delete(socket);
    });
    socket.on("error", () => undefined);
    if (mode === "blackhole") {
      socket.pause();
      heldSockets.add(socket);
      return;
    }
    tls.emit("connection", socket);
  };
  let front: TcpServer = createTcpServer(onConnection);
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      front.once("error", reject);
      front.listen(port, "127.0.0.1", () => {
        front.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (front.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  const closeFront = (): Promise<void> =>
    new Promise((resolve) => {
      front.close(() => {
        resolve();
      });
    });

  return {
    url,
    records,
    inject: (...r) => {
      rules = r;
    },
    clear: () => {
      rules = [];
    },
    partition: async (m) => {
      mode = m;
      if (m === "refuse") {
        const closed = closeFront();
        for (const s of sockets) s.destroy();
        await closed;
      }
    },
    heal: async () => {
      const was = mode;
      mode = undefined;
      if (was === "refuse") {
        front = createTcpServer(onConnection);
        await listen(port);
      } else if (was === "blackhole") {
        for (const s of [...heldSockets]) {
          heldSockets.delete(s);
          if (s.destroyed) continue;
          tls.emit("connection", s);
          s.resume();
        }
        for (const release of [...heldRequests]) release();
      }
    },
    writeKubeconfig: (file) => {
      const text = readFileSync(join(clusterDir, "kubeconfig"), "utf8");
      const replaced = text.replace(`server: ${upstreamUrl.origin}`, `server: ${url}`);
      if (replaced === text) throw new Error(`${clusterDir}/kubeconfig does not name ${upstreamUrl.origin}`);
      writeFileSync(file, replaced, { mode: 0o600 });
      return file;
    },
    close: async () => {
      mode = undefined;
      heldRequests.clear();
      for (const s of sockets) s.destroy();
      await closeFront().catch(() => undefined);
      tls.close();
      asAdmin.destroy();
      asToken.destroy();
    },
  };
}
