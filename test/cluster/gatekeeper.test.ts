// The Gatekeeper rendition of the team policies, proven on a real API server with Gatekeeper's
// real manager as its validating webhook (scripts/local-cluster.sh --with-gatekeeper, started
// by the global setup). Two admin repos from the real CLI with `--policy-engine gatekeeper`
// (no ValidatingAdmissionPolicy is rendered, so every refusal here is Gatekeeper's) are
// applied as admin; every request is made as the team's ServiceAccount. For every constraint
// a compliant object is admitted and the same object with one field changed is refused by
// the webhook `validation.gatekeeper.sh`, naming the constraint and with the rule's message.
// The two tenancy policies (admin-owned, agent identity) are ValidatingAdmissionPolicies
// whatever the engine, bound to namespaces labelled tenantry.dev/team (docs/policies.md);
// their Gatekeeper renditions are proven in gk-bare, which has no such label. Then the default
// engine, `both`: with either engine's rule for a team removed, the other still refuses (the
// stricter answer wins).
//
//   gk-a  registries ghcr.io/acme/; no node pool
//   gk-b  registry quay.io/bravo/; node pool tenantry.dev/pool=bravo
//   gk-c  a second admin repo with requireAlwaysPull: true
//   gk-bare  no LimitRange and no tenantry.dev/team label; gk-a's required-resources,
//          admin-owned and agent-identity constraints aimed at it; used by a person of group
//          tenantry:team:gk-bare (the team identity the admin-owned rule knows there)
//   gk-d  a third admin repo with the default engine (both)

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { impersonate, type KubeAccess } from "../../src/cluster/access.js";
import type { ApiRefusal } from "../../src/cluster/api-errors.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { KubeObject } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli } from "../helpers/cli.js";
import { adminAccess, apply, applyDir, client, create, expectForbidden, ignoring, outcome, teamAccess } from "../helpers/cluster.js";

const A = "gk-a";
const B = "gk-b";
const C = "gk-c";
const D = "gk-d";
const BARE = "gk-bare";
const POOL = { key: "tenantry.dev/pool", value: "bravo" };
const GIT = ["--git-url", "https://git.example.com/acme/admin.git"];
const IMAGE: Record<string, string> = { [A]: "ghcr.io/acme/app:1.0", [B]: "quay.io/bravo/app:1.0", [C]: "ghcr.io/acme/app:1.0", [D]: "ghcr.io/acme/app:1.0", [BARE]: "ghcr.io/acme/app:1.0" };

let admin: KubeAccess;
const as: Record<string, KubeAccess> = {};
let serial = 0;
let adminRepoA = "";
let adminRepoD = "";

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: object;
}
interface Pod {
  apiVersion: "v1";
  kind: "Pod";
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { securityContext: object; containers: [Container]; nodeName?: string; nodeSelector?: Record<string, string> };
}

