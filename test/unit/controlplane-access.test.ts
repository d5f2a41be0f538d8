// Where a team lives (src/cluster/controlplane-access.ts): a namespace team on the host, a
// controlplane team on its own API server, reached with the kubeconfig KubeFlex writes into a
// Secret. The pure parts directly; the resolver against a stub API server on 127.0.0.1 that
// answers what each case needs (the real two-API-server case is
// test/cluster/controlplane-views.test.ts).

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { KubeAccess } from "../../src/cluster/access.js";
import {
  accessFromSecretKubeconfig,
  type ControlPlaneObject,
  controlPlanePath,
  foreignControlPlaneProblem,
  kubeconfigSecretRef,
  notReadyProblem,
  readFrom,
  resolveTeamTarget,
} from "../../src/cluster/controlplane-access.js";
import { TenantryError } from "../../src/errors.js";
import { controlPlaneCells, controlPlaneRows, readFromLine } from "../../src/views/controlplanes.js";
import { syncStatusRows } from "../../src/views/status.js";


function kubeconfig(user: Record<string, unknown> = { token: "admin-token" }, cluster: Record<string, unknown> = { server: "https://10.0.0.5:6443/" }, current: string | null = "cp"): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "cp-cluster", cluster }],
    users: [{ name: "cp-admin", user }],
    contexts: [{ name: "cp", context: { cluster: "cp-cluster", user: "cp-admin" } }],
    ...(current === null ? {} : { "current-context": current }),
  });
}

function thrown(fn: () => unknown): TenantryError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TenantryError) return e;
    throw e;
  }
  return expect.fail("no error");
}

