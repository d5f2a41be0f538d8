// The views and access commands of a controlplane team, through the real CLI, on two real API
// servers: the host (this project's cluster) and the team's own (a second local control plane,
// test/helpers/kubeflex.ts). Set up by hand, as KubeFlex leaves things (docs/isolation.md):
// ControlPlane <team> on the host with a Ready status and status.secretRef, Secret
// <team>-system/admin-kubeconfig holding the team API server's admin kubeconfig, and inside
// that API server namespace <team>, ServiceAccount <team> bound to a least-privilege Role, a
// quota and a few objects; GitSync tenantry-system/<team> on the host. The render, the
// reconciler and the stand-in's hook are test/cluster/controlplane.test.ts's.
//
// A namespace of the same name on the host, labelled as the team's, is a decoy: a view that
// fell back to the host would show it.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { RestClient } from "../../src/cluster/rest.js";
import { CONTROLPLANE_KIND, KFLEX_API_VERSION, KFLEX_INCLUSTER_KEY, KFLEX_KUBECONFIG_KEY, KFLEX_KUBECONFIG_SECRET } from "../../src/model/controlplane.js";
import { TEAM_LABEL } from "../../src/model/labels.js";
import type { KubeObject } from "../../src/model/object.js";
import { findBinary } from "../../src/toolchain.js";
import type { ControlPlaneRow } from "../../src/views/controlplanes.js";
import type { ResourcesView, UsageView } from "../../src/views/gather.js";
import type { StatusRow } from "../../src/views/status.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, applyDir, client, expectForbidden, outcome, waitFor } from "../helpers/cluster.js";
import { installKubeFlexCrds, startTeamControlPlane, type TeamControlPlane } from "../helpers/kubeflex.js";

const TEAM = "cpv-alpha";
const NO_STATUS = "cpv-nostatus";
const NO_SECRET = "cpv-nosecret";
const NS_TEAM = "cpv-plain";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const FIELD_MANAGER = { fieldManager: "tenantry-test", force: true };

let host: KubeAccess;
let cp: TeamControlPlane;
/** Set once the team's API server runs: afterAll stops it even when setup failed later. */
let stopTeamPlane: (() => Promise<void>) | undefined;
let dir: string;

const hostKubeconfig = (): string => inject("kubeconfig");
const cli = (...args: string[]) => runCli([...args, "--kubeconfig", hostKubeconfig()]);
const kubectl = (...args: string[]): string => execFileSync(findBinary("kubectl").file, args, { encoding: "utf8" }).trim();

const now = (offsetMs = 0): string => new Date(Date.now() - offsetMs).toISOString().replace(/\.\d+Z$/, "Z");

function controlPlane(name: string): KubeObject {
  return {
    apiVersion: KFLEX_API_VERSION,
    kind: CONTROLPLANE_KIND,
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "tenantry", [TEAM_LABEL]: name } },
    spec: { type: "k8s", backend: "shared", waitForPostCreateHooks: true, postCreateHooks: [{ hookName: `${name}-baseline`, vars: { team: name } }] },
  };
}

/** The status KubeFlex writes once the control plane is up and its hooks ran. */
async function markReady(name: string): Promise<void> {
  const t = now(60_000);
  await client(host).patchStatus(
    { apiVersion: KFLEX_API_VERSION, kind: CONTROLPLANE_KIND, metadata: { name } },
    {
      observedGeneration: 1,
      conditions: [{ type: "Ready", status: "True", reason: "Available", message: "", lastTransitionTime: t, lastUpdateTime: t }],
      secretRef: { name: KFLEX_KUBECONFIG_SECRET, namespace: `${name}-system`, key: KFLEX_KUBECONFIG_KEY, inClusterKey: KFLEX_INCLUSTER_KEY },
      postCreateHooks: { [`${name}-baseline`]: true },
      postCreateHookCompleted: true,
    },
  );
}

