// The tenancy suite, run for each sync engine (see tenancySuite below): the admin repo from
// `tenantry init --engine <engine>` + `create-team` is applied with server-side apply, then every
// request is made as the team (system:serviceaccount:<team>:<team>, by impersonation) and we
// assert what the API server answers. There is no kubelet: pods are admitted and stored, never
// run.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import { makeAdminRepo } from "./admin-repo.js";
import { runCli, tempDir } from "./cli.js";
import { adminAccess, apply, client, create, expectForbidden, ignoring, outcome, readOrNull, teamAccess, waitFor } from "./cluster.js";

const TEAM = "alpha";
const OTHER = "bravo";
const TINY = "charlie";

let admin: KubeAccess;
let team: KubeAccess;
let adminRepo: string;

/** A pod as the API server speaks it (JSON), with the fields these tests touch. */
interface Container {
  name: string;
  image: string;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: { privileged?: boolean; allowPrivilegeEscalation?: boolean; capabilities: { drop?: string[]; add?: string[] } };
  ports?: { containerPort: number; hostPort?: number }[];
}
interface Pod {
  apiVersion: "v1";
  kind: "Pod";
  metadata: { name: string; namespace: string };
  spec: {
    securityContext: { runAsNonRoot: boolean; runAsUser: number; seccompProfile: { type: string } };
    containers: [Container];
    volumes?: { name: string; hostPath: { path: string } }[];
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
  };
}

/** A pod that passes the restricted Pod Security level and fits the quota. */
function compliantPod(name: string, namespace = TEAM): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "app",
          image: "ghcr.io/stefanprodan/podinfo:6.7.1",
          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

function mutated(name: string, change: (p: Pod, c: Container) => void): Pod {
  const p = compliantPod(name);
  change(p, p.spec.containers[0]);
  return p;
}

export type Engine = "tenantry" | "flux";

/** The sync object of a team's overlay: the GitSync (tenantry) or the Flux Kustomization. */
function syncObject(engine: Engine, team: string): { apiVersion: string; kind: string; metadata: { name: string; namespace: string } } {
  return engine === "flux"
    ? { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: team, namespace: team } }
    : { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team } };
}

/**
 * The tenancy suite for an admin repo on `engine`: the same tests, whichever engine syncs. The
 * `cluster` project runs it for tenantry (test/cluster/tenancy.test.ts), the `flux` project for
 * flux (test/flux/tenancy.test.ts); both clusters run Gatekeeper, so the default policy engine
 * (both) applies.
 */
export function tenancySuite(engine: Engine): void {
beforeAll(async () => {
  admin = adminAccess();
  team = teamAccess(TEAM);
  adminRepo = await makeAdminRepo([], ["--cluster-name", "tenancy", "--git-url", "https://git.example.com/acme/admin.git", "--engine", engine]);
  // A tier of our own in tenantry.yaml, to run into the pod count quickly.
  const configFile = join(adminRepo, "tenantry.yaml");
  const doc = parseDocument(readFileSync(configFile, "utf8"));
  const config = doc.toJS() as { spec: { tiers: { small: { quota: Record<string, string> } } } };
  doc.setIn(["spec", "tiers", "tiny"], doc.createNode({ ...config.spec.tiers.small, quota: { ...config.spec.tiers.small.quota, pods: "3" } }));
  writeFileSync(configFile, doc.toString());
  for (const args of [[TEAM], [OTHER], [TINY, "--tier", "tiny"]]) {
    const r = await runCli(["create-team", ...args], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
  }
  // With force: an earlier file of the project may have left cluster/common's objects to another
  // field manager (under flux, kustomize-controller); this suite makes them its own.
  await applyObjects(admin, await buildDir(adminRepo), { force: true });
});

describe("inside its own namespace the team", () => {
  it.each([
    ["Deployment", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: compliantPod("x").spec } } }],
    ["Service", { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80 }] } }],
    ["ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { a: "b" } }],
    ["Secret", { apiVersion: "v1", kind: "Secret", metadata: { name: "token" }, stringData: { t: "x" } }],
    ["Role", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "reader" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }] }],
    ["RoleBinding", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" }, subjects: [{ kind: "ServiceAccount", name: "default", namespace: TEAM }] }],
    ["NetworkPolicy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow-web" }, spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: {} }] }] } }],
  ])("can create a %s", async (_kind, object) => {
    const o = { ...object, metadata: { ...object.metadata, namespace: TEAM } };
    const stored = await create(team, o);
    expect(stored.metadata.uid).toBeTruthy();
  });

  it("cannot grant through a Role what it does not have itself", async () => {
    const r = await expectForbidden(
      create(team, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "quota-editor", namespace: TEAM }, rules: [{ apiGroups: [""], resources: ["resourcequotas"], verbs: ["update"] }] }),
    );
    expect(r.message).toMatch(/attempting to grant RBAC permissions not currently held/);
  });

  it("has its default ServiceAccount, made by the controller-manager", async () => {
    await waitFor("ServiceAccount default", async () => (await readOrNull(admin, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: TEAM } })) ?? undefined);
  });

  it("can apply the example app of its scaffolded repo, and its pod is admitted", async () => {
    const repo = join(tempDir(), "repo");
    expect((await runCli(["create-team", TEAM, "--team-repo-dir", repo], { cwd: adminRepo })).code).toBe(0);
    await applyObjects(team, await buildDir(repo));
    // The ReplicaSet controller creates the pod as the team's quota and Pod Security allow.
    const pods = await waitFor("a podinfo pod", async () => {
      const list = await client(admin).listObjects("v1", "Pod", TEAM, "app.kubernetes.io/name=podinfo");
      return list.items.length > 0 ? (list.items as unknown as Pod[]) : undefined;
    });
    expect(pods[0]?.spec.containers[0].image).toBe("ghcr.io/stefanprodan/podinfo:6.7.1");
  });
});

