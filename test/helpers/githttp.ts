// A real smart-HTTP git server for tests: git's own `git http-backend` (CGI) behind a Node
// HTTPS server with a certificate from a throwaway CA, and Basic auth with one token.
// Serves every bare repository under `root` at https://127.0.0.1:<port>/<name>.git.

import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { tempDir } from "./cli.js";

export interface GitHttpServer {
  readonly url: string;
  /** PEM of the CA that signed the server certificate. */
  readonly caCert: string;
  /** Requests seen, with the user they authenticated as (or null). */
  readonly requests: { path: string; user: string | null }[];
  /** Upload-pack commands served, in order: "ls-refs" (protocol v2 ls-remote) or "fetch". */
  readonly commands: string[];
  close(): Promise<void>;
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA and a server certificate for 127.0.0.1 / localhost, in a temp dir. */
export function certificates(): { dir: string; caCert: string } {
  const dir = tempDir();
  openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=tenantry test CA", "-keyout", "ca.key", "-out", "ca.crt");
  openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt");
  return { dir, caCert: readFileSync(join(dir, "ca.crt"), "utf8") };
}

function basicUser(header: string | undefined, user: string, token: string): string | null {
  if (header === undefined || !header.startsWith("Basic ")) return null;
  const [u, p] = Buffer.from(header.slice(6), "base64").toString("utf8").split(/:(.*)/s);
  return u === user && p === token ? u : null;
}

/** Starts the server; requests without `user:token` get 401. */
export async function startGitHttpServer(root: string, user: string, token: string): Promise<GitHttpServer> {
  const { dir, caCert } = certificates();
  const backend = join(execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(), "git-http-backend");
  const requests: { path: string; user: string | null }[] = [];
  const commands: string[] = [];
  const server: Server = createServer({ key: readFileSync(join(dir, "server.key")), cert: readFileSync(join(dir, "server.crt")) }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const authed = basicUser(req.headers.authorization, user, token);
    requests.push({ path: url.pathname, user: authed });
    if (authed === null) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
      return;
    }
    const cgi = spawn(backend, [], {
      env: {
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: authed,
        REMOTE_ADDR: "127.0.0.1",
        ...(req.headers["content-encoding"] === undefined ? {} : { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] }),
        ...(req.headers["git-protocol"] === undefined ? {} : { GIT_PROTOCOL: String(req.headers["git-protocol"]) }),
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(cgi.stdin);
    if (req.method === "POST") {
      const body: Buffer[] = [];
      req.on("data", (c: Buffer) => body.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(body);
        const text = (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("latin1");
        // Protocol v2 names the command; v0 posts to upload-pack only to fetch.
        commands.push(/command=ls-refs/.test(text) ? "ls-refs" : "fetch");
      });
    }
    // CGI output: header lines, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caCert,
    requests,
    commands,
    close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })),
  };
}
