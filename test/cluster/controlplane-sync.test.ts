// A GitSync that applies into another API server (spec.kubeConfig): a team on its own control
// plane. Two real control planes: the project's (the host, where the GitSync, the kubeconfig
// Secret, status and Events live) and a second one started here (scripts/local-cluster.sh, the
// team's API server, as KubeFlex would host it). The team's baseline inside it (namespace,
// ServiceAccount, a namespaced Role) is made by hand here; the lead's end-to-end test makes it
// with the real PostCreateHook. Reconciled by `tenantry sync` as a separate process, as the
// agent would: proves where the objects land, as whom, that nothing of them is on the host,
// that every kubeconfig problem is Ready=False naming the Secret with nothing applied or
// pruned, and that a team's GitSync may not borrow another namespace's kubeconfig.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { GitSync } from "../../src/model/gitsync.js";
import type { KubeObject } from "../../src/model/object.js";
import { runCli, repoRoot, tempDir } from "../helpers/cli.js";
import { expectNoErrors, startAgent } from "../helpers/agent.js";
import { adminAccess, apply, client, ignoring, readOrNull, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";
import { startTeamControlPlane, type TeamControlPlane } from "../helpers/kubeflex.js";

const TEAM = "cpsync";
const CP_NS = `${TEAM}-system`;
const SYSTEM = "tenantry-system";
/** A host namespace of another team, whose GitSync tries to borrow the control plane's kubeconfig. */
const OTHER = "cpsync-other";
/** A host namespace whose GitSync keeps its kubeconfig Secret beside it, reconciled by a running agent. */
const AGENT_NS = "cpsync-agent";
const GITSYNC = "tenantry.dev/v1alpha1";

let host: KubeAccess;
let cp: TeamControlPlane | undefined;
let remote: KubeAccess;
let repo: string;
let remoteRepo: { path: string; url: string };
let cpKubeconfig: string;

const cm = (name: string, namespace?: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: namespace === undefined ? { name } : { name, namespace }, data: { team: TEAM } });

/** Pushes a team repo holding exactly `objects` (one file each); returns the commit. */
function push(objects: readonly object[], dir = repo, url = remoteRepo.url): string {
  for (const f of readdirSync(dir)) if (f !== ".git") rmSync(join(dir, f), { recursive: true, force: true });
  const files = objects.map((o, i) => {
    const file = `o${String(i)}.yaml`;
    writeFileSync(join(dir, file), stringify(o));
    return file;
  });
  writeFileSync(join(dir, "kustomization.yaml"), stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: files }));
  return commitAndPush(dir, url);
}

function gitSyncObject(namespace: string, kubeConfig: GitSync["spec"]["kubeConfig"], extra: Partial<GitSync["spec"]> = {}): GitSync {
  return {
    apiVersion: GITSYNC,
    kind: "GitSync",
    metadata: { name: TEAM, namespace },
    spec: {
      url: remoteRepo.url,
      ref: { branch: "main" },
      interval: "1m",
      prune: true,
      serviceAccountName: TEAM,
      // A Secret of the repo reaches the other API server, whose RBAC this file plays (a plain
      // Secret is refused before any apply otherwise: sops.test.ts).
      allowPlainSecrets: true,
      // The team's namespace in its own API server: only a GitSync in tenantry-system names one.
      ...(namespace === SYSTEM ? { targetNamespace: TEAM } : {}),
      ...(kubeConfig === undefined ? {} : { kubeConfig }),
      ...extra,
    },
  };
}

const goodRef = { secretRef: { name: "admin-kubeconfig", namespace: CP_NS, key: "kubeconfig-incluster" } };

