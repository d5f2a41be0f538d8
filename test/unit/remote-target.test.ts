// A GitSync that applies into another API server (spec.kubeConfig, src/sync/target.ts and
// accessFromKubeconfigText in src/cluster/access.ts): who may name which Secret, what a
// kubeconfig read from a Secret may hold (no files, no programs), every problem as a reason
// and one line naming the Secret, and one access per Secret version.

import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { accessFromKubeconfigText } from "../../src/cluster/access.js";
import { ApiError } from "../../src/cluster/api-errors.js";
import type { Header } from "../../src/cluster/rest.js";
import { applyIdentity, type GitSync, kubeConfigRefusal, kubeConfigSecretOf, nextConditions, teamNamespaceOf } from "../../src/model/gitsync.js";
import type { KubeObject } from "../../src/model/object.js";
import { KUBECONFIG_INVALID, KUBECONFIG_NOT_FOUND, RemoteAccesses } from "../../src/sync/target.js";

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "cp",
    clusters: [{ name: "cp", cluster: { server: "https://cp.team1-system:443", ...cluster } }],
    users: [{ name: "admin", user }],
    contexts: [{ name: "cp", context: { cluster: "cp", user: "admin" } }],
    ...extra,
  });
}

function gitSync(namespace: string, spec: Partial<GitSync["spec"]> = {}): GitSync {
  return { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "team1", namespace }, spec: { url: "file:///x", interval: "1m", ...spec } };
}

const remoteSpec = { serviceAccountName: "team1", targetNamespace: "team1", kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: "team1-system", key: "kubeconfig-incluster" } } };

