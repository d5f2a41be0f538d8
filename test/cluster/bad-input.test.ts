// A kubeconfig or a cluster that is wrong gets one line naming the server and the fix, and a
// documented exit code (docs/cli.md), never a stack trace or "This is a bug": TLS that fails
// (another CA, no CA, a self-signed, expired or misnamed certificate, plain HTTP), a server
// that cannot be reached, credentials the API server does not accept (401), an identity
// without the right (403), and a cluster without tenantry's GitSync CRD.
//
// Everything runs against the shared local control plane. Two situations it cannot be put in
// without disturbing the other test files are made by a TLS front in this process, between the
// CLI and the real API server: a certificate of our choosing (self-signed, expired), and a
// cluster that does not serve tenantry.dev (the front answers discovery 404 for that group,
// as the API server does when the CRD is not installed, and forwards everything else). The
// CRD itself is never installed or removed here: other files rely on the shared cluster's.
// For 403 the front serves tenantry.dev's discovery document and forwards the request with
// the caller's token, so the refusal is the real API server's (RBAC is judged before the
// resource is looked up, so it answers 403 whether the CRD is there or not).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent as HttpsAgent, createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { startAgent } from "../helpers/agent.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, ignoring } from "../helpers/cluster.js";

interface KubeconfigDoc {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
}

const NS = "bad-input-rights";
let dir: string;
let real: KubeconfigDoc;
let server: string;
let pki: Record<"caCert" | "caKey" | "serverKey" | "validCert" | "expiredCert" | "selfCert" | "selfKey" | "otherCaCert", string>;
const fronts: Server[] = [];

const b64 = (file: string): string => readFileSync(file).toString("base64");

/** Test certificates, made with openssl (a Debian package the project installs anyway). */
function makePki(at: string): typeof pki {
  const p = (f: string): string => join(at, f);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: at, stdio: "pipe" });
  };
  writeFileSync(p("index.txt"), "");
  writeFileSync(p("serial"), "01\n");
  writeFileSync(
    p("ca.cnf"),
    "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n[ext]\nsubjectAltName = IP:127.0.0.1\n",
  );
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=tenantry-test-ca");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=another-ca");
  openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "server.csr", "-out", "valid.crt", "-days", "2", "-extensions", "ext", "-notext");
  // Valid one day in 2020: expired now, signed by the CA the kubeconfig trusts.
  openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "server.csr", "-out", "expired.crt", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extensions", "ext", "-notext");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out", "self.crt", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1");
  return {
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    serverKey: p("server.key"),
    validCert: p("valid.crt"),
    expiredCert: p("expired.crt"),
    selfCert: p("self.crt"),
    selfKey: p("self.key"),
    otherCaCert: p("other-ca.crt"),
  };
}

