// Reading kubeconfigs (src/cluster/access.ts): the one way tenantry gets an identity. Files
// are read as kubectl reads them: relative paths against the file, $KUBECONFIG lists merged
// with the first file winning, exec users kept for client-node's authenticators; every
// problem is one line naming the file and the fix (exit 2).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { contextNames, impersonate, loadAccess } from "../../src/cluster/access.js";
import { TenantryError } from "../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "tenantry-access-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const savedEnv = process.env.KUBECONFIG;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedEnv;
});

function file(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === "string" ? doc : stringify(doc));
  return path;
}

const cluster = (name: string, server: string, extra: object = {}) => ({ name, cluster: { server, ...extra } });
const context = (name: string, c: string, u: string, namespace?: string) => ({ name, context: { cluster: c, user: u, ...(namespace === undefined ? {} : { namespace }) } });

function error(fn: () => unknown): TenantryError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TenantryError) return e;
    throw e;
  }
  return expect.fail("no error");
}

describe("loadAccess", () => {
  it("reads the current context; relative paths are relative to the file", () => {
    const f = file("one.yaml", {
      "current-context": "admin",
      clusters: [cluster("local", "https://127.0.0.1:6443/", { "certificate-authority": "pki/ca.crt", "tls-server-name": "kubernetes" })],
      users: [{ name: "admin", user: { "client-certificate": "pki/admin.crt", "client-key": "/abs/admin.key" } }],
      contexts: [context("admin", "local", "admin", "team1")],
    });
    expect(loadAccess(f)).toEqual({
      context: "admin",
      cluster: { name: "local", server: "https://127.0.0.1:6443", skipTLSVerify: false, caFile: join(dir, "pki/ca.crt"), tlsServerName: "kubernetes" },
      user: { name: "admin", certFile: join(dir, "pki/admin.crt"), keyFile: "/abs/admin.key" },
      namespace: "team1",
    });
  });

  it("a named context instead of the current one; no namespace means default", () => {
    const f = file("two.yaml", {
      "current-context": "a",
      clusters: [cluster("c", "https://c")],
      users: [{ name: "u", user: { token: "t" } }, { name: "v", user: { exec: { command: "get-token", apiVersion: "client.authentication.k8s.io/v1" } } }],
      contexts: [context("a", "c", "u"), context("b", "c", "v")],
    });
    const b = loadAccess(f, "b");
    expect(b.context).toBe("b");
    expect(b.namespace).toBe("default");
    // An exec user is kept as written: client-node's authenticator runs it per request.
    expect(b.user.exec).toEqual({ command: "get-token", apiVersion: "client.authentication.k8s.io/v1" });
    expect(contextNames(f)).toEqual(["a", "b"]);
  });

  it("$KUBECONFIG lists are merged as kubectl does: the first file to set a name or current-context wins", () => {
    const first = file("first.yaml", { "current-context": "x", clusters: [cluster("c", "https://first")], users: [{ name: "u", user: { token: "1" } }], contexts: [context("x", "c", "u")] });
    const second = file("second.yaml", {
      "current-context": "y",
      clusters: [cluster("c", "https://second"), cluster("d", "https://d")],
      users: [{ name: "u", user: { token: "2" } }],
      contexts: [context("y", "d", "u")],
    });
    process.env.KUBECONFIG = [first, join(dir, "missing.yaml"), second].join(delimiter);
    const x = loadAccess();
    expect([x.context, x.cluster.server, x.user.token]).toEqual(["x", "https://first", "1"]);
    const y = loadAccess(undefined, "y");
    expect([y.cluster.server, y.user.token]).toEqual(["https://d", "1"]);
    expect(contextNames()).toEqual(["x", "y"]);
  });

  it("every problem is one line naming the file and the fix, exit 2", () => {
    const cases: [string, () => unknown, RegExp][] = [
      ["missing file", () => loadAccess(join(dir, "nope.yaml")), /^cannot read kubeconfig .*nope\.yaml: no such file: pass --kubeconfig FILE$/],
      ["malformed YAML", () => loadAccess(file("bad.yaml", "clusters: [\n")), /^cannot read kubeconfig .*bad\.yaml: .*: pass --kubeconfig FILE$/],
      ["not a mapping", () => loadAccess(file("list.yaml", "- a\n")), /it is not a kubeconfig \(a YAML mapping\)/],
      ["no current context", () => loadAccess(file("empty.yaml", { clusters: [] })), /it has no current-context: set one \(kubectl config use-context NAME\)/],
      ["unknown context", () => loadAccess(file("ctx.yaml", { "current-context": "gone", contexts: [] })), /it has no context gone/],
      [
        "context naming a missing cluster",
        () => loadAccess(file("dangling.yaml", { "current-context": "a", contexts: [context("a", "nowhere", "u")], users: [{ name: "u", user: {} }] })),
        /context a names cluster nowhere, which it does not have/,
      ],
      ["cluster without server", () => loadAccess(file("noserver.yaml", { "current-context": "a", clusters: [{ name: "c", cluster: {} }] })), /cluster c has no server/],
      [
        "two users of one name",
        () => loadAccess(file("dup.yaml", { "current-context": "a", users: [{ name: "u", user: { token: "1" } }, { name: "u", user: { token: "2" } }] })),
        /users has two entries named u/,
      ],
    ];
    for (const [what, fn, message] of cases) {
      const e = error(fn);
      expect(e.message, what).toMatch(message);
      expect(e.message, what).not.toContain("\n");
      expect(e.exitCode, what).toBe(2);
    }
  });
});

describe("impersonate", () => {
  it("keeps the cluster and credentials and adds the user to impersonate", () => {
    const f = file("imp.yaml", { "current-context": "a", clusters: [cluster("c", "https://c")], users: [{ name: "u", user: { token: "t" } }], contexts: [context("a", "c", "u", "ns")] });
    const admin = loadAccess(f);
    const team = impersonate(admin, "system:serviceaccount:team1:team1");
    expect(team.cluster).toBe(admin.cluster);
    expect(team.namespace).toBe("ns");
    expect(team.user).toEqual({ name: "u-as-system:serviceaccount:team1:team1", token: "t", impersonateUser: "system:serviceaccount:team1:team1" });
  });
});