/** Sets the GitSync tenantry-system/TEAM's kubeConfig (replacing the whole spec as the admin repo would). */
async function setGitSync(kubeConfig: GitSync["spec"]["kubeConfig"] = goodRef, namespace = SYSTEM): Promise<void> {
  const header = { apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace } };
  const live = await readOrNull(host, header);
  const desired = gitSyncObject(namespace, kubeConfig);
  if (live === null) await client(host).createObject(desired);
  else await client(host).replaceObject({ ...desired, metadata: { ...desired.metadata, resourceVersion: live.metadata.resourceVersion } });
}

async function gitSync(namespace = SYSTEM): Promise<GitSync> {
  return (await client(host).readObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace } })) as GitSync;
}

function ready(gs: GitSync) {
  return gs.status?.conditions?.find((c) => c.type === "Ready");
}

function sync(namespace = SYSTEM) {
  return runCli(["sync", "--once", "--namespace", namespace, "--name", TEAM, "--kubeconfig", inject("kubeconfig")]);
}

/** A kubeconfig Secret on the host in CP_NS. */
async function kubeconfigSecret(name: string, data: Record<string, string>): Promise<void> {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  await apply(host, { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: CP_NS }, type: "Opaque", data: encoded });
}

/** ConfigMap `name` in the team's namespace of its own API server, or null. */
function remoteConfigMap(name: string, namespace = TEAM) {
  return readOrNull(remote, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } });
}

