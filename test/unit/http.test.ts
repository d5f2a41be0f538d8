// The agent's HTTP edge as a real server on 127.0.0.1, port 0, driven with fetch and raw
// sockets: small, bounded, loopback-only traffic. The caller is an attacker who can reach the
// webhook port (THREATS.md): replays, floods, slow bodies and name probes.
import { createHmac } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AgentServer, startAgentServer } from "../../src/agent/http.js";
import { createLogger } from "../../src/agent/log.js";
import { createMetrics } from "../../src/agent/metrics.js";
import { ReplayGuard } from "../../src/agent/replay.js";

const SECRET = "hook-secret-value-1234";
const LIMIT = 4096;
const secrets = new Map([
  ["team1/team1", SECRET],
  ["team2/app.sync", SECRET],
  ["tenantry-system/admin", SECRET],
]);

let server: AgentServer;
let base: string;
let metricsBase: string;
let ready = false;
let pushes: [string, string][] = [];
let logs: string[] = [];
let pushFails = false;

beforeAll(async () => {
  const stream = { write: (s: string) => logs.push(s) } as unknown as NodeJS.WritableStream;
  server = await startAgentServer({
    port: 0,
    host: "127.0.0.1",
    metricsPort: 0,
    maxBodyBytes: LIMIT,
    webhookSecret: (ns, name) => Promise.resolve(secrets.get(`${ns}/${name}`)),
    onPush: (ns, name) => {
      if (pushFails) return Promise.reject(new Error("the API server is away"));
      pushes.push([ns, name]);
      return Date.now();
    },
    ready: () => ready,
    metrics: createMetrics(),
    logger: createLogger(stream),
  });
  base = `http://127.0.0.1:${server.port}`;
  metricsBase = `http://127.0.0.1:${server.metricsPort ?? 0}`;
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  pushes = [];
  logs = [];
});

// Each test's deliveries differ: the same body twice is a replay.
let deliveries = 0;
let payload = "";
beforeEach(() => {
  payload = fresh();
});
function fresh(): string {
  deliveries++;
  return JSON.stringify({ ref: "refs/heads/main", after: deliveries.toString(16).padStart(40, "0") });
}
const sign = (body: string, secret = SECRET): string => createHmac("sha256", secret).update(body).digest("hex");