/** The shared cluster's kubeconfig with its cluster and user changed, written to a file. */
function kubeconfig(name: string, cluster: (c: Record<string, unknown>) => Record<string, unknown>, user?: Record<string, unknown>): string {
  const doc = structuredClone(real);
  for (const c of doc.clusters) c.cluster = cluster({ ...c.cluster });
  if (user !== undefined) for (const u of doc.users) u.user = user;
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

type FrontMode = "hide-tenantry" | "serve-tenantry-discovery" | "forward";

/**
 * A TLS front on 127.0.0.1 with the given certificate, forwarding to the real API server:
 * with the caller's Authorization header when it sends one, else as the cluster admin
 * (the shared kubeconfig's client certificate).
 */
async function startFront(cert: string, key: string, mode: FrontMode): Promise<string> {
  const upstream = real.clusters[0]?.cluster ?? expect.fail("no cluster");
  const admin = real.users[0]?.user ?? expect.fail("no user");
  const ca = Buffer.from(String(upstream["certificate-authority-data"]), "base64");
  const asAdmin = new HttpsAgent({ ca, cert: Buffer.from(String(admin["client-certificate-data"]), "base64"), key: Buffer.from(String(admin["client-key-data"]), "base64") });
  const asCaller = new HttpsAgent({ ca });
  const target = new URL(String(upstream.server));
  const front = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    const path = req.url ?? "/";
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (path.startsWith("/apis/tenantry.dev")) {
      if (mode === "hide-tenantry") {
        json(404, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "the server could not find the requested resource", reason: "NotFound", details: {}, code: 404 });
        return;
      }
      if (mode === "serve-tenantry-discovery" && path.split("?")[0] === "/apis/tenantry.dev/v1alpha1") {
        json(200, {
          kind: "APIResourceList",
          apiVersion: "v1",
          groupVersion: "tenantry.dev/v1alpha1",
          resources: [{ name: "gitsyncs", singularName: "gitsync", namespaced: true, kind: "GitSync", verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"] }],
        });
        return;
      }
    }
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers, agent: headers.authorization === undefined ? asAdmin : asCaller },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  fronts.push(front);
  await new Promise<void>((done) => front.listen(0, "127.0.0.1", done));
  return `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
}

/** One line on stderr, no stack, no bug report. */
function expectOneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^ {4}at |This is a bug|internal error/m);
  return lines[0] ?? "";
}

const COMMANDS = [["status"], ["sync", "--all"], ["sync", "--namespace", "team1", "--name", "team1"]];

async function expectEach(file: string, code: number, line: RegExp, commands: string[][] = COMMANDS): Promise<void> {
  for (const args of commands) {
    const r = await runCli([...args, "--kubeconfig", file]);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
    expect(expectOneLine(r.stderr), args.join(" ")).toMatch(line);
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

beforeAll(async () => {
  dir = tempDir("tenantry-bad-input-");
  real = parse(readFileSync(inject("kubeconfig"), "utf8")) as KubeconfigDoc;
  server = String(real.clusters[0]?.cluster.server);
  pki = makePki(dir);
  const api = client(adminAccess());
  await ignoring([409], api.createObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }));
  await ignoring([409], api.createObject({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "nobody", namespace: NS } }));
});

afterAll(async () => {
  for (const f of fronts) f.close();
  await ignoring([404], client(adminAccess()).deleteObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }));
});

describe("TLS with the API server fails: exit 4, one line naming the server and the kubeconfig field", () => {
  it("another CA's certificate-authority-data", async () => {
    const file = kubeconfig("other-ca", (c) => ({ ...c, "certificate-authority-data": b64(pki.otherCaCert) }));
    await expectEach(file, 4, new RegExp(`^tenantry: error: the API server at ${escape(server)} presented a certificate the kubeconfig does not trust \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\): set the cluster's certificate-authority-data`));
  });

  it("no certificate-authority at all", async () => {
    const file = kubeconfig("no-ca", (c) => {
      delete c["certificate-authority-data"];
      return c;
    });
    await expectEach(file, 4, /presented a certificate the kubeconfig does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  });

  it("a self-signed certificate", async () => {
    const front = await startFront(pki.selfCert, pki.selfKey, "forward");
    const file = kubeconfig("self-signed", () => ({ server: front, "certificate-authority-data": b64(pki.caCert) }), {});
    await expectEach(file, 4, new RegExp(`^tenantry: error: the API server at ${escape(front)} presented a certificate the kubeconfig does not trust \\(DEPTH_ZERO_SELF_SIGNED_CERT\\)`));
  });

  it("an expired certificate, signed by the CA the kubeconfig trusts", async () => {
    const front = await startFront(pki.expiredCert, pki.serverKey, "forward");
    const file = kubeconfig("expired", () => ({ server: front, "certificate-authority-data": b64(pki.caCert) }), {});
    await expectEach(file, 4, new RegExp(`^tenantry: error: the API server at ${escape(front)} presented a certificate that is not valid now \\(CERT_HAS_EXPIRED\\): renew the API server's certificate, or check this machine's clock$`));
  });

  it("the same front with a valid certificate works (the front is not what fails)", async () => {
    const front = await startFront(pki.validCert, pki.serverKey, "forward");
    const file = kubeconfig("valid-front", () => ({ server: front, "certificate-authority-data": b64(pki.caCert) }), {});
    const r = await runCli(["resources", NS, "--kubeconfig", file]);
    // NS exists but is no team's: saying so takes the API server's real answer, through the front.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`unknown team ${NS}: namespace ${NS} is not labelled`));
  });

  it("a certificate for other names (tls-server-name)", async () => {
    const file = kubeconfig("other-name", (c) => ({ ...c, "tls-server-name": "tenantry-wrong-name.invalid" }));
    await expectEach(file, 4, /presented a certificate for other names \(ERR_TLS_CERT_ALTNAME_INVALID: .*tenantry-wrong-name\.invalid.*\): use a server URL or tls-server-name in the kubeconfig that the certificate names$/);
  });

  it("plain HTTP to the TLS port", async () => {
    const file = kubeconfig("plain-http", (c) => ({ ...c, server: server.replace(/^https:/, "http:") }));
    await expectEach(file, 4, /Client sent an HTTP request to an HTTPS server\. \(HTTP 400\)/);
  });

  it("the agent logs the same line on each try and keeps running", async () => {
    const file = kubeconfig("other-ca-agent", (c) => ({ ...c, "certificate-authority-data": b64(pki.otherCaCert) }));
    const agent = await startAgent(["--kubeconfig", file]);
    await expect.poll(() => agent.logs.find((l) => l.msg === "watching GitSyncs failed; retrying")?.error, { timeout: 15_000 }).toMatch(/presented a certificate the kubeconfig does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    expect(await agent.stop()).toBe(0);
  });
});