/** Whatever the host holds that this GitSync applied (by its ownership labels), in any namespace. */
async function onHost(): Promise<string[]> {
  const selector = `tenantry.dev/sync-name=${TEAM},tenantry.dev/sync-namespace=${SYSTEM}`;
  const found: string[] = [];
  for (const [v, k] of [["v1", "ConfigMap"], ["v1", "Secret"], ["rbac.authorization.k8s.io/v1", "ClusterRole"]] as const) {
    for (const o of (await client(host).listObjects(v, k, undefined, selector)).items) found.push(`${k}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
  }
  if ((await readOrNull(host, { apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } })) !== null) found.push(`Namespace/${TEAM}`);
  return found;
}

/** The good state every test starts from: the repo with a and b, the good kubeconfig, one successful sync. */
async function good(): Promise<string> {
  const sha = push([cm("a"), cm("b")]);
  await setGitSync(goodRef);
  const s = await sync();
  expect(s.code, s.stdout + s.stderr).toBe(0);
  expect(await remoteConfigMap("a")).not.toBeNull();
  expect(await remoteConfigMap("b")).not.toBeNull();
  return sha;
}

beforeAll(async () => {
  host = adminAccess();
  const started = await startTeamControlPlane();
  cp = started;
  remote = started.access;
  cpKubeconfig = readFileSync(started.kubeconfig, "utf8");
  // The host side: the GitSync CRD and tenantry-system (as cluster/common bootstraps them), the
  // control plane's namespace and the Secret KubeFlex writes there, another team's namespace.
  const crd = parseAllDocuments(readFileSync(join(repoRoot, "cluster-template", "cluster", "common", "gitsync-crd.yaml"), "utf8")).map((d) => d.toJS() as KubeObject);
  await applyObjects(host, crd);
  for (const ns of [SYSTEM, CP_NS, OTHER, AGENT_NS]) await ignoring([409], client(host).createObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
  await kubeconfigSecret("admin-kubeconfig", { kubeconfig: cpKubeconfig, "kubeconfig-incluster": cpKubeconfig });
  // The team's baseline in its own API server, by hand: namespace, ServiceAccount, a Role on
  // ConfigMaps only (no Secrets: what the team's identity may not do there is refused there).
  for (const o of [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "elsewhere" } },
    // The namespace the agent test's GitSync (in AGENT_NS on the host, no targetNamespace) applies into there.
    { apiVersion: "v1", kind: "Namespace", metadata: { name: AGENT_NS } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: TEAM, namespace: AGENT_NS } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "team", namespace: AGENT_NS }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }] },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "team", namespace: AGENT_NS }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "team" }, subjects: [{ kind: "ServiceAccount", name: TEAM, namespace: AGENT_NS }] },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: TEAM, namespace: TEAM } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "team", namespace: TEAM }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }] },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "team", namespace: TEAM }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "team" }, subjects: [{ kind: "ServiceAccount", name: TEAM, namespace: TEAM }] },
  ]) {
    await apply(remote, o);
  }
  remoteRepo = bareRepo("cp-team");
  repo = join(tempDir(), "cp-team");
  mkdirSync(repo, { recursive: true });
  git(repo, "init", "--quiet", "--initial-branch=main");
}, 240_000);

afterAll(async () => {
  for (const ns of [SYSTEM, OTHER]) await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: ns } }));
  await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: AGENT_NS } }));
  for (const ns of [CP_NS, OTHER, AGENT_NS]) await ignoring([404], client(host).deleteObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
  await cp?.stop();
});

describe("a GitSync with spec.kubeConfig (a team on its own control plane)", () => {
  beforeEach(async () => {
    // A fresh start for each test: no GitSync of the other team's namespace.
    await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: OTHER } }));
  });

  it("applies the team's repo into its own API server, in its namespace there, labelled as the team's; nothing of it appears on the host", async () => {
    const sha = await good();
    const gs = await gitSync();
    expect(ready(gs)?.status).toBe("True");
    expect(ready(gs)?.reason).toBe("ReconciliationSucceeded");
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.inventory?.entries?.map((e) => e.id)).toEqual([`${TEAM}_a__ConfigMap`, `${TEAM}_b__ConfigMap`]);
    const a = await remoteConfigMap("a");
    expect(a?.metadata.labels).toMatchObject({ "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": TEAM, "tenantry.dev/sync-name": TEAM, "tenantry.dev/sync-namespace": SYSTEM });
    expect((a?.metadata.managedFields as { manager: string; operation: string }[]).filter((f) => f.operation === "Apply").map((f) => f.manager)).toEqual(["tenantry"]);
    // Namespaced objects without a namespace went to the team's namespace there, not the GitSync's.
    expect(await remoteConfigMap("a", SYSTEM)).toBeNull();
    expect(await onHost()).toEqual([]);
  });

  it("applies as system:serviceaccount:<team>:<team> of the team's API server: what its Role there does not allow is refused there, and nothing is pruned", async () => {
    await good();
    const s = push([cm("a"), { apiVersion: "v1", kind: "Secret", metadata: { name: "grab" }, stringData: { a: "b" } }]);
    const r = await sync();
    expect(r.code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("ApplyFailed");
    expect(ready(gs)?.message).toMatch(new RegExp(`Secret/${TEAM}/grab: .*User "system:serviceaccount:${TEAM}:${TEAM}" cannot (create|patch) resource "secrets"`));
    expect(gs.status?.lastAttemptedRevision).toBe(`main@sha1:${s}`);
    expect(await readOrNull(remote, { apiVersion: "v1", kind: "Secret", metadata: { name: "grab", namespace: TEAM } })).toBeNull();
    expect(await remoteConfigMap("b")).not.toBeNull(); // not pruned: the apply failed
    // The refused Secret was never this GitSync's: not in the inventory (a prune of it would be refused too).
    expect(gs.status?.inventory?.entries?.map((e) => e.id)).toEqual([`${TEAM}_a__ConfigMap`, `${TEAM}_b__ConfigMap`]);
    expect(await onHost()).toEqual([]);
  });

  it.each([
    ["a ClusterRole", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: `${TEAM}-grab` }, rules: [] }, /ClusterRole\/cpsync-grab is cluster-scoped: a team repo may only hold objects in namespace cpsync/],
    ["an object in another namespace of that API server", cm("spy", "elsewhere"), /ConfigMap\/elsewhere\/spy is in namespace elsewhere: a team repo may only hold objects in namespace cpsync/],
  ])("%s in the team's repo: the lint, with that API server's discovery, refuses the revision; nothing is applied there", async (_what, object, message) => {
    await good();
    push([cm("a"), cm("c"), object]);
    expect((await sync()).code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("LintFailed");
    expect(ready(gs)?.message).toMatch(message);
    expect(await remoteConfigMap("c")).toBeNull();
    expect(await remoteConfigMap("spy", "elsewhere")).toBeNull();
    expect(await readOrNull(remote, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: `${TEAM}-grab` } })).toBeNull();
    expect(await remoteConfigMap("b")).not.toBeNull();
  });

  it("removing an object from the team's repo prunes it in the team's API server", async () => {
    await good();
    const sha = push([cm("a")]);
    const s = await sync();
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toMatch(/pruned 1/);
    expect(await remoteConfigMap("b")).toBeNull();
    expect(await remoteConfigMap("a")).not.toBeNull();
    const gs = await gitSync();
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.inventory?.entries?.map((e) => e.id)).toEqual([`${TEAM}_a__ConfigMap`]);
  });

  it("with the team's own token as the kubeconfig it applies without impersonating (it may not), as the team", async () => {
    await good();
    const review = await client(remote).post<{ status: { token: string } }>(`/api/v1/namespaces/${TEAM}/serviceaccounts/${TEAM}/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } });
    const admin = parseAllDocuments(cpKubeconfig)[0]?.toJS() as { clusters: { cluster: object }[] };
    const teamKubeconfig = stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "team",
      clusters: [{ name: "cp", cluster: admin.clusters[0]?.cluster }],
      users: [{ name: "team", user: { token: review.status.token } }],
      contexts: [{ name: "team", context: { cluster: "cp", user: "team" } }],
    });
    await kubeconfigSecret("team-kubeconfig", { value: teamKubeconfig });
    push([cm("a"), cm("b"), cm("t")]);
    await setGitSync({ secretRef: { name: "team-kubeconfig", namespace: CP_NS } }); // key: Flux's default, value
    const s = await sync();
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(await remoteConfigMap("t")).not.toBeNull();
  });
});

