// The HTTP side of the forge adapters: global fetch with a timeout, JSON in and out, and
// every failure turned into one line naming the host, the repo and the fix. The token only
// ever travels in a request header: it is never part of a URL, and it is scrubbed from
// anything the host sends back before that reaches a message.

import { ExitCode, TenantryError } from "../../errors.js";
import { HostError } from "./types.js";

export const DEFAULT_TIMEOUT_MS = 15_000;

export interface ForgeContext {
  /** GitHub, GitLab, Gitea */
  readonly hostName: string;
  readonly apiUrl: string;
  /** owner/name as given */
  readonly repo: string;
  readonly token: string;
  readonly tokenEnv: string;
  readonly authHeaders: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** What the token needs, for the 403 message. */
  readonly permissionHint: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** Problems with `--api-url`: https, or http only to this machine; no credentials in it. */
export function apiUrlProblems(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [`--api-url "${url}" is not a URL: give e.g. https://gitea.example.com/api/v1`];
  }
  if (u.username !== "" || u.password !== "") return ["--api-url carries credentials: put the token in the environment variable instead"];
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  if (u.protocol === "https:" || (u.protocol === "http:" && loopback)) return [];
  return [`--api-url "${url}" is not https: a token must not travel in clear text (plain http is allowed only to 127.0.0.1 and localhost)`];
}

/** The token removed from `text` (hosts sometimes echo request data back). */
function scrub(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join("***") : text;
}

/** The host's own error message in a JSON error body, on one line. */
export function hostMessage(body: unknown, token: string): string {
  if (body === null || body === undefined) return "";
  let text: string;
  if (typeof body === "string") text = body;
  else if (typeof body === "object") {
    const b = body as { message?: unknown; error?: unknown; errors?: unknown };
    const parts: string[] = [];
    const m = b.message ?? b.error;
    if (typeof m === "string") parts.push(m);
    else if (m !== undefined) parts.push(JSON.stringify(m));
    if (Array.isArray(b.errors)) {
      for (const e of b.errors as unknown[]) {
        if (typeof e === "string") parts.push(e);
        else if (typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string") parts.push((e as { message: string }).message);
      }
    }
    text = parts.join(": ");
  } else text = JSON.stringify(body);
  return scrub(text.replace(/\s+/g, " ").trim(), token).slice(0, 300);
}

function url(ctx: ForgeContext, path: string): string {
  return `${ctx.apiUrl.replace(/\/+$/, "")}${path}`;
}

/** Sends one request; resolves with any HTTP status, throws HostError when the host cannot be reached. */
export async function send(ctx: ForgeContext, method: string, pathOrUrl: string, body?: unknown): Promise<HttpResponse> {
  const target = pathOrUrl.startsWith("/") ? url(ctx, pathOrUrl) : pathOrUrl;
  // Never send the token anywhere but the API it belongs to (a Link header could point away).
  if (new URL(target).origin !== new URL(ctx.apiUrl).origin) throw new HostError(`${ctx.hostName} sent a link to another server (${new URL(target).origin}): refusing to send the token there`);
  let res: Response;
  try {
    res = await fetch(target, {
      method,
      headers: { Accept: "application/json", "User-Agent": "tenantry", ...ctx.authHeaders, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(ctx.timeoutMs),
      redirect: "error",
    });
  } catch (e) {
    const err = e as { name?: string; cause?: { code?: string; name?: string } };
    if (err.name === "TimeoutError" || err.cause?.name === "TimeoutError") {
      throw new HostError(`${ctx.hostName} at ${ctx.apiUrl} did not answer within ${Math.round(ctx.timeoutMs / 100) / 10} s: check --api-url and the network, then run again`);
    }
    const code = err.cause?.code ?? err.name ?? "network error";
    throw new HostError(`cannot reach ${ctx.hostName} at ${ctx.apiUrl} (${code}): check --api-url and the network, then run again`);
  }
  const text = await res.text().catch(() => "");
  let parsed: unknown = text;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The error for a status the adapter has no special meaning for. */
export function statusError(ctx: ForgeContext, res: HttpResponse, doing: string): HostError {
  const msg = hostMessage(res.body, ctx.token);
  const said = msg === "" ? `${res.status}` : `${res.status} ${msg}`;
  switch (res.status) {
    case 401:
      return new HostError(`${ctx.hostName} refused the token in ${ctx.tokenEnv} (${said}): set ${ctx.tokenEnv} to a valid token`);
    case 403:
      return new HostError(`${ctx.hostName} does not let the token in ${ctx.tokenEnv} ${doing} of ${ctx.repo} (${said}): ${ctx.permissionHint}`);
    case 404:
      return new HostError(`${ctx.hostName} at ${ctx.apiUrl} has no repo ${ctx.repo} the token in ${ctx.tokenEnv} can see (${said}): check --repo and --api-url, and the token's access to the repo`);
    default:
      if (res.status >= 500) return new HostError(`${ctx.hostName} failed to ${doing} of ${ctx.repo} (${said}): the host has a problem, run again later`);
      return new HostError(`${ctx.hostName} refused to ${doing} of ${ctx.repo} (${said})`);
  }
}

/** The token from `env[name]`; a clear input error when it is missing. */
export function requireToken(env: NodeJS.ProcessEnv, name: string, hostName: string): string {
  const token = env[name]?.trim();
  if (token === undefined || token === "") {
    throw new TenantryError(`${name} is not set: export a ${hostName} token that may manage the repo's deploy keys in ${name}`, ExitCode.invalid);
  }
  return token;
}

/** Problems with `repo` as `owner/name`. */
export function ownerRepoProblems(repo: string, nested: boolean): string[] {
  const seg = "[A-Za-z0-9_.-]+";
  const re = nested ? new RegExp(`^${seg}(/${seg})+$`) : new RegExp(`^${seg}/${seg}$`);
  return re.test(repo) && !repo.split("/").some((s) => s === "." || s === "..") ? [] : [`--repo "${repo}" is not ${nested ? "group/project" : "owner/name"}: give e.g. acme/team1`];
}