async function post(path: string, headers: Record<string, string>, body: string = payload): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, { method: "POST", headers, body, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

async function get(path: string, at = base): Promise<Response> {
  return fetch(`${at}${path}`, { signal: AbortSignal.timeout(5_000) });
}

describe("agent HTTP server", () => {
  it("binds the ports it was given, here ephemeral ones", () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.metricsPort).toBeGreaterThan(0);
    expect(server.metricsPort).not.toBe(server.port);
  });

  it("answers /healthz", async () => {
    const res = await get("/healthz");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
  });

  it("answers /readyz from ready()", async () => {
    ready = false;
    expect((await get("/readyz")).status).toBe(503);
    ready = true;
    expect((await get("/readyz")).status).toBe(200);
  });

  it("serves /metrics on its own port only (with the probes), not on the webhook port", async () => {
    expect((await get("/metrics")).status).toBe(404);
    expect((await get("/healthz", metricsBase)).status).toBe(200);
    expect((await get("/hooks/team1/team1", metricsBase)).status).toBe(404);
  });

  it("serves the metrics in the Prometheus text format", async () => {
    const res = await get("/metrics", metricsBase);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of [
      "tenantry_reconcile_duration_seconds",
      "tenantry_applied_objects_total",
      "tenantry_pruned_objects_total",
      "tenantry_reconcile_failures_total",
      "tenantry_webhook_requests_total",
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });

  it("accepts a signed GitHub push and triggers that GitSync once", async () => {
    const res = await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "push" });
    expect(res).toEqual({ status: 202, text: "accepted\n" });
    expect(pushes).toEqual([["team1", "team1"]]);
  });

  it("accepts a signed Gitea push", async () => {
    const res = await post("/hooks/team2/app.sync", { "X-Gitea-Signature": sign(payload), "X-Gitea-Event": "push" });
    expect(res.status).toBe(202);
    expect(pushes).toEqual([["team2", "app.sync"]]);
  });

  it("accepts a GitLab push with the right token", async () => {
    const res = await post("/hooks/tenantry-system/admin", { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook" });
    expect(res.status).toBe(202);
    expect(pushes).toEqual([["tenantry-system", "admin"]]);
  });

  it("refuses a bad signature with 401 and does not trigger", async () => {
    const wrong = await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sign(payload, "guess")}`, "X-GitHub-Event": "push" });
    expect(wrong).toEqual({ status: 401, text: "unauthorized\n" });
    const tampered = await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "push" }, `${payload} `);
    expect(tampered.status).toBe(401);
    const unsigned = await post("/hooks/team1/team1", { "X-GitHub-Event": "push" });
    expect(unsigned).toEqual({ status: 401, text: "unauthorized\n" });
    const token = await post("/hooks/team1/team1", { "X-Gitlab-Token": "guess", "X-Gitlab-Event": "Push Hook" });
    expect(token.status).toBe(401);
    expect(pushes).toEqual([]);
  });

  it("answers a signed ping with 202 and ignores it", async () => {
    const res = await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "ping" });
    expect(res).toEqual({ status: 202, text: "ignored: not a push event\n" });
    expect(pushes).toEqual([]);
  });

  it("refuses a body over the limit with 413 (declared length)", async () => {
    const big = "x".repeat(LIMIT + 1);
    const res = await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sign(big)}`, "X-GitHub-Event": "push" }, big);
    expect(res.status).toBe(413);
    expect(pushes).toEqual([]);
  });

  it("refuses a streamed body once it passes the limit with 413", async () => {
    let sent = 0;
    const chunk = new Uint8Array(1024).fill(120);
    // Up to 64 chunks; the server stops reading long before.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 64) controller.close();
        else {
          sent++;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await fetch(`${base}/hooks/team1/team1`, {
      method: "POST",
      headers: { "X-Hub-Signature-256": `sha256=${"0".repeat(64)}`, "X-GitHub-Event": "push" },
      body,
      duplex: "half",
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(413);
    await res.text();
    expect(pushes).toEqual([]);
  });

  it("answers an unknown GitSync exactly as a bad signature: a probe learns no names", async () => {
    const answer = async (path: string, secret: string): Promise<unknown> => {
      const body = fresh();
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "X-Hub-Signature-256": `sha256=${sign(body, secret)}`, "X-GitHub-Event": "push" },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== "date"));
      return { status: res.status, headers, text: await res.text() };
    };
    const unknown = await answer("/hooks/team1/nope", SECRET);
    const badSignature = await answer("/hooks/team1/team1", "guess");
    expect(unknown).toEqual(badSignature);
    expect(unknown).toMatchObject({ status: 401, text: "unauthorized\n" });
    expect(pushes).toEqual([]);
  });

  it("acts on a delivery once: the same id, or the same body under a new id, triggers nothing", async () => {
    const headers = (body: string, id: string) => ({ "X-Hub-Signature-256": `sha256=${sign(body)}`, "X-GitHub-Event": "push", "X-GitHub-Delivery": id });
    const first = await post("/hooks/team1/team1", headers(payload, "d-1"), payload);
    expect(first).toEqual({ status: 202, text: "accepted\n" });
    const sameId = fresh();
    expect(await post("/hooks/team1/team1", headers(sameId, "d-1"), sameId)).toEqual({ status: 200, text: "ignored: delivery already received\n" });
    expect(await post("/hooks/team1/team1", headers(payload, "d-2"), payload)).toEqual({ status: 200, text: "ignored: delivery already received\n" });
    // Gitea and GitLab name their deliveries in their own headers.
    const gitea = fresh();
    const giteaHeaders = { "X-Gitea-Signature": sign(gitea), "X-Gitea-Event": "push", "X-Gitea-Delivery": "g-1" };
    expect((await post("/hooks/team1/team1", giteaHeaders, gitea)).status).toBe(202);
    expect((await post("/hooks/team1/team1", giteaHeaders, gitea)).status).toBe(200);
    const gitlabHeaders = { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "l-1" };
    expect((await post("/hooks/team1/team1", gitlabHeaders, fresh())).status).toBe(202);
    expect((await post("/hooks/team1/team1", gitlabHeaders, fresh())).status).toBe(200);
    // A new delivery is acted on.
    const next = fresh();
    expect((await post("/hooks/team1/team1", headers(next, "d-3"), next)).status).toBe(202);
    expect(pushes).toEqual([
      ["team1", "team1"],
      ["team1", "team1"],
      ["team1", "team1"],
      ["team1", "team1"],
    ]);
    const text = await (await get("/metrics", metricsBase)).text();
    expect(text).toMatch(/tenantry_webhook_requests_total\{result="replayed"\} [3-9]/);
  });

  it("a push that cannot be acted on gets 503, and the Git host's redelivery of it is accepted, not taken for a replay", async () => {
    const headers = { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "push", "X-GitHub-Delivery": "fails-1" };
    pushFails = true;
    try {
      expect(await post("/hooks/team1/team1", headers, payload)).toEqual({ status: 503, text: "try again\n" });
    } finally {
      pushFails = false;
    }
    expect(await post("/hooks/team1/team1", headers, payload)).toEqual({ status: 202, text: "accepted\n" });
    expect(pushes).toEqual([["team1", "team1"]]);
  });

  it.each(["/hooks/Team1/team1", "/hooks/team1", "/hooks/team1/team1/x", "/hooks/team_1/team1", "/hooks/team1/-x", "/nothing"])(
    "answers 404 for %s",
    async (path) => {
      const res = await post(path, { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "push" });
      expect(res.status).toBe(404);
      expect(pushes).toEqual([]);
    },
  );

  it("answers 405 for a wrong method", async () => {
    expect((await get("/hooks/team1/team1")).status).toBe(405);
    expect((await post("/healthz", {})).status).toBe(405);
  });

  it("counts webhook results and never logs the secret or a signature", async () => {
    const sig = sign(payload);
    await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sig}`, "X-GitHub-Event": "push" });
    await post("/hooks/team1/team1", { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Merge Request Hook" });
    await post("/hooks/team1/team1", { "X-Gitlab-Token": `${SECRET}x`, "X-Gitlab-Event": "Push Hook" });
    const text = await (await get("/metrics", metricsBase)).text();
    expect(text).toMatch(/tenantry_webhook_requests_total\{result="accepted"\} [1-9]/);
    expect(text).toMatch(/tenantry_webhook_requests_total\{result="too_large"\} [1-9]/);
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const line of logs) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(sig);
    }
    expect(logs.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["webhook accepted", "webhook ignored", "webhook rejected"]);
  });
});

describe("agent HTTP server under a flood", () => {
  let flood: AgentServer;
  let floodLogs: string[] = [];
  let floodPushes = 0;
  /** How long the secret lookup takes: a slow API server holds the lookup slot. */
  let lookupMs = 0;

  beforeAll(async () => {
    flood = await startAgentServer({
      port: 0,
      host: "127.0.0.1",
      maxConnections: 4,
      maxHooksInFlight: 1,
      bodyTimeoutMs: 300,
      replay: new ReplayGuard(60_000, 100),
      metricsPort: 0,
      webhookSecret: () =>
        new Promise((resolve) => {
          setTimeout(() => { resolve(SECRET); }, lookupMs);
        }),
      onPush: () => {
        floodPushes++;
        return Date.now();
      },
      ready: () => true,
      metrics: createMetrics(),
      logger: createLogger({ write: (l: string) => floodLogs.push(l) } as unknown as NodeJS.WritableStream),
    });
  });

  afterAll(async () => {
    await flood.close();
  });

  /** A raw connection that sends headers promising a body, then `sent` bytes of it, and stalls. */
  function stalled(sent: string): Promise<{ socket: Socket; response: Promise<string> }> {
    return new Promise((resolve, reject) => {
      const socket = connect(flood.port, "127.0.0.1", () => {
        socket.write(`POST /hooks/team1/team1 HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=${"0".repeat(64)}\r\nContent-Length: 1000\r\n\r\n${sent}`);
        let data = "";
        const response = new Promise<string>((done) => {
          socket.on("data", (d: Buffer) => (data += d.toString()));
          socket.on("close", () => {
            done(data);
          });
        });
        resolve({ socket, response });
      });
      socket.on("error", reject);
    });
  }

  it("a body that does not arrive in time gets 408 and its connection closed", async () => {
    floodLogs = [];
    const { response } = await stalled("{");
    const text = await response;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/request body too slow/);
    expect(floodPushes).toBe(0);
    expect(floodLogs.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["webhook too_slow"]);
  });

  const signedPost = (body: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${flood.port}/hooks/team1/team1`, {
      method: "POST",
      body,
      headers: { "X-GitHub-Event": "push", "X-Hub-Signature-256": `sha256=${sign(body)}` },
      signal: AbortSignal.timeout(5_000),
    });

  it("a client that never sends its body holds no lookup slot: a real delivery still gets through", async () => {
    const idle = await Promise.all([stalled(""), stalled("{")]);
    await new Promise((r) => setTimeout(r, 50));
    const ok = await signedPost(fresh());
    expect(ok.status).toBe(202);
    await ok.text();
    for (const s of idle) s.socket.destroy();
    expect(floodPushes).toBe(1);
  });

  it("lookups beyond the in-flight cap get 503 at once, and the slot frees", async () => {
    lookupMs = 400;
    try {
      const first = signedPost(fresh());
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`http://127.0.0.1:${flood.port}/hooks/team1/team1`, { method: "POST", body: "{}", headers: { "X-GitHub-Event": "push" }, signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      await res.text();
      expect((await first).status).toBe(202);
      expect((await signedPost(fresh())).status).toBe(202);
      expect(floodPushes).toBe(3);
    } finally {
      lookupMs = 0;
    }
  });

  it("serves one request per connection on the webhook port, and the probes on the ops port too", async () => {
    const res = await fetch(`http://127.0.0.1:${flood.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(res.headers.get("connection")).toBe("close");
    await res.text();
    const ops = `http://127.0.0.1:${flood.metricsPort ?? 0}`;
    expect((await fetch(`${ops}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    expect((await fetch(`${ops}/readyz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
  });

  it("connections beyond the cap are dropped, the probes on the ops port still answer, and the webhook port once they go", async () => {
    // Connections that never send a request: each holds a connection until the headers timeout.
    const idle = (): Promise<{ socket: Socket; closed: Promise<string> }> =>
      new Promise((resolve, reject) => {
        const socket = connect(flood.port, "127.0.0.1", () => {
          let data = "";
          socket.on("data", (d: Buffer) => (data += d.toString()));
          const closed = new Promise<string>((done) => {
            socket.on("close", () => {
              done(data);
            });
          });
          resolve({ socket, closed });
        });
        socket.on("error", reject);
      });
    const held: { socket: Socket }[] = [];
    for (let i = 0; i < 4; i++) held.push(await idle());
    await new Promise((r) => setTimeout(r, 50));
    const extra = await idle();
    // The server closes the fifth at once, without a response; the kubelet's probes go elsewhere.
    expect(await extra.closed).toBe("");
    expect((await fetch(`http://127.0.0.1:${flood.metricsPort ?? 0}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`http://127.0.0.1:${flood.port}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
  });
});

describe("agent HTTP server lifecycle", () => {
  it("close() stops accepting connections", async () => {
    const s = await startAgentServer({
      port: 0,
      host: "127.0.0.1",
      webhookSecret: () => Promise.resolve(undefined),
      onPush: () => undefined,
      ready: () => true,
      metrics: createMetrics(),
      logger: createLogger({ write: () => true } as unknown as NodeJS.WritableStream),
    });
    const url = `http://127.0.0.1:${s.port}/healthz`;
    expect((await fetch(url)).status).toBe(200);
    await s.close();
    await s.close();
    await expect(fetch(url, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
