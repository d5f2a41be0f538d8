// The agent's HTTP edge as a real server on 127.0.0.1, port 0, driven with fetch: small,
// bounded, loopback-only traffic.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AgentServer, startAgentServer } from "../../src/agent/http.js";
import { createLogger } from "../../src/agent/log.js";
import { createMetrics } from "../../src/agent/metrics.js";

const SECRET = "hook-secret-value-1234";
const LIMIT = 4096;
const secrets = new Map([
  ["team1/team1", SECRET],
  ["team2/app.sync", SECRET],
  ["tenantry-system/admin", SECRET],
]);

let server: AgentServer;
let base: string;
let ready = false;
let pushes: [string, string][] = [];
let logs: string[] = [];

beforeAll(async () => {
  const stream = { write: (s: string) => logs.push(s) } as unknown as NodeJS.WritableStream;
  server = await startAgentServer({
    port: 0,
    host: "127.0.0.1",
    maxBodyBytes: LIMIT,
    webhookSecret: (ns, name) => Promise.resolve(secrets.get(`${ns}/${name}`)),
    onPush: (ns, name) => pushes.push([ns, name]),
    ready: () => ready,
    metrics: createMetrics(),
    logger: createLogger(stream),
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  pushes = [];
  logs = [];
});

const payload = JSON.stringify({ ref: "refs/heads/main", after: "0123abcd" });
const sign = (body: string, secret = SECRET): string => createHmac("sha256", secret).update(body).digest("hex");

async function post(path: string, headers: Record<string, string>, body: string = payload): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, { method: "POST", headers, body, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

async function get(path: string): Promise<Response> {
  return fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
}

describe("agent HTTP server", () => {
  it("binds the port it was given, here an ephemeral one", () => {
    expect(server.port).toBeGreaterThan(0);
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

  it("serves the metrics in the Prometheus text format", async () => {
    const res = await get("/metrics");
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
    expect(wrong).toEqual({ status: 401, text: "signature mismatch\n" });
    const tampered = await post("/hooks/team1/team1", { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "push" }, `${payload} `);
    expect(tampered.status).toBe(401);
    const unsigned = await post("/hooks/team1/team1", { "X-GitHub-Event": "push" });
    expect(unsigned).toEqual({ status: 401, text: "no signature header\n" });
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

  it("answers 404 for an unknown GitSync", async () => {
    const res = await post("/hooks/team1/nope", { "X-Hub-Signature-256": `sha256=${sign(payload)}`, "X-GitHub-Event": "push" });
    expect(res).toEqual({ status: 404, text: "unknown GitSync or no webhook secret\n" });
    expect(pushes).toEqual([]);
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
    const text = await (await get("/metrics")).text();
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
