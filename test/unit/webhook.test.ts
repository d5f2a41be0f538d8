import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createLogger, REDACTED, redact } from "../../src/agent/log.js";
import { createMetrics } from "../../src/agent/metrics.js";
import { isPushEvent, parseHookPath, verifyWebhook } from "../../src/agent/webhook.js";

const secret = "s3cr3t-webhook-token";
const body = Buffer.from(JSON.stringify({ ref: "refs/heads/main", after: "0123abcd" }));
const hmac = (b: Buffer, s = secret): string => createHmac("sha256", s).update(b).digest("hex");

const github = (b = body, s = secret) => ({ "x-hub-signature-256": `sha256=${hmac(b, s)}`, "x-github-event": "push" });
const gitea = (b = body, s = secret) => ({ "x-gitea-signature": hmac(b, s), "x-gitea-event": "push" });
const gitlab = (s = secret) => ({ "x-gitlab-token": s, "x-gitlab-event": "Push Hook" });

describe("verifyWebhook", () => {
  it("accepts each provider's valid signature", () => {
    expect(verifyWebhook(github(), body, secret)).toEqual({ ok: true, provider: "github" });
    expect(verifyWebhook(gitea(), body, secret)).toEqual({ ok: true, provider: "gitea" });
    expect(verifyWebhook(gitlab(), body, secret)).toEqual({ ok: true, provider: "gitlab" });
  });

  it("looks headers up case-insensitively and accepts upper-case hex", () => {
    const sig = hmac(body).toUpperCase();
    expect(verifyWebhook({ "X-Hub-Signature-256": `sha256=${sig}` }, body, secret)).toEqual({ ok: true, provider: "github" });
    expect(verifyWebhook({ "X-Gitea-Signature": [sig] }, body, secret)).toEqual({ ok: true, provider: "gitea" });
  });

  it("refuses a signature made with another secret", () => {
    expect(verifyWebhook(github(body, "other"), body, secret)).toEqual({ ok: false, reason: "signature mismatch" });
    expect(verifyWebhook(gitea(body, "other"), body, secret)).toEqual({ ok: false, reason: "signature mismatch" });
    expect(verifyWebhook(gitlab("other"), body, secret)).toEqual({ ok: false, reason: "token mismatch" });
  });

  it("refuses a tampered body", () => {
    const tampered = Buffer.from(body.toString().replace("main", "evil"));
    expect(verifyWebhook(github(), tampered, secret).ok).toBe(false);
    expect(verifyWebhook(gitea(), tampered, secret).ok).toBe(false);
  });

  it("refuses a request without a signature header", () => {
    expect(verifyWebhook({ "x-github-event": "push" }, body, secret)).toEqual({ ok: false, reason: "no signature header" });
    expect(verifyWebhook({ "x-hub-signature": `sha1=${"0".repeat(40)}` }, body, secret)).toEqual({ ok: false, reason: "no signature header" });
  });

  it("never verifies with an empty secret", () => {
    expect(verifyWebhook(github(body, ""), body, "")).toEqual({ ok: false, reason: "no webhook secret configured" });
    expect(verifyWebhook(gitea(body, ""), body, "").ok).toBe(false);
    expect(verifyWebhook(gitlab(""), body, "").ok).toBe(false);
  });

  it("refuses signatures of the wrong length or form without throwing", () => {
    const sig = hmac(body);
    for (const bad of [sig.slice(0, 10), `${sig}00`, "", `${sig.slice(0, 63)}g`]) {
      expect(verifyWebhook({ "x-hub-signature-256": `sha256=${bad}` }, body, secret)).toEqual({ ok: false, reason: "signature mismatch" });
      expect(verifyWebhook({ "x-gitea-signature": bad }, body, secret)).toEqual({ ok: false, reason: "signature mismatch" });
    }
    expect(verifyWebhook({ "x-hub-signature-256": sig }, body, secret)).toEqual({ ok: false, reason: "malformed signature header" });
    expect(verifyWebhook(gitlab(secret.slice(0, 3)), body, secret)).toEqual({ ok: false, reason: "token mismatch" });
    expect(verifyWebhook(gitlab(`${secret}x`), body, secret)).toEqual({ ok: false, reason: "token mismatch" });
  });

  it("refuses a signature header given twice", () => {
    const sig = `sha256=${hmac(body)}`;
    expect(verifyWebhook({ "x-hub-signature-256": [sig, sig] }, body, secret)).toEqual({ ok: false, reason: "repeated signature header" });
    expect(verifyWebhook({ "x-hub-signature-256": sig, "X-Hub-Signature-256": sig }, body, secret).ok).toBe(false);
  });

  it("never quotes a header value in its reason", () => {
    const verdict = verifyWebhook({ "x-gitlab-token": "leaked-value" }, body, secret);
    expect(JSON.stringify(verdict)).not.toContain("leaked-value");
  });
});