describe("outside its namespace the team", () => {
  it.each([
    ["create a ConfigMap in another team's namespace", () => create(team, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: OTHER } })],
    ["read Secrets in another team's namespace", () => client(team).listObjects("v1", "Secret", OTHER)],
    ["delete another team's ServiceAccount", () => client(team).deleteObject({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: OTHER, namespace: OTHER } })],
    ["change another team's quota", () => client(team).deleteObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: OTHER } })],
    ["create a Namespace", () => create(team, { apiVersion: "v1", kind: "Namespace", metadata: { name: "sneaky" } })],
    ["create a ClusterRole", () => create(team, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "sneaky" }, rules: [] })],
    ["create a ClusterRoleBinding", () => create(team, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "sneaky" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: TEAM, namespace: TEAM }] })],
    ["create a CustomResourceDefinition", () => create(team, { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "sneaks.example.com" }, spec: { group: "example.com", scope: "Namespaced", names: { kind: "Sneak", plural: "sneaks" }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } }] } })],
    ["create a ValidatingWebhookConfiguration", () => create(team, { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "sneaky" }, webhooks: [] })],
    ["create a MutatingWebhookConfiguration", () => create(team, { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: "sneaky" }, webhooks: [] })],
    ["read Nodes", () => client(team).listObjects("v1", "Node")],
    ["change its own ResourceQuota", () => apply(team, { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM }, spec: { hard: { pods: "1000" } } })],
    ["delete its own LimitRange", () => client(team).deleteObject({ apiVersion: "v1", kind: "LimitRange", metadata: { name: "tenantry-limits", namespace: TEAM } })],
    ["relabel its own Namespace to a weaker Pod Security level", () => apply(team, { apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM, labels: { "pod-security.kubernetes.io/enforce": "privileged" } } })],
    ["point its own sync object at another repo", () => apply(team, { ...syncObject(engine, TEAM), spec: { path: "./other" } })],
    ["delete its own sync object", () => client(team).deleteObject(syncObject(engine, TEAM))],
  ])("cannot %s", async (_what, action) => {
    await expectForbidden(action());
  });
});