function pod(namespace: string, change: (p: Pod, c: Container) => void = () => undefined): Pod {
  const p: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p${++serial}`, namespace },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "app",
          image: IMAGE[namespace] ?? expect.fail(`no image for ${namespace}`),
          ...(namespace === C ? { imagePullPolicy: "Always" } : {}),
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m", memory: "32Mi" } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
  change(p, p.spec.containers[0]);
  return p;
}

function service(namespace: string, type: string, name = `s${++serial}`): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { type, selector: { app: "web" }, ports: [{ port: 80 }] } };
}

function kc(o: { metadata: { namespace?: string } }): KubeAccess {
  return as[o.metadata.namespace ?? ""] ?? expect.fail(`no identity for ${String(o.metadata.namespace)}`);
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What Gatekeeper's webhook says when `constraint` refuses: the webhook, the constraint, the rule's message. */
function byGatekeeper(constraint: string, text: string): RegExp {
  return new RegExp(`admission webhook "validation\\.gatekeeper\\.sh" denied the request: \\[${esc(constraint)}\\] ${esc(text)}`);
}

async function admitted(o: Pod | KubeObject): Promise<void> {
  const r = await outcome(create(kc(o), o));
  expect(r?.message, "refused").toBeUndefined();
}

async function refused(o: Pod | KubeObject, constraint: string, text: string): Promise<ApiRefusal> {
  const r = await expectForbidden(create(kc(o), o));
  expect(r.message).toMatch(byGatekeeper(constraint, text));
  return r;
}

/** A constraint takes effect a moment after it is created: wait (≤ 30 s) until a dry run of `o` is refused by it. */
async function enforced(o: Pod | KubeObject, match: RegExp, who: KubeAccess = kc(o)): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await outcome(client(who).createObject(o as KubeObject, { dryRun: true }));
    if (r !== undefined && match.test(r.message)) return;
    if (Date.now() > deadline) expect.fail(`not refused as ${String(match)} after 30 s; last answer: ${r?.message ?? "admitted"}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

const latest = (ns: string): Pod => pod(ns, (_p, c) => { c.image = c.image.replace(/:[^:/]+$/, ":latest"); });

beforeAll(async () => {
  admin = adminAccess();
  for (const ns of [A, B, C, D]) as[ns] = teamAccess(ns);
  as[BARE] = impersonate(admin, "alice", [`tenantry:team:${BARE}`, "system:authenticated"]);
  const engine = ["--cluster-name", "gk", "--policy-engine", "gatekeeper", ...GIT];
  adminRepoA = await makeAdminRepo([[A, "--registry", "ghcr.io/acme/"], [B, "--registry", "quay.io/bravo/", "--node-pool", `${POOL.key}=${POOL.value}`]], engine);
  const pulling = await makeAdminRepo([], engine);
  const configFile = join(pulling, "tenantry.yaml");
  writeFileSync(configFile, readFileSync(configFile, "utf8").replace("requireAlwaysPull: false", "requireAlwaysPull: true"));
  expect((await runCli(["create-team", C, "--registry", "ghcr.io/acme/"], { cwd: pulling })).code).toBe(0);
  adminRepoD = await makeAdminRepo([[D, "--registry", "ghcr.io/acme/"]], ["--cluster-name", "gk", ...GIT]);
  // Each apply waits until Gatekeeper has made the constraint kinds of the templates.
  await applyDir(admin, adminRepoA);
  await applyDir(admin, pulling);
  await applyDir(admin, adminRepoD);

  // gk-bare: gk-a's constraints aimed at a namespace with no LimitRange and no team label.
  await create(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: BARE } });
  await create(admin, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "tenantry:team-admin", namespace: BARE },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tenantry:team-admin" },
    subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: `tenantry:team:${BARE}` }],
  });
  const built = await buildDir(join(adminRepoA, "cluster", A));
  for (const [kind, suffix] of [["TenantryRequiredResources", "resources"], ["TenantryAdminOwned", "admin-owned"], ["TenantryAgentIdentity", "agent-id"]] as const) {
    const c = built.find((o) => o.kind === kind) ?? expect.fail(`no ${kind}`);
    const spec = (c as unknown as { spec: { match: object } }).spec;
    await apply(admin, { ...c, metadata: { name: `${BARE}-${suffix}`, labels: c.metadata.labels }, spec: { ...spec, match: { ...spec.match, namespaces: [BARE] } } });
  }

  await Promise.all([
    enforced(latest(A), byGatekeeper(`${A}-image-tags`, "tenantry-image-tags:")),
    enforced(latest(B), byGatekeeper(`${B}-image-tags`, "tenantry-image-tags:")),
    enforced(pod(A, (_p, c) => { c.image = "docker.io/library/nginx:1.27"; }), byGatekeeper(`${A}-registries`, "tenantry-allowed-registries:")),
    enforced(service(A, "NodePort"), byGatekeeper(`${A}-service-types`, "tenantry-service-types:")),
    enforced(pod(C, (_p, c) => { c.imagePullPolicy = "IfNotPresent"; }), byGatekeeper(`${C}-pull-policy`, "tenantry-pull-policy:")),
    enforced(pod(B, (p) => { p.spec.nodeName = "node-1"; }), byGatekeeper(`${B}-node-pool`, "tenantry-node-pool:")),
    enforced(pod(BARE, (_p, c) => { delete c.resources; }), byGatekeeper(`${BARE}-resources`, "tenantry-required-resources:")),
    enforced(pod(BARE, (p) => { p.metadata.labels = { "app.kubernetes.io/name": "tenantry-agent" }; }), byGatekeeper(`${BARE}-agent-id`, "tenantry-agent-identity:")),
    enforced(latest(D), /tenantry-image-tags:/),
  ]);
}, 240_000);