/** Inside the team's API server: what the baseline hook lays (a least-privilege subset) and a few objects of the team. */
async function teamBaseline(): Promise<void> {
  const ns = TEAM;
  await applyObjects(
    cp.access,
    [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { [TEAM_LABEL]: TEAM } } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: TEAM, namespace: ns } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "team-workloads", namespace: ns },
        rules: [
          { apiGroups: [""], resources: ["configmaps", "services", "pods"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: ["apps"], resources: ["deployments", "replicasets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: [""], resources: ["resourcequotas"], verbs: ["get", "list", "watch"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "team-workloads", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "team-workloads" },
        subjects: [{ kind: "ServiceAccount", name: TEAM, namespace: ns }],
      },
      { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "cp-quota", namespace: ns }, spec: { hard: { configmaps: "10", pods: "4", services: "10" } } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "only-in-the-team-plane", namespace: ns }, data: { where: "team" } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: ns }, spec: { ports: [{ port: 80 }], selector: { app: "web" } } },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: ns },
        spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "ghcr.io/stefanprodan/podinfo:6.7.1" }] } } },
      },
    ],
    FIELD_MANAGER,
  );
  await waitFor("the web pod in the team's API server", async () => ((await client(cp.access).listObjects("v1", "Pod", ns, "app=web")).items.length > 0 ? true : undefined));
}

beforeAll(async () => {
  host = adminAccess();
  dir = tempDir();
  cp = await startTeamControlPlane();
  stopTeamPlane = () => cp.stop();
  await installKubeFlexCrds(hostKubeconfig());
  // cluster/common: the GitSync CRD and tenantry-system, as the admin sync applies them.
  await applyDir(host, await makeAdminRepo([], ["--cluster-name", "cpviews", "--git-url", "https://git.example.com/acme/admin.git"]));

  const secret = (name: string): KubeObject => {
    const kc = readFileSync(cp.kubeconfig).toString("base64");
    return { apiVersion: "v1", kind: "Secret", metadata: { name: KFLEX_KUBECONFIG_SECRET, namespace: `${name}-system` }, type: "Opaque", data: { [KFLEX_KUBECONFIG_KEY]: kc, [KFLEX_INCLUSTER_KEY]: kc } };
  };
  await applyObjects(
    host,
    [
      controlPlane(TEAM),
      controlPlane(NO_STATUS),
      controlPlane(NO_SECRET),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: `${TEAM}-system` } },
      secret(TEAM),
      {
        apiVersion: "tenantry.dev/v1alpha1",
        kind: "GitSync",
        metadata: { name: TEAM, namespace: "tenantry-system", labels: { "app.kubernetes.io/managed-by": "tenantry", [TEAM_LABEL]: TEAM } },
        spec: {
          url: `https://git.example.com/acme/${TEAM}.git`,
          ref: { branch: "main" },
          path: "./",
          interval: "1m",
          serviceAccountName: TEAM,
          targetNamespace: TEAM,
          kubeConfig: { secretRef: { name: KFLEX_KUBECONFIG_SECRET, namespace: `${TEAM}-system`, key: KFLEX_INCLUSTER_KEY } },
        },
      },
      // The decoy (see the header) and a namespace team beside the controlplane ones.
      { apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM, labels: { [TEAM_LABEL]: TEAM } } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "host-decoy", namespace: TEAM } },
      { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "host-decoy-quota", namespace: TEAM }, spec: { hard: { configmaps: "99" } } },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: NS_TEAM, labels: { [TEAM_LABEL]: NS_TEAM } } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "on-the-host", namespace: NS_TEAM } },
    ],
    FIELD_MANAGER,
  );
  await markReady(TEAM);
  await markReady(NO_SECRET);
  await client(host).patchStatus({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: "tenantry-system" } }, {
    lastAppliedRevision: `main@sha1:${SHA}`,
    lastAttemptedRevision: `main@sha1:${SHA}`,
    inventory: { entries: [{ id: `${TEAM}_web_apps_Deployment`, v: "apps/v1" }, { id: `${TEAM}_web__Service`, v: "v1" }] },
    conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: "applied 2 objects", lastTransitionTime: now(30_000) }],
  });
  await teamBaseline();
  // The quota controller of the team's API server has counted.
  await waitFor("the team quota's status", async () => {
    const q = (await client(cp.access).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "cp-quota", namespace: TEAM } })) as { status?: { used?: Record<string, string> } };
    return Number(q.status?.used?.pods ?? "0") >= 1 ? true : undefined;
  });
}, 300_000);