describe("Pod Security (restricted) refuses a pod that", () => {
  it("is compliant: the baseline for every case below is admitted", async () => {
    expect((await create(team, compliantPod("compliant"))).metadata.uid).toBeTruthy();
  });

  it.each([
    // privileged: true cannot be combined with allowPrivilegeEscalation: false (a validation error).
    ["is privileged", /privileged/, (_p: Pod, c: Container) => { c.securityContext = { privileged: true, capabilities: { drop: ["ALL"] } }; }],
    ["runs as root", /runAsUser=0/, (p: Pod) => { p.spec.securityContext.runAsUser = 0; }],
    ["does not insist on non-root", /runAsNonRoot/, (p: Pod) => { p.spec.securityContext.runAsNonRoot = false; }],
    ["adds capabilities", /unrestricted capabilities/, (_p: Pod, c: Container) => { c.securityContext.capabilities.add = ["NET_ADMIN"]; }],
    ["allows privilege escalation", /allowPrivilegeEscalation/, (_p: Pod, c: Container) => { c.securityContext.allowPrivilegeEscalation = true; }],
    ["mounts a hostPath", /hostPath/, (p: Pod) => { p.spec.volumes = [{ name: "etc", hostPath: { path: "/etc" } }]; }],
    ["uses the host network", /hostNetwork/, (p: Pod) => { p.spec.hostNetwork = true; }],
    ["uses the host PID namespace", /hostPID/, (p: Pod) => { p.spec.hostPID = true; }],
    ["uses the host IPC namespace", /hostIPC/, (p: Pod) => { p.spec.hostIPC = true; }],
    ["binds a host port", /hostPort/, (_p: Pod, c: Container) => { c.ports = [{ containerPort: 8080, hostPort: 8080 }]; }],
  ] as const)("%s", async (what, message, change) => {
    const r = await expectForbidden(create(team, mutated(`bad-${what.replaceAll(" ", "-").toLowerCase()}`, change)));
    expect(r.message).toMatch(/violates PodSecurity "restricted:v1.34"/);
    expect(r.message).toMatch(message);
  });
});

describe("quota and limits", () => {
  it("give a pod with no resources the LimitRange defaults of its tier", async () => {
    const pod = mutated("no-resources", (_p, c) => { c.resources = {}; });
    const stored = (await create(team, pod)) as unknown as Pod;
    const limits = (await client(admin).readObject({ apiVersion: "v1", kind: "LimitRange", metadata: { name: "tenantry-limits", namespace: TEAM } })) as unknown as { spec: { limits: { default: object; defaultRequest: object }[] } };
    const defaults = limits.spec.limits[0];
    expect(stored.spec.containers[0].resources.requests).toEqual(defaults?.defaultRequest);
    expect(stored.spec.containers[0].resources.limits).toEqual(defaults?.default);
    expect(defaults?.defaultRequest).toEqual({ cpu: "50m", memory: "64Mi", "ephemeral-storage": "64Mi" });
    expect(defaults?.default).toEqual({ cpu: "500m", memory: "256Mi", "ephemeral-storage": "512Mi" });
  });

  it("refuse a pod that asks for more CPU than the tier allows", async () => {
    const r = await expectForbidden(create(team, mutated("greedy", (_p, c) => { c.resources = { requests: { cpu: "3", memory: "64Mi" }, limits: { cpu: "3", memory: "64Mi" } }; })));
    expect(r.message).toMatch(/exceeded quota: tenantry-quota.*requests.cpu/);
  });

  it("refuse pods past the tier's pod count", async () => {
    const tiny = teamAccess(TINY);
    let created = 0;
    let last: Awaited<ReturnType<typeof outcome>>;
    do {
      last = await outcome(create(tiny, compliantPod(`p${created}`, TINY)));
      if (last === undefined) created++;
    } while (last === undefined && created < 5);
    expect(last?.code).toBe(403);
    expect(last?.message).toMatch(/exceeded quota: tenantry-quota, requested: pods=1, used: pods=3, limited: pods=3/);
    expect(created).toBeLessThanOrEqual(3);
  });

  it.each(["NodePort", "LoadBalancer"])("refuse a %s Service", async (type) => {
    const r = await expectForbidden(create(team, { apiVersion: "v1", kind: "Service", metadata: { name: `svc-${type.toLowerCase()}`, namespace: TEAM }, spec: { type, selector: { app: "web" }, ports: [{ port: 80 }] } }));
    // Both engines run before ResourceQuota (the default engine, both: the ValidatingAdmissionPolicy
    // answers first, Gatekeeper's webhook next); the quota's services.nodeports/loadbalancers: 0
    // stays as a third wall.
    expect(r.message).toMatch(new RegExp(`tenantry-service-types: Service <svc-${type.toLowerCase()}> has type ${type}`));
  });
});

describe("removing a team", () => {
  it("lets its namespace finish terminating once the team's objects are deleted", async () => {
    await create(teamAccess(OTHER), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "leftover", namespace: OTHER } });
    const objects = await buildDir(join(adminRepo, "cluster", OTHER));
    const api = client(admin);
    for (const o of objects) await ignoring([404], api.deleteObject(o));
    await waitFor(`namespace ${OTHER} to be gone`, async () => ((await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: OTHER } })) === null ? true : undefined), 90_000);
  });
});
}