describe("the API server cannot be reached: exit 4", () => {
  it("connection refused", async () => {
    const closed = createTcpServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => { done(); }));
    const file = kubeconfig("refused", (c) => ({ ...c, server: `https://127.0.0.1:${port}` }));
    await expectEach(file, 4, new RegExp(`^tenantry: error: cannot reach the API server at https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): check the kubeconfig and that the cluster is up$`));
  });

  it("a host name that does not resolve", async () => {
    // .invalid never resolves (RFC 2606); the lookup stays on this machine's resolver.
    const file = kubeconfig("no-such-host", (c) => ({ ...c, server: "https://tenantry-no-such-host.invalid:6443" }));
    await expectEach(file, 4, /^tenantry: error: cannot reach the API server at https:\/\/tenantry-no-such-host\.invalid:6443 \((ENOTFOUND|EAI_AGAIN)\): check the kubeconfig and that the cluster is up$/);
  });
});

describe("credentials and rights", () => {
  it("a token the API server does not accept: 401, exit 4", async () => {
    const file = kubeconfig("bogus-token", (c) => c, { token: "not-a-token" });
    await expectEach(file, 4, /401|credentials/, [["status"]]);
    await expectEach(
      file,
      4,
      new RegExp(`^tenantry: error: the API server at ${escape(server)} did not accept the kubeconfig's credentials \\(401 Unauthorized\\): the token or client certificate is wrong or expired: get a new one, or use another kubeconfig or context \\(--kubeconfig\\)$`),
      [["sync", "--all"], ["sync", "--namespace", "team1", "--name", "team1"]],
    );
  });

  it("a ServiceAccount with no rights: 403 from the real API server, exit 4, its message and the fix", async () => {
    const reply = await client(adminAccess()).post<{ status?: { token?: string } }>(`/api/v1/namespaces/${NS}/serviceaccounts/nobody/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600 },
    });
    const token = reply.status?.token ?? expect.fail("no token");
    const direct = kubeconfig("nobody", (c) => c, { token });
    await expectEach(direct, 4, new RegExp(`gitsyncs\\.tenantry\\.dev is forbidden: User "system:serviceaccount:${NS}:nobody" cannot list resource "gitsyncs"`), [["status"]]);
    const front = await startFront(pki.validCert, pki.serverKey, "serve-tenantry-discovery");
    const viaFront = kubeconfig("nobody-front", () => ({ server: front, "certificate-authority-data": b64(pki.caCert) }), { token });
    await expectEach(
      viaFront,
      4,
      new RegExp(
        `^tenantry: error: the API server at ${escape(front)} refused GET /apis/tenantry\\.dev/v1alpha1/gitsyncs: gitsyncs\\.tenantry\\.dev is forbidden: User "system:serviceaccount:${NS}:nobody" cannot list resource "gitsyncs" in API group "tenantry\\.dev" at the cluster scope \\(403 Forbidden\\): use a kubeconfig whose identity has that right \\(--kubeconfig\\), or grant it with RBAC$`,
      ),
      [["sync", "--all"]],
    );
    await expectEach(viaFront, 4, /refused GET \/apis\/tenantry\.dev\/v1alpha1\/namespaces\/team1\/gitsyncs\/team1: .*cannot get resource "gitsyncs".*\(403 Forbidden\): use a kubeconfig whose identity has that right/, [["sync", "--namespace", "team1", "--name", "team1"]]);
  });
});

describe("a cluster without tenantry's GitSync CRD: exit 1, tenantry is not installed there", () => {
  let file: string;
  beforeAll(async () => {
    const front = await startFront(pki.validCert, pki.serverKey, "hide-tenantry");
    file = kubeconfig("no-crd", () => ({ server: front, "certificate-authority-data": b64(pki.caCert) }), {});
  });

  it("sync", async () => {
    await expectEach(file, 1, /^tenantry: error: the cluster at https:\/\/127\.0\.0\.1:\d+ does not serve GitSync \(tenantry\.dev\/v1alpha1\): tenantry is not installed there: apply the admin repo's cluster\/common/, [["sync", "--all"], ["sync", "--namespace", "team1", "--name", "team1"]]);
  });

  it("status", async () => {
    await expectEach(file, 1, /serves no GitSyncs: tenantry is not installed there \(apply the admin repo's cluster\/common\)$/, [["status"]]);
  });

  it("the agent logs it in one line and keeps trying (the admin may install it next)", async () => {
    const agent = await startAgent(["--kubeconfig", file]);
    await expect.poll(() => agent.logs.find((l) => l.msg === "watching GitSyncs failed; retrying")?.error, { timeout: 15_000 }).toMatch(/does not serve GitSync \(tenantry\.dev\/v1alpha1\): tenantry is not installed there/);
    expect(await agent.stop()).toBe(0);
  });
});