describe("isPushEvent", () => {
  it("recognises each provider's push", () => {
    expect(isPushEvent({ "x-github-event": "push" })).toBe("github");
    expect(isPushEvent({ "X-Gitlab-Event": "Push Hook" })).toBe("gitlab");
    expect(isPushEvent({ "x-gitea-event": "push" })).toBe("gitea");
    // Gitea also sends the GitHub header; the Gitea one wins.
    expect(isPushEvent({ "x-gitea-event": "push", "x-github-event": "push" })).toBe("gitea");
  });

  it("does not take other events for a push", () => {
    expect(isPushEvent({ "x-github-event": "ping" })).toBeUndefined();
    expect(isPushEvent({ "x-gitlab-event": "Tag Push Hook" })).toBeUndefined();
    expect(isPushEvent({ "x-gitea-event": "pull_request" })).toBeUndefined();
    expect(isPushEvent({})).toBeUndefined();
  });

  it("with a provider, reads only that provider's header", () => {
    expect(isPushEvent({ "x-github-event": "push" }, "gitlab")).toBeUndefined();
    expect(isPushEvent({ "x-gitlab-event": "Push Hook" }, "gitlab")).toBe("gitlab");
  });
});

describe("parseHookPath", () => {
  it.each([
    ["/hooks/team1/team1", "team1", "team1"],
    ["/hooks/tenantry-system/admin.repo-1", "tenantry-system", "admin.repo-1"],
    [`/hooks/${"a".repeat(63)}/${"b".repeat(253)}`, "a".repeat(63), "b".repeat(253)],
  ])("reads %s", (path, namespace, name) => {
    expect(parseHookPath(path)).toEqual({ ok: true, namespace, name });
  });

  it.each([
    "/hooks/team1",
    "/hooks/team1/",
    "/hooks//x",
    "/hooks/team1/x/y",
    "/hooks/Team1/x",
    "/hooks/team.1/x",
    "/hooks/team1/-x",
    "/hooks/team1/x..y",
    "/hooks/team1/%2e%2e",
    "/hooks/../x",
    `/hooks/${"a".repeat(64)}/x`,
    `/hooks/a/${"b".repeat(254)}`,
    "/other/team1/x",
  ])("refuses %j", (path) => {
    expect(parseHookPath(path).ok).toBe(false);
  });
});

describe("metrics", () => {
  it("keeps its own registry with the agent's metrics", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.recordReconcile("team1", "team1", { ready: false, reason: "BuildFailed", applied: 0, pruned: 0 }, 1.5);
    a.recordReconcile("team1", "team1", { ready: true, reason: "ReconciliationSucceeded", applied: 3, pruned: 1 }, 0.2);
    a.countWebhook("accepted");
    const text = (await a.render()).body;
    expect(text).toContain('tenantry_reconcile_failures_total{namespace="team1",name="team1",reason="BuildFailed"} 1');
    expect(text).toContain('tenantry_applied_objects_total{namespace="team1",name="team1"} 3');
    expect(text).toContain('tenantry_pruned_objects_total{namespace="team1",name="team1"} 1');
    expect(text).toContain('tenantry_reconcile_duration_seconds_count{namespace="team1",name="team1",result="success"} 1');
    expect(text).toContain('tenantry_webhook_requests_total{result="accepted"} 1');
    expect(text).toContain('tenantry_webhook_requests_total{result="too_large"} 0');
    expect((await b.render()).body).toContain('tenantry_webhook_requests_total{result="accepted"} 0');
  });
});

describe("logger", () => {
  it("writes one JSON object per line and redacts credentials at any depth", () => {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    const log = createLogger(stream, { now: () => new Date("2025-01-02T03:04:05.000Z") });
    log.warn("webhook rejected", { namespace: "team1", webhookSecret: "x", nested: { Authorization: "Bearer y", list: [{ password: "z" }] } });
    log.error("boom", { error: new Error("bad"), level: "spoofed" });
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      time: "2025-01-02T03:04:05.000Z",
      level: "warn",
      msg: "webhook rejected",
      namespace: "team1",
      webhookSecret: REDACTED,
      nested: { Authorization: REDACTED, list: [{ password: REDACTED }] },
    });
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ level: "error", error: { name: "Error", message: "bad" } });
  });

  it("survives cycles and bigints", () => {
    const a: Record<string, unknown> = { n: 1n };
    a.self = a;
    expect(redact(a)).toEqual({ n: "1", self: "[Circular]" });
  });
});