afterAll(async () => {
  await stopTeamPlane?.();
  for (const name of [TEAM, NO_STATUS, NO_SECRET]) await client(host).deleteObject({ apiVersion: KFLEX_API_VERSION, kind: CONTROLPLANE_KIND, metadata: { name } }).catch(() => undefined);
  await client(host).deleteObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: "tenantry-system" } }).catch(() => undefined);
});

describe("tenantry status", () => {
  it("lists the ControlPlane with its Ready condition, and the team's GitSync tenantry-system/<team>", async () => {
    const r = await cli("status", "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout) as { gitsyncs: StatusRow[]; controlPlanes: ControlPlaneRow[] };
    expect(data.controlPlanes.find((c) => c.name === TEAM)).toMatchObject({ team: TEAM, type: "k8s", ready: "True", reason: "Available", hooksCompleted: true, secret: `${TEAM}-system/admin-kubeconfig` });
    expect(data.controlPlanes.find((c) => c.name === NO_STATUS)).toMatchObject({ ready: "Unknown", reason: "NotReconciled", hooksCompleted: null });
    expect(data.gitsyncs.find((g) => g.namespace === "tenantry-system" && g.name === TEAM)).toMatchObject({ team: TEAM, ready: "True", revision: "main@0123456", objects: 2 });

    const table = await cli("status");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^CONTROLPLANE +TEAM +TYPE +READY +REASON +AGE +BASELINE +KUBECONFIG$/m);
    expect(table.stdout).toMatch(new RegExp(`^${TEAM} +${TEAM} +k8s +True +Available +\\d+s +applied +${TEAM}-system/admin-kubeconfig$`, "m"));
    expect(table.stdout).toMatch(new RegExp(`^tenantry-system +${TEAM} +${TEAM} +True +ReconciliationSucceeded +main@0123456 `, "m"));
  });

  it("status <team>: only the team's rows, its quota read in its own API server", async () => {
    const r = await cli("status", TEAM, "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout) as { gitsyncs: StatusRow[]; flux: StatusRow[]; controlPlanes: ControlPlaneRow[]; notes?: string[] };
    expect(data.gitsyncs.map((g) => `${g.namespace}/${g.name}`)).toEqual([`tenantry-system/${TEAM}`]);
    expect(data.controlPlanes.map((c) => c.name)).toEqual([TEAM]);
    expect(data.notes).toBeUndefined();
    // cp-quota (the team's API server), never host-decoy-quota: pods is the fullest (1 of 4).
    expect(data.gitsyncs[0]?.quota).toMatchObject({ quota: "cp-quota", resource: "pods", hard: "4" });
  });

  it("status <team> of an unknown team: exit 2, as resources says it", async () => {
    const r = await cli("status", "cpv-no-such-team");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tenantry: error: unknown team cpv-no-such-team: the cluster has no namespace cpv-no-such-team: /);
  });

  it("status <team> of a ControlPlane KubeFlex has not reconciled: shown, with a note, exit 0", async () => {
    const r = await cli("status", NO_STATUS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`No GitSyncs of team ${NO_STATUS} in the cluster.`);
    expect(r.stdout).toMatch(new RegExp(`^${NO_STATUS} +${NO_STATUS} +k8s +Unknown +NotReconciled +- +- +${NO_STATUS}-system/admin-kubeconfig$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`^quota of team ${NO_STATUS} not read: ControlPlane ${NO_STATUS} is not Ready: it has no status yet`, "m"));
  });
});

describe("tenantry resources and usage read the team's namespace in its own API server", () => {
  it("resources: the team plane's objects as trees, none of the host's", async () => {
    const r = await cli("resources", TEAM, "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as ResourcesView;
    expect(view.readFrom).toEqual({ isolation: "controlplane", server: cp.access.cluster.server, namespace: TEAM, controlPlane: TEAM, secret: `${TEAM}-system/admin-kubeconfig` });
    const names = (kind: string): string[] => view.groups.filter((g) => g.kind === kind).flatMap((g) => g.objects.map((o) => o.name));
    expect(names("ConfigMap")).toContain("only-in-the-team-plane");
    expect(names("ConfigMap")).not.toContain("host-decoy");
    expect(names("ResourceQuota")).toEqual(["cp-quota"]);
    const web = view.groups.find((g) => g.kind === "Deployment")?.objects.find((o) => o.name === "web") ?? expect.fail(r.stdout);
    expect(web.children[0]?.kind).toBe("ReplicaSet");
    expect(web.children[0]?.children[0]?.kind).toBe("Pod");
    expect(r.stderr).toContain(`read from namespace ${TEAM} in the API server of ControlPlane ${TEAM} (${cp.access.cluster.server}, kubeconfig from Secret ${TEAM}-system/admin-kubeconfig)`);

    const table = await cli("resources", TEAM);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^Deployment\/web +\d\/1 ready\n└─ ReplicaSet\/web-\S+ +\d\/1 ready\n {3}└─ Pod\/web-\S+ +Pending$/m);
    expect(table.stdout).not.toContain("host-decoy");
  });

  it("usage: the team plane's quota", async () => {
    const r = await cli("usage", TEAM, "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as UsageView;
    expect(view.readFrom.controlPlane).toBe(TEAM);
    expect(view.quotas.map((q) => q.name)).toEqual(["cp-quota"]);
    expect(view.quotas[0]?.resources.find((x) => x.resource === "pods")).toMatchObject({ hard: "4", used: "1", percent: 25 });
    const table = await cli("usage", TEAM);
    expect(table.stdout).toMatch(/^cp-quota +pods +1 +4 +\[##\.{8}\] 25%$/m);
  });

  it("a namespace team still reads the host, with the KubeFlex CRD installed", async () => {
    const r = await cli("resources", NS_TEAM, "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as ResourcesView;
    expect(view.readFrom).toEqual({ isolation: "namespace", server: host.cluster.server, namespace: NS_TEAM });
    expect(view.groups.find((g) => g.kind === "ConfigMap")?.objects.map((o) => o.name)).toContain("on-the-host");
    expect(r.stderr).toBe("");
  });
});

describe("tenantry kubeconfig", () => {
  it("mints a token there: works in the team's namespace, 403 elsewhere in its API server, 401 on the host", async () => {
    const file = join(dir, "team.kubeconfig");
    const r = await cli("kubeconfig", TEAM, "--duration", "1h", "--out", file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Wrote .*team\\.kubeconfig: context tenantry-${TEAM}, namespace ${TEAM} \\(the API server of ControlPlane ${TEAM}, https://127\\.0\\.0\\.1:\\d+\\), token valid until \\d{4}-`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    const written = parse(text) as { clusters: { name: string; cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
    const cpCluster = (parse(readFileSync(cp.kubeconfig, "utf8")) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] });
    expect(written.clusters).toEqual([{ name: `tenantry-${TEAM}`, cluster: { server: cp.access.cluster.server, "certificate-authority-data": cpCluster.clusters[0]?.cluster["certificate-authority-data"] } }]);
    // Never the admin credential of the Secret: only the minted token.
    expect(Object.keys(written.users[0]?.user ?? {})).toEqual(["token"]);
    expect(text).not.toContain(cpCluster.users[0]?.user["client-key-data"] ?? "no key");

    const team = RestClient.forConfig(loadAccess(file));
    expect(await team.whoami()).toBe(`system:serviceaccount:${TEAM}:${TEAM}`);
    expect((await team.listObjects("v1", "ConfigMap", TEAM)).items.map((c) => c.metadata.name)).toContain("only-in-the-team-plane");
    await expectForbidden(team.listObjects("v1", "ConfigMap", "default"));
    await expectForbidden(team.listObjects("v1", "Secret", TEAM));
    await expectForbidden(team.createObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "cpv-grab" } }));

    const token = written.users[0]?.user.token ?? expect.fail("no token");
    const onHost = RestClient.forConfig({ ...host, user: { name: "team", token } });
    const refused = await outcome(onHost.listObjects("v1", "ConfigMap", TEAM));
    expect(refused?.code).toBe(401);
  });
});