describe("with --policy-engine gatekeeper, Gatekeeper's webhook", () => {
  it("renders no ValidatingAdmissionPolicy binding for the team: every refusal below is the webhook's", async () => {
    const objects = await buildDir(join(adminRepoA, "cluster", A));
    expect(objects.filter((o) => o.kind.startsWith("ValidatingAdmissionPolicy"))).toEqual([]);
    expect((await buildDir(join(adminRepoA, "cluster", "common"))).filter((o) => o.kind === "ValidatingAdmissionPolicyBinding").map((o) => o.metadata.name).sort()).toEqual(["tenantry-admin-owned", "tenantry-agent-identity"]);
    expect(objects.filter((o) => o.apiVersion.startsWith("constraints.gatekeeper.sh/")).map((o) => o.kind).sort()).toEqual(
      ["TenantryAdminOwned", "TenantryAgentIdentity", "TenantryAllowedRegistries", "TenantryImageTags", "TenantryRequiredResources", "TenantryServiceTypes"],
    );
  });

  it("judges only the team's namespace: every constraint has scope Namespaced, and the admin updates cluster-scoped objects freely", async () => {
    // Gatekeeper's match.namespaces does not filter cluster-scoped objects: without the scope,
    // TenantryAdminOwned judged every ClusterRole and CRD update, and its CEL failed on the
    // missing request.namespace, refusing them (found by running the real manager).
    const objects = await buildDir(join(adminRepoA, "cluster", A));
    for (const c of objects.filter((o) => o.apiVersion.startsWith("constraints.gatekeeper.sh/"))) expect((c as unknown as { spec: { match: { scope?: string } } }).spec.match.scope, c.metadata.name).toBe("Namespaced");
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "gk-scope-probe", labels: { "tenantry.dev/sync-namespace": "tenantry-system" } }, rules: [] };
    await apply(admin, role);
    await apply(admin, { ...role, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] });
  });

  it("TenantryRequiredResources: admits a pod with requests and limits, refuses one without memory limits (where no LimitRange fills them in)", async () => {
    await admitted(pod(BARE));
    await refused(pod(BARE, (_p, c) => { delete c.resources?.limits?.memory; }), `${BARE}-resources`, "tenantry-required-resources: container <app> sets no memory limits");
  });

  it("TenantryAllowedRegistries: admits the team's registry, refuses another", async () => {
    await admitted(pod(A));
    await refused(pod(A, (_p, c) => { c.image = "docker.io/library/nginx:1.27"; }), `${A}-registries`, "tenantry-allowed-registries: image <docker.io/library/nginx:1.27> of container <app> is not from an allowed registry");
    await refused(pod(B, (_p, c) => { c.image = IMAGE[A] ?? ""; }), `${B}-registries`, "tenantry-allowed-registries: image <ghcr.io/acme/app:1.0>");
  });

  it("TenantryImageTags: admits a pinned tag, refuses latest", async () => {
    await admitted(pod(A, (_p, c) => { c.image = "ghcr.io/acme/app:2.1"; }));
    const p = latest(A);
    await refused(p, `${A}-image-tags`, "tenantry-image-tags: image <ghcr.io/acme/app:latest> of container <app> has no tag or uses latest");
  });

  it("TenantryServiceTypes: admits ClusterIP, refuses NodePort and externalIPs", async () => {
    await admitted(service(A, "ClusterIP"));
    await refused(service(A, "NodePort", "web-np"), `${A}-service-types`, "tenantry-service-types: Service <web-np> has type NodePort; only ClusterIP is allowed");
    const ext = service(A, "ClusterIP", "web-ext") as KubeObject & { spec: { externalIPs?: string[] } };
    ext.spec.externalIPs = ["203.0.113.7"];
    await refused(ext, `${A}-service-types`, "tenantry-service-types: Service <web-ext> sets externalIPs");
  });

  it("TenantryAlwaysPull (requireAlwaysPull: true): admits Always, refuses IfNotPresent", async () => {
    await admitted(pod(C));
    await refused(pod(C, (_p, c) => { c.imagePullPolicy = "IfNotPresent"; }), `${C}-pull-policy`, "tenantry-pull-policy: container <app> must use imagePullPolicy Always");
  });

  it("TenantryNodePool: admits a pod on the pool, refuses one that names its node", async () => {
    await admitted(pod(B, (p) => { p.spec.nodeSelector = { [POOL.key]: POOL.value }; }));
    const p = pod(B, (q) => { q.spec.nodeName = "node-1"; });
    await refused(p, `${B}-node-pool`, `tenantry-node-pool: pod <${p.metadata.name}> sets nodeName`);
  });

  it("TenantryAdminOwned: the team may change its own ConfigMap, not one the admin repo put there", async () => {
    const team = as[BARE] ?? expect.fail();
    const own = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "own", namespace: BARE }, data: { a: "1" } };
    await create(team, own);
    await client(team).mergePatch(own, { data: { a: "2" } });
    const adminOwned = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "admin-settings", namespace: BARE, labels: { "tenantry.dev/sync-namespace": "tenantry-system" } }, data: { a: "1" } };
    await create(admin, adminOwned);
    const r = await expectForbidden(client(team).mergePatch(adminOwned, { data: { a: "2" } }));
    expect(r.message).toMatch(byGatekeeper(`${BARE}-admin-owned`, `tenantry-admin-owned: ConfigMap <admin-settings> in namespace ${BARE} comes from the admin repo: a team may not change it`));
  });

  it("TenantryAdminOwned cannot see deletions: the release's webhook is called on CREATE and UPDATE only (which is why the ValidatingAdmissionPolicy rendition is always rendered)", async () => {
    const adminOwned = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "admin-doomed", namespace: BARE, labels: { "tenantry.dev/sync-namespace": "tenantry-system" } }, data: { a: "1" } };
    await create(admin, adminOwned);
    expect(await outcome(client(as[BARE] ?? expect.fail()).deleteObject(adminOwned, { dryRun: true }))).toBeUndefined();
    // In a team namespace the ValidatingAdmissionPolicy refuses the same deletion.
    const inTeam = { ...adminOwned, metadata: { ...adminOwned.metadata, namespace: A } };
    await create(admin, inTeam);
    const r = await expectForbidden(client(as[A] ?? expect.fail()).deleteObject(inTeam, { dryRun: true }));
    expect(r.message).toContain(`ValidatingAdmissionPolicy 'tenantry-admin-owned' with binding 'tenantry-admin-owned' denied request: tenantry-admin-owned: ConfigMap <admin-doomed> in namespace ${A} comes from the admin repo: a team may not delete it`);
  });

  it("TenantryAgentIdentity: a pod of the team's image wearing the agent's label is refused", async () => {
    const impostor = pod(BARE);
    impostor.metadata.labels = { "app.kubernetes.io/name": "tenantry-agent" };
    await refused(impostor, `${BARE}-agent-id`, `tenantry-agent-identity: Pod <${impostor.metadata.name}> wears app.kubernetes.io/name: tenantry-agent but is not the team agent`);
  });

  it("admits the agent as the admin repo defines it (in its team namespace, where both engines judge it)", async () => {
    const docs = parseAllDocuments(readFileSync(join(adminRepoA, "cluster", A, "sync.yaml"), "utf8")).map((d) => d.toJS() as KubeObject);
    const deployment = docs.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { metadata: object; spec: object } } };
    await admitted({ apiVersion: "v1", kind: "Pod", metadata: { ...deployment.spec.template.metadata, name: "tenantry-agent-gk", namespace: A }, spec: deployment.spec.template.spec });
  });
});

