// A read-only smart-HTTP git server on 127.0.0.1 for the demo's remotes under the flux engine
// (Flux's GitRepository takes http(s) and ssh URLs, not file://): git's own `git http-backend`
// as a CGI behind Node's http server. Fetch only: http-backend refuses pushes from anonymous
// clients (http.receivepack is unset), and the demo pushes to the bare repositories' paths.
// Plain HTTP is fine on loopback for a demo; a real Git host serves https or ssh.
//
//   node scripts/git-http.mjs ROOT   prints http://127.0.0.1:<port> once listening; serves until
//                                    killed. A process of its own, so it keeps serving while
//                                    the demo waits on a synchronous child.

import { spawn } from "node:child_process";
import { createServer } from "node:http";

/** Serves every bare repository under `root` at http://127.0.0.1:<port>/<name>.git. */
async function serveGitHttp(root) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_ADDR: "127.0.0.1",
        ...(req.headers["git-protocol"] === undefined ? {} : { GIT_PROTOCOL: String(req.headers["git-protocol"]) }),
        ...(req.headers["content-encoding"] === undefined ? {} : { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) }),
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(cgi.stdin);
    // The CGI answer: headers, a blank line, the body.
    let head = Buffer.alloc(0);
    let inBody = false;
    cgi.stdout.on("data", (chunk) => {
      if (inBody) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      inBody = true;
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", (code) => {
      if (!inBody) res.statusCode = code === 0 ? 200 : 500;
      res.end();
    });
    cgi.on("error", () => {
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolveListen);
  });
  return server.address().port;
}

const root = process.argv[2];
if (root === undefined) {
  process.stderr.write("usage: node scripts/git-http.mjs ROOT\n");
  process.exit(2);
}
const port = await serveGitHttp(root);
process.stdout.write(`http://127.0.0.1:${port}\n`);
process.on("SIGTERM", () => process.exit(0));
