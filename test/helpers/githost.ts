// A contract server for the deploy-key APIs of GitHub, GitLab and Gitea: node:http on
// 127.0.0.1 and a free port, implementing the documented list/create/delete endpoints with
// token auth, paging and the hosts' own error answers (see /work/shared/notes/TOOLCHAIN.md,
// "Git hosts' deploy-key APIs"). No forge with an HTTP API is packaged in Debian, and
// building Gitea from its module is heavy, so the adapters are tested against this.
// Fingerprints are computed here independently of src/keys (sha256 of the key blob).

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Flavor = "github" | "gitlab" | "gitea";

export interface StoredKey {
  id: number;
  title: string;
  /** `type base64` (the comment is dropped, as GitHub does) */
  key: string;
  fingerprint: string;
  readOnly: boolean;
  createdAt: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

export interface GitHost {
  readonly flavor: Flavor;
  /** The API base to pass as --api-url. */
  readonly url: string;
  readonly token: string;
  /** A valid token without the right to manage deploy keys: 403. */
  readonly weakToken: string;
  readonly requests: RecordedRequest[];
  /** The server's largest page (clients asking for more get this many). */
  pageSize: number;
  addRepo(fullName: string): void;
  keys(fullName: string): StoredKey[];
  /** Puts a key on a repo directly, as someone else would. */
  seed(fullName: string, title: string, key: string, readOnly?: boolean): StoredKey;
  /** The next request is answered with this status and body, whatever it is. */
  failNext(status: number, body: unknown): void;
  /** The next request is never answered (for client timeouts). */
  hangNext(): void;
  close(): Promise<void>;
}

/** SHA256:<base64 of sha256(blob)> without padding, as ssh-keygen -l prints it. */
export function fingerprintOf(key: string): string | null {
  const [type, data] = key.trim().split(/\s+/);
  if (type === undefined || data === undefined || !/^(ssh-|ecdsa-|sk-)/.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(data)) return null;
  const blob = Buffer.from(data, "base64");
  // The blob starts with the key type as an SSH string: a key of another type is invalid.
  if (blob.length < 4 || blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() !== type) return null;
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { ...(text === "" ? {} : { "Content-Type": "application/json" }), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startGitHost(flavor: Flavor, opts: { pageSize?: number } = {}): Promise<GitHost> {
  const token = `tok-${flavor}-${Math.random().toString(36).slice(2)}`;
  const weakToken = `weak-${flavor}-${Math.random().toString(36).slice(2)}`;
  const repos = new Map<string, StoredKey[]>();
  const requests: RecordedRequest[] = [];
  let nextId = 1;
  let failure: { status: number; body: unknown } | undefined;
  let hang = false;
  const hanging: ServerResponse[] = [];
  const prefix = flavor === "github" ? "" : flavor === "gitlab" ? "/api/v4" : "/api/v1";

  const host: GitHost = {
    flavor,
    url: "",
    token,
    weakToken,
    requests,
    pageSize: opts.pageSize ?? 100,
    addRepo: (n) => {
      if (!repos.has(n)) repos.set(n, []);
    },
    keys: (n) => [...(repos.get(n) ?? [])],
    seed: (n, title, key, readOnly = true) => {
      const list = repos.get(n);
      if (list === undefined) throw new Error(`no repo ${n}`);
      const k = { id: nextId++, title, key: key.split(/\s+/).slice(0, 2).join(" "), fingerprint: fingerprintOf(key) ?? "", readOnly, createdAt: new Date().toISOString() };
      list.push(k);
      return k;
    },
    failNext: (status, body) => {
      failure = { status, body };
    },
    hangNext: () => {
      hang = true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };

  const auth = (req: IncomingMessage): "ok" | "weak" | "bad" => {
    const h = req.headers;
    let given: string | undefined;
    if (flavor === "gitlab") given = typeof h["private-token"] === "string" ? h["private-token"] : undefined;
    const a = h.authorization;
    if (given === undefined && typeof a === "string") {
      const m = /^(?:Bearer|token) (.+)$/.exec(a);
      given = m?.[1];
    }
    return given === token ? "ok" : given === weakToken ? "weak" : "bad";
  };

  const inUseElsewhere = (fp: string, repo: string): boolean => [...repos].some(([n, ks]) => n !== repo && ks.some((k) => k.fingerprint === fp));

  const paged = (list: StoredKey[], page: number, per: number): StoredKey[] => list.slice((page - 1) * per, page * per);

  const view = (k: StoredKey, repo: string, base: string): unknown => {
    switch (flavor) {
      case "github":
        return { id: k.id, key: k.key, url: `${base}/repos/${repo}/keys/${k.id}`, title: k.title, verified: true, created_at: k.createdAt, read_only: k.readOnly, added_by: "test", last_used: null };
      case "gitlab":
        return { id: k.id, title: k.title, key: k.key, fingerprint: "00:11", fingerprint_sha256: k.fingerprint, created_at: k.createdAt, expires_at: null, can_push: !k.readOnly };
      case "gitea":
        return { id: k.id, key: k.key, url: `${base}/api/v1/repos/${repo}/keys/${k.id}`, title: k.title, fingerprint: k.fingerprint, created_at: k.createdAt, read_only: k.readOnly };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ method: req.method ?? "", path: u.pathname + u.search, headers: req.headers, body });
    if (hang) {
      hang = false;
      hanging.push(res);
      return;
    }
    if (failure !== undefined) {
      const f = failure;
      failure = undefined;
      send(res, f.status, f.body);
      return;
    }
    const base = host.url.slice(0, host.url.length - prefix.length);
    const who = auth(req);
    if (who === "bad") {
      send(res, 401, flavor === "github" ? { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" } : flavor === "gitlab" ? { message: "401 Unauthorized" } : { message: "invalid username, password or token", url: `${base}/api/swagger` });
      return;
    }
    // Route: the repo and the optional key id.
    let repo: string | undefined;
    let id: string | undefined;
    if (flavor === "gitlab") {
      const m = /^\/api\/v4\/projects\/([^/]+)\/deploy_keys(?:\/(\d+))?$/.exec(u.pathname);
      repo = m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
      id = m?.[2];
    } else {
      const m = new RegExp(`^${prefix}/repos/([^/]+)/([^/]+)/keys(?:/(\\d+))?$`).exec(u.pathname);
      repo = m?.[1] === undefined || m[2] === undefined ? undefined : `${m[1]}/${m[2]}`;
      id = m?.[3];
    }
    const notFound = (): void => {
      send(res, 404, flavor === "github" ? { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" } : flavor === "gitlab" ? { message: "404 Project Not Found" } : { message: "The target couldn't be found.", url: `${base}/api/swagger`, errors: [] });
    };
    const list = repo === undefined ? undefined : repos.get(repo);
    if (repo === undefined || list === undefined) {
      notFound();
      return;
    }
    if (who === "weak") {
      send(res, 403, flavor === "github" ? { message: "Resource not accessible by personal access token", documentation_url: "https://docs.github.com/rest", status: "403" } : flavor === "gitlab" ? { message: "403 Forbidden" } : { message: "token does not have at least one of required scope(s): [write:repository]", url: `${base}/api/swagger` });
      return;
    }

    if (req.method === "GET" && id === undefined) {
      const q = u.searchParams;
      const page = Math.max(1, Number(q.get("page") ?? "1") || 1);
      const asked = Number(q.get(flavor === "gitea" ? "limit" : "per_page") ?? (flavor === "github" ? "30" : flavor === "gitlab" ? "20" : "30"));
      const per = Math.max(1, Math.min(host.pageSize, asked || 1));
      const items = paged(list, page, per).map((k) => view(k, repo, base));
      const pages = Math.max(1, Math.ceil(list.length / per));
      const link = (p: number): string => {
        const next = new URL(u.toString().replace("http://127.0.0.1", base));
        next.searchParams.set("page", String(p));
        return next.toString();
      };
      const headers: Record<string, string> = {};
      const rels = [...(page < pages ? [`<${link(page + 1)}>; rel="next"`] : []), `<${link(pages)}>; rel="last"`];
      headers.Link = rels.join(", ");
      if (flavor === "gitlab") {
        Object.assign(headers, { "X-Page": String(page), "X-Per-Page": String(per), "X-Total": String(list.length), "X-Total-Pages": String(pages), "X-Next-Page": page < pages ? String(page + 1) : "", "X-Prev-Page": page > 1 ? String(page - 1) : "" });
      }
      if (flavor === "gitea") headers["X-Total-Count"] = String(list.length);
      send(res, 200, items, headers);
      return;
    }
    if (req.method === "GET" && id !== undefined) {
      const k = list.find((x) => String(x.id) === id);
      if (k === undefined) notFound();
      else send(res, 200, view(k, repo, base));
      return;
    }
    if (req.method === "DELETE" && id !== undefined) {
      const i = list.findIndex((x) => String(x.id) === id);
      if (i < 0) {
        send(res, 404, flavor === "gitlab" ? { message: "404 Deploy Key Not Found" } : { message: "Not Found" });
        return;
      }
      list.splice(i, 1);
      send(res, 204, undefined);
      return;
    }
    if (req.method === "POST" && id === undefined) {
      const b = (typeof body === "object" && body !== null ? body : {}) as { title?: unknown; key?: unknown; read_only?: unknown; can_push?: unknown };
      const key = typeof b.key === "string" ? b.key : "";
      const title = typeof b.title === "string" ? b.title : "";
      const fp = fingerprintOf(key);
      const readOnly = flavor === "gitlab" ? b.can_push !== true : b.read_only === true;
      if (flavor === "github") {
        if (fp === null) {
          send(res, 422, { message: "Validation Failed", errors: [{ resource: "PublicKey", code: "custom", field: "key", message: "key is invalid. You must supply a key in OpenSSH public key format" }], documentation_url: "https://docs.github.com/rest", status: "422" });
          return;
        }
        if ([...repos.values()].some((ks) => ks.some((k) => k.fingerprint === fp))) {
          send(res, 422, { message: "Validation Failed", errors: [{ resource: "PublicKey", code: "custom", field: "key", message: "key is already in use" }], documentation_url: "https://docs.github.com/rest", status: "422" });
          return;
        }
      }
      if (flavor === "gitlab") {
        if (title === "" || fp === null) {
          send(res, 400, { message: title === "" ? { title: ["can't be blank"] } : { key: ["is invalid"] } });
          return;
        }
        const there = list.find((k) => k.fingerprint === fp);
        if (there !== undefined) {
          send(res, 201, view(there, repo, base));
          return;
        }
        if (inUseElsewhere(fp, repo)) {
          send(res, 400, { message: { "deploy_key.fingerprint": ["has already been taken"] } });
          return;
        }
      }
      if (flavor === "gitea") {
        if (fp === null) {
          send(res, 422, { message: "Invalid key content: no key found", url: `${base}/api/swagger` });
          return;
        }
        if (list.some((k) => k.fingerprint === fp)) {
          send(res, 422, { message: "This key has already been added to this repository", url: `${base}/api/swagger` });
          return;
        }
        if (list.some((k) => k.title === title)) {
          send(res, 422, { message: "Key title has been used", url: `${base}/api/swagger` });
          return;
        }
      }
      const k = host.seed(repo, title, key, readOnly);
      send(res, 201, view(k, repo, base));
      return;
    }
    send(res, 405, { message: "Method Not Allowed" });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      send(res, 500, { message: String(e) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (host as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;
  return host;
}