describe("accessFromKubeconfigText", () => {
  it("a token, basic auth: the current context's cluster and user", () => {
    const r = accessFromKubeconfigText(kubeconfig({ token: "t0ken" }, { "insecure-skip-tls-verify": true }));
    expect(r).toEqual({ access: { context: "cp", cluster: { name: "cp", server: "https://cp.team1-system:443", skipTLSVerify: true }, user: { name: "admin", token: "t0ken" }, namespace: "default", maxResponseBytes: 32 * 1024 * 1024 } });
    const basic = accessFromKubeconfigText(kubeconfig({ username: "u", password: "p" }));
    expect("access" in basic && basic.access.user).toEqual({ name: "admin", username: "u", password: "p" });
  });

  it("without a current context, its only context counts; with two, it must name one", () => {
    const text = kubeconfig({ token: "t" }, {}, { "current-context": undefined });
    expect("access" in accessFromKubeconfigText(text)).toBe(true);
    const two = stringify({ clusters: [{ name: "cp", cluster: { server: "https://a" } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "a", context: { cluster: "cp", user: "u" } }, { name: "b", context: { cluster: "cp", user: "u" } }] });
    expect(accessFromKubeconfigText(two)).toEqual({ problem: "it has no current-context: set one (kubectl config use-context NAME)" });
  });

  it.each([
    ["an exec plugin", kubeconfig({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "/bin/sh", args: ["-c", "id"] } }), /user admin runs an exec plugin: a kubeconfig in a Secret may not make tenantry run a program/],
    ["an auth provider", kubeconfig({ "auth-provider": { name: "oidc", config: {} } }), /user admin uses an auth provider/],
    ["a token file (the agent's own token would go to that server)", kubeconfig({ tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token" }), /user admin names a file \(tokenFile\): a kubeconfig in a Secret must carry it inline \(token\)/],
    ["a client key file", kubeconfig({ "client-certificate": "/etc/a.crt", "client-key": "/etc/a.key" }), /names a file \(client-certificate\)/],
    ["a CA file", kubeconfig({ token: "t" }, { "certificate-authority": "/etc/ca.crt" }), /cluster cp names a file \(certificate-authority\)/],
    ["a server that is no URL", kubeconfig({ token: "t" }, { server: "cp:443" }), /cluster cp's server is not an http\(s\) URL/],
    ["a CA that is not PEM", kubeconfig({ token: "t" }, { "certificate-authority-data": Buffer.from("garbage").toString("base64") }), /its certificate-authority-data is not base64 of PEM \(no CERTIFICATE block\)/],
    ["a client certificate without its key", kubeconfig({ "client-certificate-data": Buffer.from("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").toString("base64") }), /client-certificate-data without client-key-data/],
    ["no clusters", stringify({ "current-context": "cp", contexts: [{ name: "cp", context: { cluster: "cp", user: "u" } }] }), /context cp names cluster cp, which it does not have/],
    ["a list", "- a\n- b\n", /it is not a kubeconfig \(a YAML mapping\)/],
  ])("refuses %s, in one line", (_what, text, problem) => {
    const r = accessFromKubeconfigText(text);
    expect("problem" in r && r.problem).toMatch(problem);
  });

  it.each([
    ["1 MB of text (refused unparsed: the parser would take ~600 MB)", "[".repeat(1024 * 1024), /^it is 1048576 bytes, more than a kubeconfig's 65536 \(64 KiB\)$/],
    ["an alias bomb (yaml's ReferenceError is its problem, not a thrown error)", ["a: &a [x, x, x, x, x, x, x, x, x, x]", ..."bcdefghij".split("").map((c, i) => `${c}: &${c} [${Array(10).fill(`*${"abcdefghij"[i] ?? ""}`).join(", ")}]`)].join("\n"), /^it is not YAML tenantry reads \(ReferenceError: too many aliases\)$/],
  ])("refuses %s, quickly", (_what, text, problem) => {
    const start = performance.now();
    const r = accessFromKubeconfigText(text);
    expect(performance.now() - start).toBeLessThan(100);
    expect("problem" in r && r.problem).toMatch(problem);
  });

  it("text that is not YAML: the position only, never the text (it holds credentials)", () => {
    const r = accessFromKubeconfigText("users:\n  - name: a\n    user: {token: s3cret-value\n");
    expect("problem" in r && r.problem).toMatch(/^it is not YAML \([A-Z_]+ at line \d+\)$/);
    expect(JSON.stringify(r)).not.toContain("s3cret");
  });
});

describe("kubeConfigRefusal", () => {
  it("a GitSync in tenantry-system may name a kubeconfig Secret in another namespace", () => {
    const gs = gitSync("tenantry-system", remoteSpec);
    expect(kubeConfigRefusal(gs)).toBeUndefined();
    expect(kubeConfigSecretOf(gs)).toEqual({ namespace: "team1-system", name: "admin-kubeconfig", key: "kubeconfig-incluster" });
    // It applies as the team's ServiceAccount of the team's namespace there.
    expect(teamNamespaceOf(gs)).toBe("team1");
    expect(applyIdentity(gs)).toBe("system:serviceaccount:team1:team1");
  });

  it("a team's GitSync may not: the agent would read a Secret the team cannot", () => {
    expect(kubeConfigRefusal(gitSync("team2", { kubeConfig: remoteSpec.kubeConfig }))).toBe(
      "spec.kubeConfig.secretRef names Secret team1-system/admin-kubeconfig, outside the GitSync's namespace team2: only a GitSync in tenantry-system may use a kubeconfig from another namespace; put the Secret in team2, or move the GitSync to tenantry-system",
    );
    // Every problem at once: with the control plane's targetNamespace too.
    expect(kubeConfigRefusal(gitSync("team2", remoteSpec))?.split("; spec.")).toHaveLength(2);
    // Its own namespace, named or not, is fine; the key defaults to Flux's `value`.
    const own = gitSync("team2", { kubeConfig: { secretRef: { name: "kc" } } });
    expect(kubeConfigRefusal(own)).toBeUndefined();
    expect(kubeConfigSecretOf(own)).toEqual({ namespace: "team2", name: "kc", key: "value" });
    expect(kubeConfigRefusal(gitSync("team2", { kubeConfig: { secretRef: { name: "kc", namespace: "team2" } } }))).toBeUndefined();
  });

  it("kubeConfig in tenantry-system without serviceAccountName is refused: it would apply as that control plane's admin, unlinted", () => {
    const admin = { targetNamespace: remoteSpec.targetNamespace, kubeConfig: remoteSpec.kubeConfig };
    expect(kubeConfigRefusal(gitSync("tenantry-system", admin))).toMatch(/^spec.kubeConfig is set without spec.serviceAccountName: .* set serviceAccountName and targetNamespace/);
    expect(kubeConfigRefusal(gitSync("tenantry-system", { kubeConfig: remoteSpec.kubeConfig }))).toMatch(/^spec.kubeConfig is set without spec.serviceAccountName/);
    // A team's GitSync without one is still held to its namespace's default ServiceAccount (applyIdentity).
    expect(kubeConfigRefusal(gitSync("team2", { kubeConfig: { secretRef: { name: "kc" } } }))).toBeUndefined();
  });

  it("targetNamespace without kubeConfig is refused: on the agent's cluster a GitSync applies in its own namespace", () => {
    expect(kubeConfigRefusal(gitSync("tenantry-system", { serviceAccountName: "x", targetNamespace: "team1" }))).toMatch(/^spec.targetNamespace team1 is set without spec.kubeConfig/);
    expect(teamNamespaceOf(gitSync("team1", { targetNamespace: "other" }))).toBe("team1");
  });

  it("targetNamespace outside tenantry-system is refused, kubeConfig or not (as tenantry validate says)", () => {
    for (const gs of [gitSync("team1", { targetNamespace: "team1" }), gitSync("team1", { targetNamespace: "x", kubeConfig: { secretRef: { name: "kc" } } })]) {
      expect(kubeConfigRefusal(gs)).toMatch(/^spec.targetNamespace (team1|x): only a GitSync in tenantry-system may name the namespace it applies into; a GitSync in team1 applies into team1/);
    }
  });

  it("a refusal is Stalled: only a new spec helps", () => {
    expect(nextConditions(undefined, { status: "False", reason: "KubeConfigRefused", message: "m" }, 1, "t").map((c) => c.type)).toEqual(["Ready", "Stalled"]);
    expect(nextConditions(undefined, { status: "False", reason: "KubeConfigNotFound", message: "m" }, 1, "t").map((c) => c.type)).toEqual(["Ready"]);
  });
});

/** A host that serves one Secret (or 404), counting reads. */
function host(secret: () => KubeObject | undefined): { readObject: (h: Header) => Promise<KubeObject>; reads: number } {
  const h = {
    reads: 0,
    readObject(hd: Header): Promise<KubeObject> {
      h.reads++;
      expect(hd).toEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "admin-kubeconfig", namespace: "team1-system" } });
      const s = secret();
      return s === undefined ? Promise.reject(new ApiError(404, JSON.stringify({ message: "not found" }))) : Promise.resolve(s);
    },
  };
  return h;
}

function secret(data: Record<string, string>, resourceVersion: string): KubeObject {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  return { apiVersion: "v1", kind: "Secret", metadata: { name: "admin-kubeconfig", namespace: "team1-system", uid: "u1", resourceVersion }, data: encoded };
}

describe("RemoteAccesses", () => {
  const gs = gitSync("tenantry-system", remoteSpec);

  it("no kubeConfig: the agent's own API server, no read", async () => {
    const h = host(() => undefined);
    expect(await new RemoteAccesses().resolve(h, gitSync("team1"))).toEqual({ remote: undefined });
    expect(h.reads).toBe(0);
  });

  it("one access per Secret version: reused while the Secret is unchanged, rebuilt when it changes", async () => {
    let current = secret({ "kubeconfig-incluster": kubeconfig({ token: "one" }) }, "1");
    const h = host(() => current);
    const remotes = new RemoteAccesses();
    const a = await remotes.resolve(h, gs);
    const b = await remotes.resolve(h, gs);
    if (!("remote" in a) || !("remote" in b) || a.remote === undefined || b.remote === undefined) return expect.fail("no access");
    expect(b.remote.access).toBe(a.remote.access);
    expect(a.remote.source).toBe("Secret team1-system/admin-kubeconfig, key kubeconfig-incluster");
    expect(a.remote.access.user.token).toBe("one");
    current = secret({ "kubeconfig-incluster": kubeconfig({ token: "two" }) }, "2");
    const c = await remotes.resolve(h, gs);
    if (!("remote" in c) || c.remote === undefined) return expect.fail("no access");
    expect(c.remote.access).not.toBe(a.remote.access);
    expect(c.remote.access.user.token).toBe("two");
    expect(h.reads).toBe(3); // the Secret is read every run: a change is seen at once
    expect(remotes.size).toBe(1);
  });

  it("a missing Secret, a missing key, an unusable kubeconfig: a reason and a line naming the Secret and the fix; the access is forgotten", async () => {
    let current: KubeObject | undefined = secret({ "kubeconfig-incluster": kubeconfig({ token: "one" }) }, "1");
    const remotes = new RemoteAccesses();
    const h = host(() => current);
    await remotes.resolve(h, gs);
    expect(remotes.size).toBe(1);

    current = undefined;
    expect(await remotes.resolve(h, gs)).toEqual({
      failure: {
        reason: KUBECONFIG_NOT_FOUND,
        message:
          "kubeconfig Secret team1-system/admin-kubeconfig, key kubeconfig-incluster: Secret team1-system/admin-kubeconfig not found: create it with the kubeconfig of the API server to apply into under key kubeconfig-incluster (for a KubeFlex control plane, KubeFlex writes it once the control plane is ready). Nothing was applied or pruned.",
      },
    });
    expect(remotes.size).toBe(0);

    current = secret({ kubeconfig: "x", other: "y" }, "3");
    const noKey = await remotes.resolve(h, gs);
    expect(noKey).toEqual({ failure: { reason: KUBECONFIG_NOT_FOUND, message: expect.stringContaining("the Secret has no key kubeconfig-incluster (its keys: kubeconfig, other): set spec.kubeConfig.secretRef.key") as unknown } });

    current = secret({ "kubeconfig-incluster": "not: [a kubeconfig" }, "4");
    const bad = await remotes.resolve(h, gs);
    expect("failure" in bad && bad.failure.reason).toBe(KUBECONFIG_INVALID);
    expect("failure" in bad && bad.failure.message).toMatch(/^kubeconfig Secret team1-system\/admin-kubeconfig, key kubeconfig-incluster: it cannot be used: it is not YAML/);

    current = secret({ "kubeconfig-incluster": kubeconfig({ exec: { command: "curl" } }) }, "5");
    const exec = await remotes.resolve(h, gs);
    expect("failure" in exec && exec.failure.message).toMatch(/runs an exec plugin/);
    expect(remotes.size).toBe(0);
  });

  it("a Secret the agent may not read: KubeConfigNotFound with the API server's word", async () => {
    const h = { readObject: () => Promise.reject(new ApiError(403, JSON.stringify({ message: "secrets is forbidden" }))) };
    const r = await new RemoteAccesses().resolve(h, gs);
    expect(r).toEqual({ failure: { reason: KUBECONFIG_NOT_FOUND, message: expect.stringMatching(/the agent cannot read the Secret \(HTTP 403: secrets is forbidden\)/) as unknown } });
  });
});
