// Webhook checks for the agent's HTTP edge, pure (no I/O): is this request signed with the
// GitSync's secret, is it a push, and which GitSync does its path name. Every comparison
// with secret material is constant-time, and no reason returned ever quotes a header value,
// so callers may log or answer with it.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { dnsLabelProblems, dnsSubdomainProblems } from "../model/names.js";

export type WebhookProvider = "github" | "gitlab" | "gitea";

export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export type WebhookVerdict = { ok: true; provider: WebhookProvider } | { ok: false; reason: string };

export type HookPath = { ok: true; namespace: string; name: string } | { ok: false; problems: string[] };

const REPEATED = Symbol("repeated");

/** The value of a header, looked up case-insensitively; REPEATED when it is given more than once. */
function header(headers: WebhookHeaders, name: string): string | undefined | typeof REPEATED {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    // A header given twice could carry one signature for a proxy and another for us: refuse.
    if (typeof value !== "string") {
      if (value.length !== 1 || found !== undefined) return REPEATED;
      found = value[0];
      continue;
    }
    if (found !== undefined) return REPEATED;
    found = value;
  }
  return found;
}

/** Constant-time equality; the length check first because timingSafeEqual throws on it. */
function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

function hmacMatches(given: string, body: Buffer, secret: string): boolean {
  if (!HEX_SHA256.test(given)) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return safeEqual(Buffer.from(given, "hex"), expected);
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

// Gitea first: it also sends X-Hub-Signature-256 and X-GitHub-Event for GitHub clients.
const SIGNATURES: readonly { provider: WebhookProvider; header: string; prefix: string }[] = [
  { provider: "gitea", header: "x-gitea-signature", prefix: "" },
  { provider: "github", header: "x-hub-signature-256", prefix: "sha256=" },
  { provider: "gitlab", header: "x-gitlab-token", prefix: "" },
];

/** Whether `body` was sent by a Git host that knows `secret`, and which host that was. */
export function verifyWebhook(headers: WebhookHeaders, body: Buffer, secret: string): WebhookVerdict {
  if (secret.length === 0) return { ok: false, reason: "no webhook secret configured" };
  for (const s of SIGNATURES) {
    const value = header(headers, s.header);
    if (value === undefined) continue;
    if (value === REPEATED) return { ok: false, reason: "repeated signature header" };
    if (s.provider === "gitlab") {
      // GitLab sends the secret itself; comparing digests keeps its length from leaking too.
      return safeEqual(sha256(value), sha256(secret)) ? { ok: true, provider: s.provider } : { ok: false, reason: "token mismatch" };
    }
    if (!value.startsWith(s.prefix)) return { ok: false, reason: "malformed signature header" };
    return hmacMatches(value.slice(s.prefix.length), body, secret)
      ? { ok: true, provider: s.provider }
      : { ok: false, reason: "signature mismatch" };
  }
  return { ok: false, reason: "no signature header" };
}

const PUSH_EVENTS: readonly { provider: WebhookProvider; header: string; value: string }[] = [
  { provider: "gitea", header: "x-gitea-event", value: "push" },
  { provider: "github", header: "x-github-event", value: "push" },
  { provider: "gitlab", header: "x-gitlab-event", value: "Push Hook" },
];

/**
 * The provider whose event header says this is a push, or undefined (a GitHub `ping`, a tag
 * or merge-request hook, no event header). With `provider`, only that host's header counts.
 */
export function isPushEvent(headers: WebhookHeaders, provider?: WebhookProvider): WebhookProvider | undefined {
  for (const e of PUSH_EVENTS) {
    if (provider !== undefined && e.provider !== provider) continue;
    if (header(headers, e.header) === e.value) return e.provider;
  }
  return undefined;
}

const DELIVERY_HEADERS: Readonly<Record<WebhookProvider, string>> = {
  github: "x-github-delivery",
  gitea: "x-gitea-delivery",
  gitlab: "x-gitlab-event-uuid",
};

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id the host gave this delivery (a redelivery keeps it), or undefined when it sent
 * none, sent it twice or sent something that is not an id.
 */
export function deliveryId(headers: WebhookHeaders, provider: WebhookProvider): string | undefined {
  const value = header(headers, DELIVERY_HEADERS[provider]);
  return typeof value === "string" && DELIVERY_ID.test(value) ? value : undefined;
}

const HOOK_PREFIX = "/hooks/";

/** The GitSync named by a `/hooks/<namespace>/<name>` path (no query string). */
export function parseHookPath(path: string): HookPath {
  if (!path.startsWith(HOOK_PREFIX)) return { ok: false, problems: [`path is not under ${HOOK_PREFIX}`] };
  const segments = path.slice(HOOK_PREFIX.length).split("/");
  if (segments.length !== 2) return { ok: false, problems: ["path is not /hooks/<namespace>/<name>"] };
  const [namespace = "", name = ""] = segments;
  // The lengths are checked before the names are quoted, so a problem never carries a long path.
  const problems =
    path.length > HOOK_PREFIX.length + 63 + 1 + 253
      ? ["path is too long"]
      : [...dnsLabelProblems("namespace", namespace), ...dnsSubdomainProblems("name", name)];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, namespace, name };
}
