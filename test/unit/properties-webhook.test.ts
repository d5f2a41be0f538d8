// Properties (fast-check) of the agent's webhook edge: the pure checks (signature, event,
// delivery id, path) and the real HTTP listener on 127.0.0.1 (in-process, loopback only,
// bounded runs), against whatever an attacker who can reach the webhook port may send.
// Seeded: FC_SEED=<n> replays or explores; a failure prints the seed and the shrunk case.

import { createHmac } from "node:crypto";
import { request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentServer, startAgentServer } from "../../src/agent/http.js";
import { createLogger } from "../../src/agent/log.js";
import { createMetrics } from "../../src/agent/metrics.js";
import { deliveryId, parseHookPath, verifyWebhook, type WebhookHeaders } from "../../src/agent/webhook.js";

const SEED = Number(process.env.FC_SEED ?? 17_2026);
const runs = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns });

const SECRET = "the-webhook-secret-4711";
const REASONS = new Set(["no webhook secret configured", "repeated signature header", "token mismatch", "malformed signature header", "signature mismatch", "no signature header"]);

const HEADER_NAMES = [
  "x-hub-signature-256",
  "X-Hub-Signature-256",
  "x-gitea-signature",
  "x-gitlab-token",
  "X-GitLab-Token",
  "x-github-event",
  "x-gitea-event",
  "x-gitlab-event",
  "x-github-delivery",
  "x-gitea-delivery",
  "x-gitlab-event-uuid",
  "content-type",
  "x-anything",
];

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const headerValue = fc.oneof(
  fc.string(),
  hex64,
  hex64.map((h) => `sha256=${h}`),
  fc.constantFrom("push", "Push Hook", "ping", "sha256=", "", SECRET.slice(1)),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant(undefined),
);
const headers: fc.Arbitrary<WebhookHeaders> = fc.dictionary(fc.constantFrom(...HEADER_NAMES), headerValue);
const body = fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b));

const sign = (b: Buffer, secret = SECRET): string => createHmac("sha256", secret).update(b).digest("hex");

/** Whether any header value is the real signature of `b` or the secret itself. */
function carriesProof(h: WebhookHeaders, b: Buffer): boolean {
  const proofs = new Set([sign(b), `sha256=${sign(b)}`, SECRET]);
  return Object.values(h).some((v) => (Array.isArray(v) ? v : [v]).some((x) => typeof x === "string" && (proofs.has(x) || proofs.has(x.toLowerCase()))));
}

describe("verifyWebhook", () => {
  it("never accepts a request that carries no signature made with the secret, and never quotes a header", () => {
    fc.assert(
      fc.property(headers, body, (h, b) => {
        fc.pre(!carriesProof(h, b));
        const v = verifyWebhook(h, b, SECRET);
        expect(v.ok).toBe(false);
        if (!v.ok) expect(REASONS.has(v.reason), v.reason).toBe(true);
      }),
      runs(1000),
    );
  });

  it("accepts a GitHub signature of the exact body, whatever else is sent beside it", () => {
    const others = fc.dictionary(fc.constantFrom("x-github-event", "x-github-delivery", "content-type", "x-anything"), fc.string());
    fc.assert(
      fc.property(others, body, (h, b) => {
        const v = verifyWebhook({ ...h, "x-hub-signature-256": `sha256=${sign(b)}` }, b, SECRET);
        expect(v).toEqual({ ok: true, provider: "github" });
        // One byte more or less, or another secret: refused.
        expect(verifyWebhook({ ...h, "x-hub-signature-256": `sha256=${sign(b)}` }, Buffer.concat([b, Buffer.from("x")]), SECRET).ok).toBe(false);
        expect(verifyWebhook({ ...h, "x-hub-signature-256": `sha256=${sign(b, "other")}` }, b, SECRET).ok).toBe(false);
      }),
      runs(300),
    );
  });

  it("refuses a signature header given twice, even when one of them is right", () => {
    fc.assert(
      fc.property(body, fc.string(), (b, other) => {
        const good = `sha256=${sign(b)}`;
        expect(verifyWebhook({ "x-hub-signature-256": [good, other] }, b, SECRET).ok).toBe(false);
        expect(verifyWebhook({ "x-hub-signature-256": good, "X-Hub-Signature-256": other }, b, SECRET).ok).toBe(false);
      }),
      runs(200),
    );
  });
});

