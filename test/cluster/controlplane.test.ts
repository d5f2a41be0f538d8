// A team on its own control plane, end to end on two real API servers (docs/isolation.md):
// the host (this project's cluster) and the team's (a second local control plane standing for
// the API server KubeFlex would run; scripts/kubeflex-standin.mjs does what KubeFlex's operator
// does on the host). `create-team --isolation controlplane` renders the ControlPlane, its
// baseline hook and the admin-level GitSync; the admin sync applies them to the host; the
// team's repo is applied into its own API server as its ServiceAccount there, and nothing of
// it reaches the host; the credentials `tenantry kubeconfig` gives the team work in its API
// server only; `ctx` round-trips; the ControlPlane goes only under a tombstone.

import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { impersonate, type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import { KFLEX_API_VERSION } from "../../src/model/controlplane.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { teamUser } from "../../src/model/names.js";
import type { KubeObject } from "../../src/model/object.js";
import { findBinary } from "../../src/toolchain.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, expectForbidden, outcome, readOrNull } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";
import { installKubeFlexCrds, standInForKubeFlex, startTeamControlPlane, type StandIn, type TeamControlPlane } from "../helpers/kubeflex.js";

const TEAM = "cpteam";
let host: KubeAccess;
let cp: TeamControlPlane;
/** Set once the team's control plane is up, so afterAll stops it even when beforeAll failed later. */
let stopTeamPlane: (() => Promise<void>) | undefined;
let adminRepo: string;
let adminRemote: { path: string; url: string };
let teamRepo: string;
let teamRemote: { path: string; url: string };
let standIn: StandIn;

const hostKubeconfig = (): string => inject("kubeconfig");

function syncOnce(name: string) {
  return runCli(["sync", "--once", "--namespace", "tenantry-system", "--name", name, "--kubeconfig", hostKubeconfig()]);
}

async function teamGitSync(): Promise<GitSync> {
  return (await client(host).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: "tenantry-system" } })) as GitSync;
}

const controlPlaneHeader = { apiVersion: KFLEX_API_VERSION, kind: "ControlPlane", metadata: { name: TEAM } };

/** Whether the object exists and is not being deleted. */
async function live(kc: KubeAccess, apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
  const o = await readOrNull(kc, { apiVersion, kind, metadata: namespace === undefined ? { name } : { name, namespace } });
  return o !== null && (o.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined;
}

/** A kubeconfig with the cluster of `clusterFile` and the user (its token) of `userFile`. */
function withUserOf(userFile: string, clusterFile: string): string {
  const user = parse(readFileSync(userFile, "utf8")) as { users: { user: unknown }[] };
  const cluster = parse(readFileSync(clusterFile, "utf8")) as { clusters: { cluster: unknown }[] };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "host", cluster: cluster.clusters[0]?.cluster }],
    users: [{ name: "team", user: user.users[0]?.user }],
    contexts: [{ name: "team-on-host", context: { cluster: "host", user: "team" } }],
    "current-context": "team-on-host",
  });
}

function addToTeamRepo(file: string, text: string, message: string): string {
  writeFileSync(join(teamRepo, file), text);
  const k = join(teamRepo, "kustomization.yaml");
  const before = readFileSync(k, "utf8");
  if (!before.includes(`  - ${file}\n`)) writeFileSync(k, before.replace("  - app.yaml\n", `  - app.yaml\n  - ${file}\n`));
  return commitAndPush(teamRepo, teamRemote.url, message);
}

beforeAll(async () => {
  host = adminAccess();
  cp = await startTeamControlPlane();
  const started = cp;
  stopTeamPlane = () => started.stop();
  await installKubeFlexCrds(hostKubeconfig());
  adminRemote = bareRepo("admin-cp");
  teamRemote = bareRepo(TEAM);
  adminRepo = join(tempDir(), "admin");
  teamRepo = join(tempDir(), TEAM);
  expect((await runCli(["init", adminRepo, "--cluster-name", "cptest", "--git-url", adminRemote.url])).code).toBe(0);
  const created = await runCli(["create-team", TEAM, "--isolation", "controlplane", "--controlplane-type", "k8s", "--repo-url", teamRemote.url, "--team-repo-dir", teamRepo, "--commit"], { cwd: adminRepo });
  expect(created.code, created.stderr).toBe(0);
  commitAndPush(adminRepo, adminRemote.url);
  commitAndPush(teamRepo, teamRemote.url, "the team's first revision");
  await applyObjects(host, await buildDir(join(adminRepo, "cluster", "common")));
  const s = await syncOnce("admin");
  expect(s.code, s.stdout + s.stderr).toBe(0);
  standIn = await standInForKubeFlex(hostKubeconfig(), TEAM, cp.kubeconfig);
}, 300_000);