describe("tenantry ctx", () => {
  it("switches to the team's API server and back, leaving the user's kubeconfig as it was", async () => {
    const file = join(dir, "user.kubeconfig");
    const original = `# my kubeconfig: this comment stays\n${readFileSync(hostKubeconfig(), "utf8")}`;
    writeFileSync(file, original, { mode: 0o600 });
    const adminContext = loadAccess(file).context;

    const to = await runCli(["ctx", TEAM, "--kubeconfig", file]);
    expect(to.code, to.stderr).toBe(0);
    expect(to.stdout).toContain(`Switched to context "tenantry-${TEAM}" (namespace ${TEAM} in the API server of ControlPlane ${TEAM} (${cp.access.cluster.server})`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(kubectl("--kubeconfig", file, "config", "current-context")).toBe(`tenantry-${TEAM}`);
    const asTeam = loadAccess(file);
    // Its own cluster entry: both API servers' admin kubeconfigs name their cluster tenantry-local.
    expect(asTeam.cluster.name).toBe(`tenantry-${TEAM}`);
    expect(asTeam.cluster.server).toBe(cp.access.cluster.server);
    expect(await RestClient.forConfig(asTeam).whoami()).toBe(`system:serviceaccount:${TEAM}:${TEAM}`);
    expect(kubectl("--kubeconfig", file, "get", "configmaps", "-o", "name")).toContain("configmap/only-in-the-team-plane");
    // The host's entry is untouched.
    expect(loadAccess(file, adminContext).cluster).toEqual(host.cluster);
    // From the team's own context (it may read neither ControlPlanes nor Namespaces), the views
    // read the namespace where that context points: the team's API server.
    const own = await runCli(["resources", TEAM, "--kubeconfig", file, "-o", "json"]);
    expect(own.code, own.stderr).toBe(0);
    const view = JSON.parse(own.stdout) as ResourcesView;
    expect(view.readFrom.server).toBe(cp.access.cluster.server);
    expect(view.groups.find((g) => g.kind === "ConfigMap")?.objects.map((o) => o.name)).toContain("only-in-the-team-plane");

    const back = await runCli(["ctx", "-", "--kubeconfig", file]);
    expect(back.code, back.stderr).toBe(0);
    expect(kubectl("--kubeconfig", file, "config", "current-context")).toBe(adminContext);
    const restored = readFileSync(file, "utf8").split("\n");
    let at = 0;
    for (const line of original.split("\n")) {
      const found = restored.indexOf(line, at);
      expect(found, `line ${JSON.stringify(line)} of the original kubeconfig`).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
    // A second switch from the team's context mints with the admin context it left.
    const again = await runCli(["ctx", TEAM, "--kubeconfig", file]);
    expect(again.code, again.stderr).toBe(0);
    const hop = await runCli(["ctx", TEAM, "--kubeconfig", file]);
    expect(hop.code, hop.stderr).toBe(0);
    expect((await runCli(["ctx", "-", "--kubeconfig", file])).code).toBe(0);
    expect(kubectl("--kubeconfig", file, "config", "current-context")).toBe(adminContext);
  });
});

describe("a control plane that cannot be used: exit 1, one line naming it, nothing written", () => {
  const cases = [
    [NO_STATUS, new RegExp(`^tenantry: error: ControlPlane ${NO_STATUS} is not Ready: it has no status yet \\(KubeFlex has not reconciled it\\): wait for KubeFlex's operator to bring it up \\(kubectl get controlplane ${NO_STATUS} -o yaml shows its status\\)\\n$`)],
    [NO_SECRET, new RegExp(`^tenantry: error: Secret ${NO_SECRET}-system/admin-kubeconfig \\(the kubeconfig of ControlPlane ${NO_SECRET}\\) does not exist: KubeFlex writes it once ControlPlane ${NO_SECRET} is up: .*\\n$`)],
  ] as const;

  it.each(cases)("%s: resources, usage, kubeconfig, ctx", async (team, message) => {
    const out = join(dir, `${team}.kubeconfig`);
    const user = join(dir, `${team}-user.kubeconfig`);
    writeFileSync(user, readFileSync(hostKubeconfig()), { mode: 0o600 });
    const before = readFileSync(user, "utf8");
    for (const args of [["resources", team], ["usage", team], ["kubeconfig", team, "--out", out], ["ctx", team]]) {
      const r = await runCli([...args, "--kubeconfig", args[0] === "ctx" ? user : hostKubeconfig()]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stdout).toBe("");
    }
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(user, "utf8")).toBe(before);
  });
});
