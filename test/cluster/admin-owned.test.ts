// What the admin put in a team namespace is not the team's, proven on the real API server with
// the admin repo applied the way production applies it: pushed to a git remote and reconciled
// by `tenantry sync` as a GitSync in tenantry-system, so every object carries the admin-owned
// marker. One unit per attack, acting as the team:
//   - the team's ServiceAccount and a person of its group cannot change or delete the admin's
//     NetworkPolicies, ServiceAccount, RoleBindings, agent or GitSync (its agent still writes
//     the GitSync's status), and still manage their own Roles, RoleBindings, NetworkPolicies;
//   - a hand edit that widens an admin object is removed by the next reconcile (drift repair);
//   - only the team's agent may wear the agent's label, and nobody execs into it;
//   - no externalIPs, no ExternalName, no hand-written Endpoints or EndpointSlices.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildDir } from "../../src/build/kustomize.js";
import { impersonate, type KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { GitSync } from "../../src/model/gitsync.js";
import type { KubeObject } from "../../src/model/object.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, create, expectForbidden, outcome, readOrNull, teamAccess } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";

const TEAM = "owned";
/** A team with an extra namespace, MULTI-api (issue 20). */
const MULTI = "ownedx";
const SYNC = "owned-admin";
let admin: KubeAccess;
let team: KubeAccess;
let person: KubeAccess;
let adminRepo = "";

const NETPOL = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "tenantry-default-deny", namespace: TEAM } };