describe("deliveryId and parseHookPath", () => {
  it("a delivery id is an id or nothing", () => {
    fc.assert(
      fc.property(headers, fc.constantFrom("github" as const, "gitea" as const, "gitlab" as const), (h, provider) => {
        const id = deliveryId(h, provider);
        if (id !== undefined) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      }),
      runs(500),
    );
  });

  const segment = fc.oneof(fc.string({ unit: "grapheme" }), fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/), fc.constantFrom("..", ".", "", "%2e%2e", "a%2Fb", "A", "-a"));
  const path = fc.oneof(
    fc.string({ unit: "grapheme" }),
    fc.tuple(segment, segment).map(([a, b]) => `/hooks/${a}/${b}`),
    fc.array(segment, { maxLength: 4 }).map((s) => `/hooks/${s.join("/")}`),
  );

  it("names a GitSync only when the path is exactly /hooks/<label>/<subdomain>; problems stay short", () => {
    fc.assert(
      fc.property(path, (p) => {
        const r = parseHookPath(p);
        if (r.ok) {
          expect(`/hooks/${r.namespace}/${r.name}`).toBe(p);
          expect(r.namespace).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
          expect(r.namespace.length).toBeLessThanOrEqual(63);
          expect(r.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
        } else {
          expect(r.problems.length).toBeGreaterThan(0);
          for (const problem of r.problems) expect(problem.length).toBeLessThan(600);
        }
      }),
      runs(1000),
    );
  });
});

describe("the webhook listener, in-process on 127.0.0.1", () => {
  const LIMIT = 2048;
  let server: AgentServer;
  let pushes: string[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    const stream = { write: (s: string) => logs.push(s) } as unknown as NodeJS.WritableStream;
    server = await startAgentServer({
      port: 0,
      host: "127.0.0.1",
      maxBodyBytes: LIMIT,
      rejectFloorMs: 0,
      webhookSecret: (ns, name) => Promise.resolve(ns === "team1" && name === "team1" ? SECRET : undefined),
      onPush: (ns, name) => {
        pushes.push(`${ns}/${name}`);
        return Date.now();
      },
      ready: () => true,
      metrics: createMetrics(),
      logger: createLogger(stream),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  interface Sent {
    readonly method: string;
    readonly path: string;
    readonly headers: Record<string, string>;
    readonly body: Buffer;
  }

  function send(r: Sent): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: server.port, method: r.method, path: r.path, headers: r.headers, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", reject);
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        // The server may close a connection whose body it refused (413) before reading it all.
        if (e.code === "ECONNRESET" || e.code === "EPIPE") resolve({ status: 413, text: "" });
        else reject(e);
      });
      req.end(r.body);
    });
  }

  // Header values a client can send on the wire: printable ASCII.
  const wireValue = fc.oneof(fc.string({ unit: "grapheme-ascii" }).map((s) => s.trim()), hex64, hex64.map((h) => `sha256=${h}`), fc.constantFrom("push", "Push Hook"));
  const wireHeaders = fc.dictionary(fc.constantFrom(...HEADER_NAMES.map((h) => h.toLowerCase())), wireValue);
  const urlPath = fc.oneof(
    fc.constantFrom("/hooks/team1/team1", "/hooks/team1/other", "/hooks/Team1/team1", "/hooks/team1", "/hooks//", "/healthz", "/readyz", "/metrics", "/", "/hooks/team1/team1?x=1", "//evil.example/hooks/team1/team1"),
    fc.array(fc.string({ unit: "grapheme" }), { maxLength: 3 }).map((s) => `/hooks/${s.map(encodeURIComponent).join("/")}`),
    fc.string({ unit: "grapheme-ascii" }).map((s) => `/${encodeURI(s)}`),
  );
  const requests = fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"),
    path: urlPath,
    headers: wireHeaders,
    body: fc.oneof(body, fc.uint8Array({ minLength: LIMIT - 2, maxLength: LIMIT + 64 }).map((b) => Buffer.from(b))),
  });

  it("answers every request with a documented status, acts only on a genuine push, leaks no secret, and keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        pushes = [];
        const signed = carriesProof(r.headers, r.body);
        const res = await send(r);
        expect([200, 202, 401, 404, 405, 408, 413, 503]).toContain(res.status);
        expect(res.text).not.toContain(SECRET);
        if (!signed) expect(pushes).toEqual([]);
        expect(pushes.every((p) => p === "team1/team1")).toBe(true);
        // Still up.
        expect((await send({ method: "GET", path: "/healthz", headers: {}, body: Buffer.alloc(0) })).status).toBe(200);
      }),
      runs(150),
    );
    expect(logs.join("")).not.toContain(SECRET);
  });

  let delivered = 0;
  it("a push signed with the secret is accepted once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.stringMatching(/^[a-z0-9]{8,32}$/), async (bytes, delivery) => {
        pushes = [];
        // Each case its own body (the same body twice is a replay whatever its delivery id),
        // and its own id: generated ids repeat across cases.
        const n = String(++delivered);
        const b = Buffer.concat([Buffer.from(`${n}:`), Buffer.from(bytes)]);
        const h = { "x-hub-signature-256": `sha256=${sign(b)}`, "x-github-event": "push", "x-github-delivery": `${n}-${delivery}` };
        const first = await send({ method: "POST", path: "/hooks/team1/team1", headers: h, body: b });
        const again = await send({ method: "POST", path: "/hooks/team1/team1", headers: h, body: b });
        expect([first.status, again.status]).toEqual([202, 200]);
        expect(pushes).toEqual(["team1/team1"]);
      }),
      runs(40),
    );
  });
});