describe("a kubeconfig that cannot be had or used: Ready=False naming the Secret, nothing applied, nothing pruned", () => {
  const marker = join(tempDir(), "exec-ran");
  const badKubeconfig = (user: object, server?: string): string => {
    const admin = parseAllDocuments(cpKubeconfig)[0]?.toJS() as { clusters: { cluster: object }[] };
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "x",
      clusters: [{ name: "cp", cluster: { ...admin.clusters[0]?.cluster, ...(server === undefined ? {} : { server }) } }],
      users: [{ name: "u", user }],
      contexts: [{ name: "x", context: { cluster: "cp", user: "u" } }],
    });
  };

  it.each([
    ["a missing Secret", () => ({ secretRef: { name: "absent", namespace: CP_NS } }), "KubeConfigNotFound", /^kubeconfig Secret cpsync-system\/absent, key value: Secret cpsync-system\/absent not found: create it/],
    ["a missing key", () => ({ secretRef: { name: "admin-kubeconfig", namespace: CP_NS, key: "nope" } }), "KubeConfigNotFound", /^kubeconfig Secret cpsync-system\/admin-kubeconfig, key nope: the Secret has no key nope \(its keys: kubeconfig, kubeconfig-incluster\)/],
    [
      "garbage",
      async () => {
        await kubeconfigSecret("kc-garbage", { value: "{{{ not a kubeconfig" });
        return { secretRef: { name: "kc-garbage", namespace: CP_NS } };
      },
      "KubeConfigInvalid",
      /^kubeconfig Secret cpsync-system\/kc-garbage, key value: it cannot be used: it is not YAML/,
    ],
    [
      "an exec plugin (a Secret must not make the agent run a program)",
      async () => {
        await kubeconfigSecret("kc-exec", { value: badKubeconfig({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "/bin/sh", args: ["-c", `touch ${marker}`], interactiveMode: "Never" } }) });
        return { secretRef: { name: "kc-exec", namespace: CP_NS } };
      },
      "KubeConfigInvalid",
      /^kubeconfig Secret cpsync-system\/kc-exec, key value: it cannot be used: user u runs an exec plugin/,
    ],
    [
      "a token file (the agent's own credentials must not go to the server a Secret names)",
      async () => {
        await kubeconfigSecret("kc-file", { value: badKubeconfig({ tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token" }) });
        return { secretRef: { name: "kc-file", namespace: CP_NS } };
      },
      "KubeConfigInvalid",
      /user u names a file \(tokenFile\)/,
    ],
    [
      "credentials the team's API server does not accept",
      async () => {
        await kubeconfigSecret("kc-badtoken", { value: badKubeconfig({ token: "not-a-token" }) });
        return { secretRef: { name: "kc-badtoken", namespace: CP_NS } };
      },
      "KubeConfigInvalid",
      /^kubeconfig Secret cpsync-system\/kc-badtoken, key value: the API server at https:\/\/127\.0\.0\.1:\d+ did not accept its credentials \(401 Unauthorized\)/,
    ],
    [
      "an API server that does not answer",
      async () => {
        await kubeconfigSecret("kc-down", { value: badKubeconfig({ token: "t" }, "https://127.0.0.1:1") });
        return { secretRef: { name: "kc-down", namespace: CP_NS } };
      },
      "ApplyFailed",
      /^cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\).*\(the API server of kubeconfig Secret cpsync-system\/kc-down, key value\); nothing was pruned/,
    ],
  ])("%s", async (_what, setUp, reason, message) => {
    const sha = await good();
    const before = (await gitSync()).status?.inventory?.entries;
    // The new revision drops b (a prune, were it applied) and adds c.
    push([cm("a"), cm("c")]);
    await setGitSync(await setUp());
    const s = await sync();
    expect(s.code, s.stdout + s.stderr).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.status).toBe("False");
    expect(ready(gs)?.reason).toBe(reason);
    expect(ready(gs)?.message).toMatch(message);
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.inventory?.entries).toEqual(before);
    expect(await remoteConfigMap("c")).toBeNull();
    expect(await remoteConfigMap("b")).not.toBeNull();
    expect(existsSync(marker)).toBe(false);
    expect(await onHost()).toEqual([]);
  });
});