afterAll(async () => {
  await stopTeamPlane?.();
});

describe("the admin sync puts a controlplane team on the host", () => {
  it("as a ControlPlane, its baseline hook and an admin-level GitSync, and nothing else of the team", async () => {
    const controlPlane = (await client(host).readObject(controlPlaneHeader)) as KubeObject & { spec: Record<string, unknown> };
    expect(controlPlane.spec).toMatchObject({ type: "k8s", backend: "shared", waitForPostCreateHooks: true, postCreateHooks: [{ hookName: `${TEAM}-baseline` }] });
    expect(await live(host, KFLEX_API_VERSION, "PostCreateHook", `${TEAM}-baseline`)).toBe(true);
    const gs = await teamGitSync();
    expect(gs.spec).toMatchObject({ serviceAccountName: TEAM, targetNamespace: TEAM, kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: `${TEAM}-system`, key: "kubeconfig-incluster" } } });
    // No namespace of the team's own on the host: only KubeFlex's <team>-system.
    expect(await readOrNull(host, { apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } })).toBeNull();
    // KubeFlex applied the hook's templates to the host, into <team>-system, and ran its Job.
    expect(standIn.applied).toEqual(expect.arrayContaining([`ConfigMap/${TEAM}-system/${TEAM}-baseline`, `Job/${TEAM}-system/${TEAM}-baseline`]));
  });

  it("the team has no RoleBinding on the host: its identity there can read nothing of its control plane's Secret", async () => {
    const asTeam = impersonate(host, teamUser(TEAM));
    await expectForbidden(client(asTeam).readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "admin-kubeconfig", namespace: `${TEAM}-system` } }));
    await expectForbidden(client(asTeam).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: "tenantry-system" } }));
  });
});

describe("inside the team's API server", () => {
  it("the baseline from the PostCreateHook is what the team sees: its namespace (restricted), ServiceAccount, role, quota, limits, default deny", async () => {
    const ns = await client(cp.access).readObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } });
    expect(ns.metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
    for (const [v, k, n] of [
      ["v1", "ServiceAccount", TEAM],
      ["v1", "ResourceQuota", "tenantry-quota"],
      ["v1", "LimitRange", "tenantry-limits"],
      ["networking.k8s.io/v1", "NetworkPolicy", "tenantry-default-deny"],
    ] as const) {
      expect(await live(cp.access, v, k, n, TEAM), `${k}/${n}`).toBe(true);
    }
    const asTeam = impersonate(cp.access, teamUser(TEAM));
    expect(await outcome(client(asTeam).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM } }))).toBeUndefined();
    await expectForbidden(client(asTeam).readObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } }));
  });

  it("the team's repo is applied there, in its namespace, as its ServiceAccount there; nothing of it reaches the host", async () => {
    const s = await syncOnce(TEAM);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const deployment = await client(cp.access).readObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: TEAM } });
    const managers = (deployment.metadata as { managedFields?: { manager: string }[] }).managedFields?.map((m) => m.manager) ?? [];
    expect(managers).toContain("tenantry");
    expect(deployment.metadata.labels).toMatchObject({ "tenantry.dev/sync-name": TEAM, "tenantry.dev/sync-namespace": "tenantry-system" });
    // The host has no namespace for it, and no object carries the team's sync labels.
    expect(await readOrNull(host, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: TEAM } })).toBeNull();
    const onHost = await client(host).listObjects("apps/v1", "Deployment", undefined, `tenantry.dev/sync-name=${TEAM}`);
    expect(onHost.items).toEqual([]);
    const gs = await teamGitSync();
    expect(gs.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True" });
  });

  it("a revision reaching outside the team's namespace is refused whole, and the last good revision stays", async () => {
    const sha = addToTeamRepo("grab.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: grab-everything\nrules:\n  - apiGroups: ['*']\n    resources: ['*']\n    verbs: ['*']\n", "grab everything");
    const s = await syncOnce(TEAM);
    expect(s.code).toBe(1);
    const ready = (await teamGitSync()).status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.status).toBe("False");
    expect(ready?.message).toContain(sha.slice(0, 7));
    expect(await readOrNull(cp.access, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "grab-everything" } })).toBeNull();
    expect(await live(cp.access, "apps/v1", "Deployment", "podinfo", TEAM)).toBe(true);
    rmSync(join(teamRepo, "grab.yaml"));
    writeFileSync(join(teamRepo, "kustomization.yaml"), readFileSync(join(teamRepo, "kustomization.yaml"), "utf8").replace("  - grab.yaml\n", ""));
    commitAndPush(teamRepo, teamRemote.url, "take it back");
    expect((await syncOnce(TEAM)).code).toBe(0);
  });

  it("the team's quota there is the API server's to enforce: a pod over it is refused", async () => {
    const asTeam = impersonate(cp.access, teamUser(TEAM));
    const quota = (await client(cp.access).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM } })) as KubeObject & { spec: { hard: Record<string, string> } };
    const cpu = quota.spec.hard["requests.cpu"] ?? quota.spec.hard.cpu;
    expect(cpu).toBeDefined();
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "too-big", namespace: TEAM },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{ name: "app", image: "ghcr.io/stefanprodan/podinfo:6.7.1", resources: { requests: { cpu: "1000", memory: "64Mi" }, limits: { cpu: "1000", memory: "64Mi" } }, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
      },
    };
    const refused = await outcome(client(asTeam).createObject(pod));
    expect(refused?.code).toBe(403);
    expect(refused?.message).toMatch(/exceeded quota|forbidden: maximum/);
  });
});