const cp = (status?: ControlPlaneObject["status"], name = "alpha"): ControlPlaneObject => ({
  apiVersion: "tenancy.kflex.kubestellar.org/v1alpha1",
  kind: "ControlPlane",
  metadata: { name, labels: { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": name } },
  spec: { type: "k8s", backend: "shared" },
  ...(status === undefined ? {} : { status }),
});

const READY = { type: "Ready", status: "True", reason: "Available", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" };

describe("the kubeconfig in a ControlPlane's Secret", () => {
  it("gives an access in memory: server, token, the team's namespace", () => {
    const a = accessFromSecretKubeconfig(kubeconfig({ token: "admin-token" }, { server: "https://10.0.0.5:6443/" }), "Secret alpha-system/admin-kubeconfig key kubeconfig", "alpha");
    expect(a).toEqual({
      context: "cp",
      cluster: { name: "cp-cluster", server: "https://10.0.0.5:6443", skipTLSVerify: false },
      user: { name: "cp-admin", token: "admin-token" },
      namespace: "alpha",
      // A Secret's kubeconfig may name anyone's server: one answer is bounded (response-cap.test.ts).
      maxResponseBytes: 32 * 1024 * 1024,
    });
  });

  it("takes the only context when current-context is not set", () => {
    expect(accessFromSecretKubeconfig(kubeconfig(undefined, { server: "https://x:6443" }, null), "s", "alpha").context).toBe("cp");
  });

  it.each([
    ["an exec plugin", { exec: { command: "/bin/sh", args: ["-c", "curl evil"], apiVersion: "client.authentication.k8s.io/v1" } }, /runs an exec plugin/],
    ["an auth provider", { "auth-provider": { name: "oidc", config: {} } }, /uses an auth provider/],
    ["a client certificate file", { "client-certificate": "/etc/passwd", "client-key-data": "a2V5" }, /names a file \(client-certificate\)/],
    ["a token file", { tokenFile: "/root/.ssh/id_rsa" }, /names a file \(tokenFile\)/],
  ])("refuses %s, in one line naming the Secret, exit 2", (_, user, message) => {
    const e = thrown(() => accessFromSecretKubeconfig(kubeconfig(user, { server: "https://x:6443" }), "Secret alpha-system/admin-kubeconfig key kubeconfig (ControlPlane alpha)", "alpha"));
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^the kubeconfig in Secret alpha-system\/admin-kubeconfig key kubeconfig \(ControlPlane alpha\) cannot be used: /);
    expect(e.message).not.toContain("\n");
    expect(e.exitCode).toBe(2);
  });

  it("refuses a CA file path, a CA that is no PEM, and what is not a kubeconfig, quoting none of it", () => {
    expect(thrown(() => accessFromSecretKubeconfig(kubeconfig(undefined, { server: "https://x:6443", "certificate-authority": "/etc/ssl/ca.pem" }), "s", "a")).message).toMatch(/names a file \(certificate-authority\)/);
    expect(thrown(() => accessFromSecretKubeconfig(kubeconfig(undefined, { server: "https://x:6443", "certificate-authority-data": Buffer.from("not a certificate").toString("base64") }), "s", "a")).message).toMatch(/certificate-authority-data is not base64 of PEM/);
    expect(thrown(() => accessFromSecretKubeconfig("- a list", "s", "a")).message).toMatch(/not a kubeconfig/);
    const e = thrown(() => accessFromSecretKubeconfig("token: [secret-value", "s", "a"));
    expect(e.message).toMatch(/not YAML/);
    expect(e.message).not.toContain("secret-value");
    expect(thrown(() => accessFromSecretKubeconfig(kubeconfig(undefined, { server: "https://x:6443" }, "other"), "s", "a")).message).toMatch(/no context other/);
  });
});

describe("which Secret, and whether the ControlPlane is Ready", () => {
  it("status.secretRef's name, namespace and key (the external address, never inClusterKey)", () => {
    expect(kubeconfigSecretRef(cp({ conditions: [READY], secretRef: { name: "kc", namespace: "elsewhere", key: "external", inClusterKey: "incluster" } }))).toEqual({ name: "kc", namespace: "elsewhere", key: "external" });
  });

  it("KubeFlex's defaults without a secretRef, or without its key", () => {
    expect(kubeconfigSecretRef(cp())).toEqual({ name: "admin-kubeconfig", namespace: "alpha-system", key: "kubeconfig" });
    expect(kubeconfigSecretRef(cp({ secretRef: { name: "admin-kubeconfig", namespace: "alpha-system", inClusterKey: "kubeconfig-incluster" } })).key).toBe("kubeconfig");
  });

  it("not Ready: no status yet, or Ready=False with KubeFlex's reason", () => {
    expect(notReadyProblem(cp())).toMatch(/^ControlPlane alpha is not Ready: it has no status yet \(KubeFlex has not reconciled it\): wait/);
    expect(notReadyProblem(cp({ conditions: [{ type: "Ready", status: "False", reason: "Unavailable", message: "api server not up" }] }))).toMatch(/^ControlPlane alpha is not Ready \(Ready=False Unavailable: api server not up\)/);
    expect(notReadyProblem(cp({ conditions: [READY] }))).toBeUndefined();
  });
});

describe("status rows", () => {
  it("a ControlPlane row: type, Ready, age, baseline, Secret", () => {
    const rows = controlPlaneRows([cp({ conditions: [READY], postCreateHookCompleted: true }), cp(undefined, "beta")], new Date("2026-01-01T00:05:00Z"));
    expect(rows.map(controlPlaneCells)).toEqual([
      { controlplane: "alpha", team: "alpha", type: "k8s", ready: "True", reason: "Available", age: "5m", baseline: "applied", kubeconfig: "alpha-system/admin-kubeconfig" },
      { controlplane: "beta", team: "beta", type: "k8s", ready: "Unknown", reason: "NotReconciled", age: "-", baseline: "-", kubeconfig: "beta-system/admin-kubeconfig" },
    ]);
  });

  it("a GitSync in tenantry-system that applies into another API server is its targetNamespace's team's", () => {
    const gs = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "alpha", namespace: "tenantry-system" }, spec: { kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: "alpha-system" } }, targetNamespace: "alpha" } };
    const admin = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: "tenantry-system" }, spec: {} };
    const rows = syncStatusRows([gs, admin], [], [], new Date());
    expect(rows.map((r) => [r.name, r.team, r.quota])).toEqual([
      ["admin", null, null],
      ["alpha", "alpha", null],
    ]);
  });

  it("where a view read, in one line", () => {
    expect(readFromLine({ isolation: "controlplane", server: "https://10.0.0.5:6443", namespace: "alpha", controlPlane: "alpha", secret: "alpha-system/admin-kubeconfig" })).toBe(
      "read from namespace alpha in the API server of ControlPlane alpha (https://10.0.0.5:6443, kubeconfig from Secret alpha-system/admin-kubeconfig)",
    );
  });
});