describe("who may name which kubeconfig", () => {
  it("a GitSync in a team's namespace naming a kubeconfig Secret in another namespace is refused (KubeConfigRefused); nothing is applied", async () => {
    await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: OTHER } }));
    push([cm("a"), cm("stolen")]);
    await client(host).createObject(gitSyncObject(OTHER, goodRef));
    const s = await sync(OTHER);
    expect(s.code).toBe(1);
    const gs = await gitSync(OTHER);
    expect(ready(gs)?.reason).toBe("KubeConfigRefused");
    expect(ready(gs)?.message).toMatch(/^spec.kubeConfig.secretRef names Secret cpsync-system\/admin-kubeconfig, outside the GitSync's namespace cpsync-other: only a GitSync in tenantry-system may use a kubeconfig from another namespace/);
    expect(gs.status?.conditions?.find((c) => c.type === "Stalled")?.status).toBe("True");
    expect(await remoteConfigMap("stolen")).toBeNull();
  });

  it("targetNamespace without kubeConfig is refused: on the host a GitSync applies in its own namespace", async () => {
    push([cm("only-remote")]);
    const header = { apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: SYSTEM } };
    const live = await readOrNull(host, header);
    const desired = gitSyncObject(SYSTEM, undefined); // targetNamespace cpsync, no kubeConfig
    if (live === null) await client(host).createObject(desired);
    else await client(host).replaceObject({ ...desired, metadata: { ...desired.metadata, resourceVersion: live.metadata.resourceVersion } });
    expect((await sync()).code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("KubeConfigRefused");
    expect(ready(gs)?.message).toMatch(/^spec.targetNamespace cpsync is set without spec.kubeConfig/);
    for (const ns of [SYSTEM, TEAM]) expect(await readOrNull(host, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "only-remote", namespace: ns } })).toBeNull();
    expect(await remoteConfigMap("only-remote")).toBeNull();
  });

  it("targetNamespace on a GitSync outside tenantry-system is refused, even with a kubeconfig Secret of its own namespace", async () => {
    await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: OTHER } }));
    push([cm("elsewhere-too")]);
    await client(host).createObject(gitSyncObject(OTHER, { secretRef: { name: "kc" } }, { targetNamespace: TEAM }));
    expect((await sync(OTHER)).code).toBe(1);
    const gs = await gitSync(OTHER);
    expect(ready(gs)?.reason).toBe("KubeConfigRefused");
    expect(ready(gs)?.message).toBe("spec.targetNamespace cpsync: only a GitSync in tenantry-system may name the namespace it applies into; a GitSync in cpsync-other applies into cpsync-other: remove targetNamespace. Nothing was applied or pruned.");
    expect(await remoteConfigMap("elsewhere-too")).toBeNull();
  });
});