async function syncAdmin(): Promise<void> {
  const r = await runCli(["sync", "--namespace", "tenantry-system", "--name", SYNC, "--kubeconfig", inject("kubeconfig")]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

/** A JSON merge patch of `h` as `kc`, under kubectl edit's field manager. */
function mergePatch(kc: KubeAccess, h: KubeObject, patch: unknown): Promise<KubeObject> {
  return client(kc).mergePatch(h, patch, { fieldManager: "kubectl-edit" });
}

function refusedAsAdminOwned(message: string, kind: string, name: string, verb: "change" | "delete"): void {
  expect(message).toContain(`tenantry-admin-owned: ${kind} <${name}> in namespace ${TEAM} comes from the admin repo: a team may not ${verb} it`);
}

beforeAll(async () => {
  admin = adminAccess();
  team = teamAccess(TEAM);
  person = impersonate(admin, "alice", [`tenantry:team:${TEAM}`, "system:authenticated"]);
  const remote = bareRepo("owned-admin");
  adminRepo = join(tempDir(), "admin");
  expect((await runCli(["init", adminRepo, "--cluster-name", "ownedtest"])).code).toBe(0);
  const ct = await runCli(["create-team", TEAM, "--repo-url", "https://git.example.com/acme/owned.git", "--commit"], { cwd: adminRepo });
  expect(ct.code, ct.stderr).toBe(0);
  const multi = await runCli(["create-team", MULTI, "--namespaces", "api", "--repo-url", "https://git.example.com/acme/ownedx.git", "--commit"], { cwd: adminRepo });
  expect(multi.code, multi.stderr).toBe(0);
  commitAndPush(adminRepo, remote.url, "admin");
  // Bootstrap: the CRD and tenantry-system, then an admin GitSync of our own name.
  const common = await buildDir(join(adminRepo, "cluster", "common"));
  await applyObjects(admin, common.filter((o) => o.kind === "CustomResourceDefinition" || o.kind === "Namespace"));
  await apply(admin, { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: SYNC, namespace: "tenantry-system" }, spec: { url: remote.url, ref: { branch: "main" }, path: "./", interval: "1h", prune: false } });
  await syncAdmin();
  const np = await client(admin).readObject(NETPOL);
  expect(np.metadata.labels?.["tenantry.dev/sync-namespace"]).toBe("tenantry-system");
  // Policies take effect a moment after they are created: wait (≤ 15 s) until a dry run of each is refused.
  await enforced("tenantry-admin-owned", () => client(team).deleteObject(NETPOL, { dryRun: true }));
  await enforced("tenantry-service-types", () => client(team).createObject({ apiVersion: "v1", kind: "Service", metadata: { name: "probe", namespace: TEAM }, spec: { type: "ExternalName", externalName: "x.example" } }, { dryRun: true }));
}, 180_000);

async function enforced(policy: string, probe: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await outcome(probe());
    if (r?.message.includes(`${policy}:`) === true) return;
    if (Date.now() > deadline) expect.fail(`${policy} not enforced after 15 s; last answer: ${r?.message ?? "admitted"}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

describe("what the admin put in the team namespace is read-only to the team", () => {
  const WIDEN = { spec: { egress: [{}] } };

  it("the team's ServiceAccount cannot widen or delete the admin's default-deny NetworkPolicy", async () => {
    refusedAsAdminOwned((await expectForbidden(mergePatch(team, NETPOL, WIDEN))).message, "NetworkPolicy", "tenantry-default-deny", "change");
    refusedAsAdminOwned((await expectForbidden(client(team).deleteObject(NETPOL))).message, "NetworkPolicy", "tenantry-default-deny", "delete");
  });

  it("a person of the team's group is refused the same", async () => {
    refusedAsAdminOwned((await expectForbidden(client(person).deleteObject(NETPOL))).message, "NetworkPolicy", "tenantry-default-deny", "delete");
  });

  it("nor change its ServiceAccount, RoleBindings or agent", async () => {
    const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: TEAM, namespace: TEAM } };
    refusedAsAdminOwned((await expectForbidden(mergePatch(team, sa, { automountServiceAccountToken: true }))).message, "ServiceAccount", TEAM, "change");
    const rb = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "tenantry:team-admin", namespace: TEAM } };
    refusedAsAdminOwned((await expectForbidden(client(team).deleteObject(rb))).message, "RoleBinding", "tenantry:team-admin", "delete");
    const agent = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "tenantry-agent", namespace: TEAM } };
    refusedAsAdminOwned((await expectForbidden(mergePatch(team, agent, { spec: { replicas: 0 } }))).message, "Deployment", "tenantry-agent", "change");
    refusedAsAdminOwned((await expectForbidden(client(team).deleteObject(agent))).message, "Deployment", "tenantry-agent", "delete");
  });

  it("nor its GitSync's spec, while its agent still writes the GitSync's status", async () => {
    const gs = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: TEAM } };
    await expectForbidden(mergePatch(team, gs, { spec: { url: "https://evil.example/repo.git" } }));
    const status = await client(team).patchStatus(gs, { lastAttemptedRevision: "main@sha1:0000000000000000000000000000000000000000" });
    expect((status as GitSync).status?.lastAttemptedRevision).toBe("main@sha1:0000000000000000000000000000000000000000");
  });

  it("the team still manages its own Roles, RoleBindings and NetworkPolicies", async () => {
    const np = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow-web", namespace: TEAM }, spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: {} }] }] } };
    await create(team, np);
    await mergePatch(team, np, { spec: { ingress: [] } });
    await client(team).deleteObject(np);
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "reader", namespace: TEAM }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] };
    await create(team, role);
    await client(team).deleteObject(role);
  });

  it("a hand edit that widens an admin object is removed by the next reconcile (drift repair wins)", async () => {
    const edited = await mergePatch(admin, NETPOL, WIDEN);
    expect(edited.spec).toMatchObject({ egress: [{}] });
    await syncAdmin();
    const repaired = await client(admin).readObject(NETPOL);
    expect((repaired.spec as { egress?: unknown }).egress).toBeUndefined();
    const managers = ((repaired.metadata.managedFields ?? []) as { manager: string }[]).map((m) => m.manager);
    expect(managers).not.toContain("kubectl-edit");
  });
});

describe("in a team's extra namespace, what the admin put there is read-only to the team too", () => {
  // cluster/common's tenantry-admin-owned knows the team by the request's namespace; in MULTI-api
  // the team's identities are those of its home namespace MULTI, so the overlay's own
  // MULTI-admin-owned policy is what refuses them there.
  const EXTRA = `${MULTI}-api`;
  const np = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "tenantry-default-deny", namespace: EXTRA } };
  const rb = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "tenantry:team-admin", namespace: EXTRA } };
  const multiTeam = (): KubeAccess => teamAccess(MULTI);
  const multiPerson = (): KubeAccess => impersonate(admin, "bob", [`tenantry:team:${MULTI}`, "system:authenticated"]);
  const refused = (message: string, kind: string, name: string, verb: "change" | "delete"): void => {
    expect(message).toContain(`tenantry-admin-owned: ${kind} <${name}> in namespace ${EXTRA} comes from the admin repo: a team may not ${verb} it`);
  };

  beforeAll(async () => {
    expect((await client(admin).readObject(np)).metadata.labels?.["tenantry.dev/sync-namespace"]).toBe("tenantry-system");
    await enforced("tenantry-admin-owned", () => client(multiTeam()).deleteObject(np, { dryRun: true }));
  }, 30_000);

  it("the team's ServiceAccount cannot widen or delete the admin's NetworkPolicy or RoleBinding there", async () => {
    refused((await expectForbidden(mergePatch(multiTeam(), np, { spec: { egress: [{}] } }))).message, "NetworkPolicy", "tenantry-default-deny", "change");
    refused((await expectForbidden(client(multiTeam()).deleteObject(np))).message, "NetworkPolicy", "tenantry-default-deny", "delete");
    refused((await expectForbidden(client(multiTeam()).deleteObject(rb))).message, "RoleBinding", "tenantry:team-admin", "delete");
  });

  it("a person of the team's group is refused the same", async () => {
    refused((await expectForbidden(client(multiPerson()).deleteObject(np))).message, "NetworkPolicy", "tenantry-default-deny", "delete");
  });

  it("a ServiceAccount of one of its namespaces, bound by the team in another, is refused the same (home included)", async () => {
    // The team may bind its role to any subject in its namespaces: a ServiceAccount of MULTI-api
    // bound in MULTI acts there under group system:serviceaccounts:MULTI-api, which cluster/common's
    // rule (by the request's namespace) does not know as the team's; the overlay's rule does.
    const binding = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "sibling", namespace: MULTI }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tenantry:team-admin" }, subjects: [{ kind: "ServiceAccount", name: "x", namespace: EXTRA }] };
    await create(multiPerson(), binding);
    try {
      const sibling = impersonate(admin, `system:serviceaccount:${EXTRA}:x`);
      const homeNp = { ...np, metadata: { ...np.metadata, namespace: MULTI } };
      // The new RoleBinding reaches the API server's RBAC cache a moment later: until then RBAC
      // itself refuses the ServiceAccount, before admission. Wait (dry runs) until admission answers.
      await enforced("tenantry-admin-owned", () => client(sibling).deleteObject(homeNp, { dryRun: true }));
      const r = await expectForbidden(client(sibling).deleteObject(homeNp));
      expect(r.message).toContain(`tenantry-admin-owned: NetworkPolicy <tenantry-default-deny> in namespace ${MULTI} comes from the admin repo: a team may not delete it`);
      expect(await client(admin).readObject(homeNp)).toBeTruthy();
    } finally {
      await client(admin).deleteObject(binding);
    }
  });

  it("the team still manages its own NetworkPolicies there", async () => {
    const own = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow-web", namespace: EXTRA }, spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: {} }] }] } };
    await create(multiTeam(), own);
    await mergePatch(multiTeam(), own, { spec: { ingress: [] } });
    await client(multiTeam()).deleteObject(own);
    expect(await readOrNull(admin, own)).toBeNull();
  });
});

describe("only the team's agent wears the agent's label", () => {
  let agentPod: KubeObject;

  beforeAll(() => {
    // The pod the admin repo's agent Deployment makes, as the ReplicaSet controller would.
    const docs = parseAllDocuments(readFileSync(join(adminRepo, "cluster", TEAM, "sync.yaml"), "utf8")).map((d) => d.toJS() as KubeObject);
    const deployment = docs.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { metadata: object; spec: object } } };
    agentPod = { apiVersion: "v1", kind: "Pod", metadata: { ...deployment.spec.template.metadata, name: "tenantry-agent-test", namespace: TEAM }, spec: deployment.spec.template.spec };
  });

  it("the agent as the admin repo defines it is admitted", async () => {
    expect((await create(team, agentPod)).metadata.name).toBe("tenantry-agent-test");
  });

  it("a pod of the team's own image wearing the label is refused", async () => {
    const impostor = structuredClone(agentPod) as KubeObject & { spec: { containers: { image: string; command?: string[] }[] } };
    impostor.metadata.name = "impostor";
    impostor.spec.containers[0] = { ...impostor.spec.containers[0], image: "ghcr.io/stefanprodan/podinfo:6.7.1" };
    const r = await expectForbidden(create(team, impostor));
    expect(r.message).toContain("tenantry-agent-identity: Pod <impostor> wears app.kubernetes.io/name: tenantry-agent but is not the team agent");
  });

  it("the agent's image with a command of its own is refused", async () => {
    const impostor = structuredClone(agentPod) as KubeObject & { spec: { containers: { command?: string[] }[] } };
    impostor.metadata.name = "impostor-cmd";
    (impostor.spec.containers[0] as { command?: string[] }).command = ["sh", "-c", "wget https://example.com"];
    expect((await expectForbidden(create(team, impostor))).message).toContain("tenantry-agent-identity: Pod <impostor-cmd>");
  });

  it("nobody execs, attaches or port-forwards into the agent, nor adds a debug container", async () => {
    for (const sub of ["exec", "attach", "portforward"]) {
      const r = await outcome(client(team).request({ method: "POST", path: `/api/v1/namespaces/${TEAM}/pods/tenantry-agent-test/${sub}`, query: { command: "sh", stdout: "true" } }));
      expect(r?.code, sub).toBe(403);
      expect(r?.message).toContain(`tenantry-agent-identity: no ${sub} into the team agent <tenantry-agent-test>`);
    }
    const stored = await client(admin).readObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "tenantry-agent-test", namespace: TEAM } });
    const withDebug = { ...stored, spec: { ...(stored.spec as object), ephemeralContainers: [{ name: "debug", image: "ghcr.io/acme/debug:1.0.0", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }] } };
    const r = await outcome(client(admin).request({ method: "PUT", path: `/api/v1/namespaces/${TEAM}/pods/tenantry-agent-test/ephemeralcontainers`, body: withDebug }));
    expect(r?.code).toBe(403);
    expect(r?.message).toContain("tenantry-agent-identity: no debug containers in the team agent <tenantry-agent-test>");
  });
});

describe("Service and endpoint tricks", () => {
  const service = (name: string, spec: object) => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: TEAM }, spec: { ports: [{ port: 80 }], ...spec } });

  it("a Service with externalIPs is refused (CVE-2020-8554)", async () => {
    const r = await expectForbidden(create(team, service("steal", { selector: { app: "x" }, externalIPs: ["203.0.113.7"] })));
    expect(r.message).toContain("tenantry-service-types: Service <steal> sets externalIPs");
  });

  it("an ExternalName Service is refused unless tenantry.yaml allows it", async () => {
    const r = await expectForbidden(create(team, service("alias", { type: "ExternalName", externalName: "kubernetes.default.svc.cluster.local" })));
    expect(r.message).toContain("tenantry-service-types: Service <alias> has type ExternalName; only ClusterIP is allowed");
  });

  it("the team cannot write Endpoints or EndpointSlices (CVE-2021-25740 class)", async () => {
    await expectForbidden(create(team, { apiVersion: "v1", kind: "Endpoints", metadata: { name: "hijack", namespace: TEAM }, subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 443 }] }] }));
    await expectForbidden(
      create(team, { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "hijack", namespace: TEAM, labels: { "kubernetes.io/service-name": "web" } }, addressType: "IPv4", endpoints: [{ addresses: ["10.0.0.1"] }] }),
    );
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "Endpoints", metadata: { name: "hijack", namespace: TEAM } })).toBeNull();
  });
});