// A stub API server: path -> [status, body]; every request is recorded.
type Answer = readonly [number, unknown];
let routes: Record<string, Answer> = {};
let requests: string[] = [];
let server: Server;
let base: string;

const status = (code: number, reason: string): Answer => [code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message: `${reason.toLowerCase()} (stub)` }];
const NOT_FOUND = status(404, "NotFound");
const FORBIDDEN = status(403, "Forbidden");

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    requests.push(`${req.method ?? ""} ${path}`);
    const [code, body] = routes[path] ?? NOT_FOUND;
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
});
beforeEach(() => {
  routes = {};
  requests = [];
});

const host = (): KubeAccess => ({ context: "host", cluster: { name: "host", server: base, skipTLSVerify: false }, user: { name: "admin", token: "host-token" }, namespace: "default" });
const teamNamespace = (name: string): Answer => [200, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "tenantry.dev/team": name } } }];
const secretWith = (text: string): Answer => [200, { apiVersion: "v1", kind: "Secret", metadata: { name: "admin-kubeconfig", namespace: "alpha-system" }, data: { kubeconfig: Buffer.from(text).toString("base64") } }];

async function failure(p: Promise<unknown>): Promise<TenantryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TenantryError) return e;
    throw e;
  }
  return expect.fail("resolved");
}

describe("resolveTeamTarget", () => {
  it("no ControlPlane (the CRD absent: 404): a namespace team on the host, as before", async () => {
    routes["/api/v1/namespaces/alpha"] = teamNamespace("alpha");
    const t = await resolveTeamTarget(host(), "alpha");
    expect(t.isolation).toBe("namespace");
    expect(readFrom(t)).toEqual({ isolation: "namespace", server: base, namespace: "alpha" });
    expect(requests).toEqual([`GET ${controlPlanePath("alpha")}`, "GET /api/v1/namespaces/alpha"]);
  });

  it("an invalid name is refused before any request", async () => {
    const e = await failure(resolveTeamTarget(host(), "Not_A_Team"));
    expect(e.exitCode).toBe(2);
    expect(requests).toEqual([]);
  });

  it.each([[500, "InternalError"], [401, "Unauthorized"], [503, "ServiceUnavailable"]])("any other answer reading the ControlPlane (%i) is an error, never a namespace team", async (code, reason) => {
    routes[controlPlanePath("alpha")] = status(code, reason);
    routes["/api/v1/namespaces/alpha"] = teamNamespace("alpha");
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(new RegExp(`^reading ControlPlane alpha: .*\\(HTTP ${code}\\)`));
    expect(e.exitCode).toBe(4);
    expect(requests).toEqual([`GET ${controlPlanePath("alpha")}`]);
  });

  it("an identity that may read neither ControlPlanes nor Namespaces (a team's own context) reads its namespace where it is", async () => {
    routes[controlPlanePath("alpha")] = FORBIDDEN;
    routes["/api/v1/namespaces/alpha"] = FORBIDDEN;
    expect((await resolveTeamTarget(host(), "alpha")).isolation).toBe("namespace");
  });

  it("403 on the ControlPlane and no namespace: cannot tell, says so", async () => {
    routes[controlPlanePath("alpha")] = FORBIDDEN;
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(/^cannot tell where team alpha lives: .* may not read ControlPlane alpha .*HTTP 403.* and the cluster has no namespace alpha: use an admin kubeconfig/);
  });

  it("a ControlPlane without status: exit 1 naming it, no Secret read", async () => {
    routes[controlPlanePath("alpha")] = [200, cp()];
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(/^ControlPlane alpha is not Ready: it has no status yet/);
    expect(e.exitCode).toBe(1);
    expect(requests).toEqual([`GET ${controlPlanePath("alpha")}`]);
  });

  it("a Ready ControlPlane whose Secret is missing: exit 1 naming the Secret", async () => {
    routes[controlPlanePath("alpha")] = [200, cp({ conditions: [READY], secretRef: { name: "admin-kubeconfig", namespace: "alpha-system", key: "kubeconfig", inClusterKey: "kubeconfig-incluster" } })];
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(/^Secret alpha-system\/admin-kubeconfig \(the kubeconfig of ControlPlane alpha\) does not exist: KubeFlex writes it/);
    expect(e.exitCode).toBe(1);
  });

  it("a Secret without the key: exit 1 naming the key", async () => {
    routes[controlPlanePath("alpha")] = [200, cp({ conditions: [READY] })];
    routes["/api/v1/namespaces/alpha-system/secrets/admin-kubeconfig"] = [200, { data: { "kubeconfig-incluster": "eA==" } }];
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(/has no key kubeconfig/);
  });

  it("a Secret whose kubeconfig runs an exec plugin is refused before any request to it", async () => {
    routes[controlPlanePath("alpha")] = [200, cp({ conditions: [READY] })];
    routes["/api/v1/namespaces/alpha-system/secrets/admin-kubeconfig"] = secretWith(kubeconfig({ exec: { command: "touch", args: ["/tmp/pwned"] } }, { server: base }));
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(/Secret alpha-system\/admin-kubeconfig key kubeconfig \(ControlPlane alpha\) cannot be used: user cp-admin runs an exec plugin/);
    expect(requests).toHaveLength(2);
  });

  it("a Ready ControlPlane: the team's API server from the Secret, its namespace checked there", async () => {
    routes[controlPlanePath("alpha")] = [200, cp({ conditions: [READY], secretRef: { name: "admin-kubeconfig", namespace: "alpha-system", key: "kubeconfig", inClusterKey: "kubeconfig-incluster" } })];
    // The "team's API server" is the stub too, reached with the Secret's token.
    routes["/api/v1/namespaces/alpha-system/secrets/admin-kubeconfig"] = secretWith(kubeconfig({ token: "cp-admin-token" }, { server: base }));
    routes["/api/v1/namespaces/alpha"] = [200, { apiVersion: "v1", kind: "Namespace", metadata: { name: "alpha" } }];
    const t = await resolveTeamTarget(host(), "alpha");
    expect(t).toMatchObject({ isolation: "controlplane", team: "alpha", namespace: "alpha", controlPlane: "alpha", secret: { name: "admin-kubeconfig", namespace: "alpha-system", key: "kubeconfig" } });
    expect(t.access.user.token).toBe("cp-admin-token");
    expect(readFrom(t)).toEqual({ isolation: "controlplane", server: base, namespace: "alpha", controlPlane: "alpha", secret: "alpha-system/admin-kubeconfig" });
  });

  it("a Ready ControlPlane whose API server has no namespace <team>: the baseline has not run", async () => {
    routes[controlPlanePath("alpha")] = [200, cp({ conditions: [READY] })];
    routes["/api/v1/namespaces/alpha-system/secrets/admin-kubeconfig"] = secretWith(kubeconfig({ token: "t" }, { server: base }));
    const e = await failure(resolveTeamTarget(host(), "alpha"));
    expect(e.message).toMatch(/^the API server of ControlPlane alpha \(.*\) has no namespace alpha: its baseline \(PostCreateHook alpha-baseline\) has not been applied/);
    expect(e.exitCode).toBe(1);
  });
});