describe("the agent, a long-running process", () => {
  it("follows a kubeconfig Secret that changes: refused credentials, then the right ones, without a restart or a spec change", async () => {
    const agentRemote = bareRepo("cp-agent");
    const agentRepo = join(tempDir(), "cp-agent");
    mkdirSync(agentRepo, { recursive: true });
    git(agentRepo, "init", "--quiet", "--initial-branch=main");
    push([cm("by-agent")], agentRepo, agentRemote.url);
    const admin = parseAllDocuments(cpKubeconfig)[0]?.toJS() as { clusters: { cluster: object }[] };
    const refused = stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "x",
      clusters: [{ name: "cp", cluster: admin.clusters[0]?.cluster }],
      users: [{ name: "u", user: { token: "not-a-token" } }],
      contexts: [{ name: "x", context: { cluster: "cp", user: "u" } }],
    });
    const secret = (text: string) => apply(host, { apiVersion: "v1", kind: "Secret", metadata: { name: "kc", namespace: AGENT_NS }, type: "Opaque", data: { value: Buffer.from(text).toString("base64") } });
    await secret(refused);
    // The Secret beside the GitSync (its own namespace: allowed for any GitSync).
    await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: AGENT_NS } }));
    const gs = gitSyncObject(AGENT_NS, { secretRef: { name: "kc" } }, { url: agentRemote.url, interval: "2s", timeout: "30s" });
    await client(host).createObject(gs);
    const agent = await startAgent(["--namespace", AGENT_NS, "--kubeconfig", inject("kubeconfig")]);
    try {
      const first = await waitFor("Ready=False KubeConfigInvalid", async () => {
        const r = ready(await gitSync(AGENT_NS));
        return r?.reason === "KubeConfigInvalid" ? r : undefined;
      });
      expect(first.message).toMatch(/^kubeconfig Secret cpsync-agent\/kc, key value: the API server at https:\/\/127\.0\.0\.1:\d+ did not accept its credentials \(401 Unauthorized\)/);
      await secret(cpKubeconfig);
      await waitFor("Ready=True", async () => (ready(await gitSync(AGENT_NS))?.status === "True" ? true : undefined));
      // Without targetNamespace the team's namespace there is the GitSync's own: cpsync-agent.
      const o = await remoteConfigMap("by-agent", AGENT_NS);
      expect(o?.metadata.labels).toMatchObject({ "tenantry.dev/sync-namespace": AGENT_NS, "tenantry.dev/team": AGENT_NS });
      expectNoErrors(agent);
    } finally {
      await agent.stop();
      await ignoring([404], client(host).deleteObject({ apiVersion: GITSYNC, kind: "GitSync", metadata: { name: TEAM, namespace: AGENT_NS } }));
    }
  });
});