describe("people's access through the team's control plane", () => {
  it("tenantry kubeconfig gives credentials that work in the team's namespace there, nowhere else there, and not on the host", async () => {
    const file = join(tempDir(), "team.kubeconfig");
    const r = await runCli(["kubeconfig", TEAM, "--kubeconfig", hostKubeconfig(), "--out", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const team = loadAccess(file);
    expect(await outcome(client(team).listObjects("apps/v1", "Deployment", TEAM))).toBeUndefined();
    await expectForbidden(client(team).listObjects("v1", "Secret", "default"));
    await expectForbidden(client(team).listObjects("v1", "Namespace"));
    // The same token presented to the host: another API server, another signing key: 401.
    const onHost = join(tempDir(), "on-host.kubeconfig");
    writeFileSync(onHost, withUserOf(file, hostKubeconfig()), { mode: 0o600 });
    const refused = await outcome(client(loadAccess(onHost)).listObjects("v1", "Pod", TEAM));
    expect(refused?.code).toBe(401);
  });

  it("ctx switches to the team's control plane and ctx - switches back", async () => {
    const file = join(tempDir(), "user.kubeconfig");
    writeFileSync(file, readFileSync(hostKubeconfig()), { mode: 0o600 });
    const before = execFileSync(findBinary("kubectl").file, ["--kubeconfig", file, "config", "current-context"], { encoding: "utf8" }).trim();
    const to = await runCli(["ctx", TEAM, "--kubeconfig", file]);
    expect(to.code, to.stderr).toBe(0);
    const now = execFileSync(findBinary("kubectl").file, ["--kubeconfig", file, "get", "deployments", "-o", "name"], { encoding: "utf8" }).trim();
    expect(now).toBe("deployment.apps/podinfo");
    const back = await runCli(["ctx", "-", "--kubeconfig", file]);
    expect(back.code, back.stderr).toBe(0);
    expect(execFileSync(findBinary("kubectl").file, ["--kubeconfig", file, "config", "current-context"], { encoding: "utf8" }).trim()).toBe(before);
  });

  it("status shows the team's control plane and its sync", async () => {
    const r = await runCli(["status", "--kubeconfig", hostKubeconfig(), "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(TEAM);
  });
});

describe("removing a controlplane team", () => {
  it("a vanished line keeps the ControlPlane; delete-team's tombstone lets the admin sync delete it", async () => {
    const list = join(adminRepo, "cluster", "teams", "kustomization.yaml");
    const original = readFileSync(list, "utf8");
    writeFileSync(list, original.replace(new RegExp(`^.*\\b${TEAM}\\b.*\\n`, "m"), ""));
    commitAndPush(adminRepo, adminRemote.url, "bad merge");
    const r = await syncOnce("admin");
    expect(r.stdout).toMatch(/TeamDeletionNotRequested/);
    expect(await live(host, KFLEX_API_VERSION, "ControlPlane", TEAM)).toBe(true);
    writeFileSync(list, original);
    commitAndPush(adminRepo, adminRemote.url, "undo the bad merge");
    const undone = await syncOnce("admin");
    expect(undone.code, undone.stdout + undone.stderr).toBe(0);

    const d = await runCli(["delete-team", TEAM, "--commit", "--kubeconfig", hostKubeconfig()], { cwd: adminRepo });
    expect(d.code, d.stderr).toBe(0);
    commitAndPush(adminRepo, adminRemote.url, "delete the team");
    const s = await syncOnce("admin");
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(await live(host, KFLEX_API_VERSION, "ControlPlane", TEAM)).toBe(false);
    expect(await live(host, "tenantry.dev/v1alpha1", "GitSync", TEAM, "tenantry-system")).toBe(false);
  });
});