describe("a ControlPlane tenantry did not render is not used (hostile review)", () => {
  it("without tenantry's labels: refused, naming the labels", () => {
    const foreign = { ...cp({ conditions: [READY] }), metadata: { name: "alpha" } };
    expect(foreignControlPlaneProblem(foreign, "alpha")).toMatch(/^ControlPlane alpha is not tenantry's \(it lacks the labels app\.kubernetes\.io\/managed-by=tenantry and tenantry\.dev\/team=alpha/);
  });

  it("labelled for another team: refused", () => {
    const other = { ...cp({ conditions: [READY] }), metadata: { name: "alpha", labels: { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "beta" } } };
    expect(foreignControlPlaneProblem(other, "alpha")).toMatch(/is not tenantry's/);
  });

  it("a status.secretRef outside <team>-system: refused, naming the Secret", () => {
    const moved = cp({ conditions: [READY], secretRef: { name: "admin-kubeconfig", namespace: "beta-system", key: "kubeconfig", inClusterKey: "kubeconfig-incluster" } });
    expect(foreignControlPlaneProblem(moved, "alpha")).toMatch(/names Secret beta-system\/admin-kubeconfig, outside alpha-system/);
  });

  it("tenantry's own, its Secret where KubeFlex writes it: used", () => {
    expect(foreignControlPlaneProblem(cp({ conditions: [READY], secretRef: { name: "admin-kubeconfig", namespace: "alpha-system", key: "kubeconfig", inClusterKey: "kubeconfig-incluster" } }), "alpha")).toBeUndefined();
  });
});