describe("with the default engine (both)", () => {
  const binding = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: `${D}-image-tags` } };
  const constraint = { apiVersion: "constraints.gatekeeper.sh/v1beta1", kind: "TenantryImageTags", metadata: { name: `${D}-image-tags` } };

  it("a violation is refused; without the team's ValidatingAdmissionPolicy binding Gatekeeper still refuses it", async () => {
    await expectForbidden(create(kc(latest(D)), latest(D)));
    const saved = await client(admin).readObject(binding);
    await client(admin).deleteObject(binding);
    try {
      await enforced(latest(D), byGatekeeper(`${D}-image-tags`, "tenantry-image-tags: image <ghcr.io/acme/app:latest>"));
      await refused(latest(D), `${D}-image-tags`, "tenantry-image-tags:");
    } finally {
      await ignoring([409], create(admin, { ...saved, metadata: { name: saved.metadata.name, labels: saved.metadata.labels } }));
    }
  });

  it("without the team's constraint the ValidatingAdmissionPolicy still refuses it", async () => {
    const saved = await client(admin).readObject(constraint);
    await client(admin).deleteObject(constraint);
    try {
      const vap = new RegExp(`ValidatingAdmissionPolicy 'tenantry-image-tags' with binding '${D}-image-tags' denied request: tenantry-image-tags:`);
      await enforced(latest(D), vap);
      const r = await expectForbidden(create(kc(latest(D)), latest(D)));
      expect(r.message).toMatch(vap);
      expect(r.message).not.toContain("validation.gatekeeper.sh");
    } finally {
      await ignoring([409], create(admin, { ...saved, metadata: { name: saved.metadata.name, labels: saved.metadata.labels } }));
    }
  });

  it("the admin repo's own objects are admitted under both engines", async () => {
    await admitted(pod(D));
    await admitted(service(D, "ClusterIP"));
  });
});
