// The ValidatingAdmissionPolicy rendition of the team policies (`--policy-engine vap`),
// proven on a real API server: two admin repos from the real CLI are applied as admin, then
// every request is made as a team's ServiceAccount. For every rule a compliant object is
// admitted and the same object with one field changed is refused, naming the rule and the
// team's binding. See docs/policies.md.
//
//   pol-a  registries ghcr.io/acme/ and registry.acme.io:5000/; no node pool
//   pol-b  registry quay.io/bravo/; node pool tenantry.dev/pool=bravo
//   pol-c  a second admin repo with requireAlwaysPull: true; default registries
//   pol-b-bare  a namespace made here with pol-b's bindings but no LimitRange and no
//          PodNodeSelector annotation: the two rules those mutate away are proven there.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { KubeAccess } from "../../src/cluster/access.js";
import type { ApiRefusal } from "../../src/cluster/api-errors.js";
import { buildDir } from "../../src/build/kustomize.js";
import { type KubeObject } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli } from "../helpers/cli.js";
import { adminAccess, apply, applyDir, create, expectForbidden, client, outcome, refusal, teamAccess } from "../helpers/cluster.js";

const A = "pol-a";
const B = "pol-b";
const C = "pol-c";
const BARE = "pol-b-bare";
const POOL = { key: "tenantry.dev/pool", value: "bravo" };
const INIT = ["--cluster-name", "policies", "--policy-engine", "vap", "--git-url", "https://git.example.com/acme/admin.git"];

/** The binding suffix of each rule (cluster/<team>/admission-policies.yaml). */
const BINDING = {
  "tenantry-required-resources": "resources",
  "tenantry-allowed-registries": "registries",
  "tenantry-image-tags": "image-tags",
  "tenantry-service-types": "service-types",
  "tenantry-pull-policy": "pull-policy",
  "tenantry-node-pool": "node-pool",
} as const;
type Rule = keyof typeof BINDING;

let admin: KubeAccess;
/** The identity each namespace is used with: the team's ServiceAccount. */
const as: Record<string, KubeAccess> = {};

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
  metadata: { name: string; namespace: string };
  spec: {
    securityContext: object;
    containers: [Container];
    initContainers?: Container[];
    ephemeralContainers?: (Omit<Container, "resources"> & { targetContainerName?: string })[];
    nodeSelector?: Record<string, string>;
    nodeName?: string;
  };
}

const RESTRICTED = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/** An image each namespace may pull (its registries, pinned). */
const GOOD_IMAGE: Record<string, string> = { [A]: "ghcr.io/acme/app:1.0", [B]: "quay.io/bravo/app:1.0", [BARE]: "quay.io/bravo/app:1.0", [C]: "ghcr.io/acme/app:1.0" };

let serial = 0;

/** A pod that every rule bound in `namespace` admits (and Pod Security restricted too). */
function compliantPod(namespace: string, change: (p: Pod, c: Container) => void = () => undefined): Pod {
  const p: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p${++serial}`, namespace },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "app",
          image: GOOD_IMAGE[namespace] ?? expect.fail(`no image for ${namespace}`),
          ...(namespace === C ? { imagePullPolicy: "Always" } : {}),
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m", memory: "32Mi" } },
          securityContext: RESTRICTED,
        },
      ],
      ...(namespace === BARE ? { nodeSelector: { [POOL.key]: POOL.value } } : {}),
    },
  };
  change(p, p.spec.containers[0]);
  return p;
}

function initContainer(c: Container, changes: Partial<Container>): Container {
  return { ...structuredClone(c), name: "init", ...changes };
}

function service(namespace: string, type: string, name = `s${++serial}`): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { type, selector: { app: "web" }, ports: [{ port: 80 }] } };
}

function kc(o: { metadata: { namespace?: string } }): KubeAccess {
  return as[o.metadata.namespace ?? ""] ?? expect.fail(`no identity for namespace ${String(o.metadata.namespace)}`);
}

/** The message a rule's refusal carries: the policy, the namespace's binding, the rule's text. */
function ruleMessage(rule: Rule, namespace: string, text = ""): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`ValidatingAdmissionPolicy '${rule}' with binding '${namespace}-${BINDING[rule]}' denied request: ${rule}: ${esc(text)}`);
}

/** Created as the namespace's team; fails the test if refused. */
async function admitted(o: Pod | KubeObject): Promise<KubeObject> {
  const r = await outcome(create(kc(o), o));
  expect(r?.message, "refused").toBeUndefined();
  return client(admin).readObject(o);
}

async function refusedBy(rule: Rule, o: Pod | KubeObject, text = ""): Promise<ApiRefusal> {
  const r = await expectForbidden(create(kc(o), o));
  expect(r.message).toMatch(ruleMessage(rule, o.metadata.namespace ?? "", text));
  return r;
}

/** Bindings take effect a moment after they are created: wait (≤ 10 s) until `o` is refused by `rule`. */
async function enforced(rule: Rule, o: Pod | KubeObject): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last: ApiRefusal | undefined;
  for (;;) {
    last = await outcome(client(kc(o)).createObject(o as KubeObject, { dryRun: true }));
    if (last !== undefined && ruleMessage(rule, o.metadata.namespace ?? "").test(last.message)) return;
    if (Date.now() > deadline) expect.fail(`${rule} not enforced in ${String(o.metadata.namespace)} after 10 s; last answer: ${last?.message ?? "admitted"}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Adds an ephemeral container with `image` to a stored pod, as `kc`: a PUT of the pod's ephemeralcontainers subresource (what `kubectl debug` does). */
async function addEphemeral(kc: KubeAccess, pod: Pod, image: string): Promise<KubeObject> {
  const stored = (await client(kc).readObject(pod)) as unknown as Pod;
  stored.spec.ephemeralContainers = [...(stored.spec.ephemeralContainers ?? []), { name: `debug${++serial}`, image, targetContainerName: "app", securityContext: RESTRICTED }];
  const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/ephemeralcontainers`;
  return client(kc).request({ method: "PUT", path, body: stored });
}

beforeAll(async () => {
  admin = adminAccess();
  for (const ns of [A, B, C]) as[ns] = teamAccess(ns);
  as[BARE] = teamAccess(B);

  const repo = await makeAdminRepo(
    [
      [A, "--registry", "ghcr.io/acme/", "--registry", "registry.acme.io:5000/"],
      [B, "--registry", "quay.io/bravo/", "--node-pool", `${POOL.key}=${POOL.value}`],
    ],
    INIT,
  );
  // requireAlwaysPull is cluster-wide: a second admin repo has it on for team pol-c only.
  const pulling = await makeAdminRepo([], INIT);
  const configFile = join(pulling, "tenantry.yaml");
  writeFileSync(configFile, readFileSync(configFile, "utf8").replace("requireAlwaysPull: false", "requireAlwaysPull: true"));
  const r = await runCli(["create-team", C, "--registry", "ghcr.io/acme/"], { cwd: pulling });
  expect(r.code, r.stderr).toBe(0);
  await applyDir(admin, repo);
  await applyDir(admin, pulling);

  // pol-b-bare: pol-b's own generated bindings, aimed at a namespace with no LimitRange and
  // no PodNodeSelector annotation; the team gets its usual role there.
  await create(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: BARE, labels: { "tenantry.dev/team": B } } });
  await create(admin, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "tenantry:team-admin", namespace: BARE },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tenantry:team-admin" },
    subjects: [{ kind: "ServiceAccount", name: B, namespace: B }],
  });
  const bindings = (await buildDir(join(repo, "cluster", B))).filter((o) => o.kind === "ValidatingAdmissionPolicyBinding");
  expect(bindings.length).toBe(5);
  for (const b of bindings) {
    const spec = (b as unknown as { spec: object }).spec;
    await apply(admin, {
      ...b,
      metadata: { name: b.metadata.name.replace(B, BARE), labels: b.metadata.labels },
      spec: { ...spec, matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": BARE } } } },
    });
  }
  // A platform that grants `kubectl debug` to pol-a: ephemeral containers are policed too.
  await create(admin, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "debug", namespace: A }, rules: [{ apiGroups: [""], resources: ["pods/ephemeralcontainers"], verbs: ["get", "update", "patch"] }] });
  await create(admin, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "debug", namespace: A }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "debug" }, subjects: [{ kind: "ServiceAccount", name: A, namespace: A }] });

  const latest = (ns: string): Pod => compliantPod(ns, (_p, c) => { c.image = c.image.replace(/:[^:/]+$/, ":latest"); });
  const foreign = (ns: string): Pod => compliantPod(ns, (_p, c) => { c.image = "docker.io/library/nginx:1.27"; });
  await Promise.all([
    ...[A, B, C, BARE].map((ns) => enforced("tenantry-image-tags", latest(ns))),
    ...[A, B, C, BARE].map((ns) => enforced("tenantry-allowed-registries", foreign(ns))),
    ...[A, B, C].map((ns) => enforced("tenantry-service-types", service(ns, "NodePort"))),
    enforced("tenantry-required-resources", compliantPod(BARE, (_p, c) => { delete c.resources; })),
    enforced("tenantry-pull-policy", compliantPod(C, (_p, c) => { c.imagePullPolicy = "IfNotPresent"; })),
    enforced("tenantry-node-pool", compliantPod(B, (p) => { p.spec.nodeName = "node-1"; })),
    enforced("tenantry-node-pool", compliantPod(BARE, (p) => { delete p.spec.nodeSelector; })),
  ]);
});

describe("tenantry-required-resources", () => {
  it("is never reached in a team namespace: the LimitRange fills in a missing limit before validation", async () => {
    const stored = (await admitted(compliantPod(A, (_p, c) => { c.resources = { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m" } }; }))) as unknown as Pod;
    expect(stored.spec.containers[0].resources?.limits).toMatchObject({ cpu: "20m", memory: "256Mi" });
  });

  it("admits, where no LimitRange helps, a pod whose containers set cpu and memory requests and limits", async () => {
    await admitted(compliantPod(BARE, (p, c) => { p.spec.initContainers = [initContainer(c, {})]; }));
  });

  it("cannot miss a request where the limit is set: the API server defaults the request to the limit", async () => {
    const stored = (await admitted(compliantPod(BARE, (_p, c) => { c.resources = { limits: { cpu: "20m", memory: "32Mi" } }; }))) as unknown as Pod;
    expect(stored.spec.containers[0].resources?.requests).toEqual({ cpu: "20m", memory: "32Mi" });
  });

  it.each([
    ["cpu limits", (c: Container) => { delete c.resources?.limits?.cpu; }],
    ["memory limits", (c: Container) => { delete c.resources?.limits?.memory; }],
    ["cpu requests, cpu limits", (c: Container) => { delete c.resources?.requests?.cpu; delete c.resources?.limits?.cpu; }],
    ["memory requests, memory limits", (c: Container) => { delete c.resources?.requests?.memory; delete c.resources?.limits?.memory; }],
    ["cpu requests, memory requests, cpu limits, memory limits", (c: Container) => { delete c.resources; }],
  ])("refuses, where no LimitRange helps, a container that sets no %s", async (what, change) => {
    await refusedBy("tenantry-required-resources", compliantPod(BARE, (_p, c) => { change(c); }), `container <app> sets no ${what}`);
  });

  it("refuses an init container that sets no memory limits", async () => {
    await refusedBy("tenantry-required-resources", compliantPod(BARE, (p, c) => { p.spec.initContainers = [initContainer(c, { resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m" } } })]; }), "container <init> sets no memory limits");
  });
});

describe("tenantry-allowed-registries", () => {
  it.each(["ghcr.io/acme/app:1.0", "registry.acme.io:5000/app:1.0", "ghcr.io/tenantry-dev/tenantry:v0.1.0"])("admits %s in pol-a (its registries and the agent image)", async (image) => {
    await admitted(compliantPod(A, (_p, c) => { c.image = image; }));
  });

  it.each(["docker.io/library/nginx:1.27", "ghcr.io/other/app:1.0", "ghcr.io/acmeevil/app:1.0", "ghcr.io/tenantry-dev/tenantry-evil:v0.1.0"])("refuses %s in pol-a", async (image) => {
    await refusedBy("tenantry-allowed-registries", compliantPod(A, (_p, c) => { c.image = image; }), `image <${image}> of container <app> is not from an allowed registry`);
  });

  it("refuses an init container from another registry", async () => {
    await refusedBy("tenantry-allowed-registries", compliantPod(A, (p, c) => { p.spec.initContainers = [initContainer(c, { image: "docker.io/library/busybox:1.36" })]; }), "image <docker.io/library/busybox:1.36> of container <init>");
  });

  it("keeps each team to its own list: pol-b's registry is refused in pol-a and pol-a's in pol-b", async () => {
    await admitted(compliantPod(B));
    await refusedBy("tenantry-allowed-registries", compliantPod(A, (_p, c) => { c.image = GOOD_IMAGE[B] ?? ""; }), "image <quay.io/bravo/app:1.0>");
    await refusedBy("tenantry-allowed-registries", compliantPod(B, (_p, c) => { c.image = GOOD_IMAGE[A] ?? ""; }), "image <ghcr.io/acme/app:1.0>");
  });

  it("polices ephemeral containers (kubectl debug) too", async () => {
    const pod = compliantPod(A);
    await admitted(pod);
    await addEphemeral(teamAccess(A), pod, "ghcr.io/acme/debug:1.0");
    const r = await expectForbidden(addEphemeral(teamAccess(A), pod, "docker.io/library/busybox:1.36"));
    expect(r.message).toMatch(ruleMessage("tenantry-allowed-registries", A, "image <docker.io/library/busybox:1.36> of container <debug"));
  });
});

describe("tenantry-image-tags", () => {
  it.each([
    "ghcr.io/acme/app:1.0",
    "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "ghcr.io/acme/app:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "registry.acme.io:5000/app:2.1",
  ])("admits %s", async (image) => {
    await admitted(compliantPod(A, (_p, c) => { c.image = image; }));
  });

  it.each(["ghcr.io/acme/app:latest", "ghcr.io/acme/app", "registry.acme.io:5000/app"])("refuses %s (untagged or latest; a registry port is not a tag)", async (image) => {
    await refusedBy("tenantry-image-tags", compliantPod(A, (_p, c) => { c.image = image; }), `image <${image}> of container <app> has no tag or uses latest`);
  });

  it("refuses an init container on latest", async () => {
    await refusedBy("tenantry-image-tags", compliantPod(A, (p, c) => { p.spec.initContainers = [initContainer(c, { image: "ghcr.io/acme/init:latest" })]; }), "image <ghcr.io/acme/init:latest> of container <init>");
  });

  it("refuses an ephemeral container on latest", async () => {
    const pod = compliantPod(A);
    await admitted(pod);
    const r = await expectForbidden(addEphemeral(teamAccess(A), pod, "ghcr.io/acme/debug:latest"));
    expect(r.message).toMatch(ruleMessage("tenantry-image-tags", A, "image <ghcr.io/acme/debug:latest> of container <debug"));
  });
});

describe("tenantry-service-types", () => {
  it("admits a ClusterIP Service", async () => {
    await admitted(service(A, "ClusterIP"));
  });

  it.each(["NodePort", "LoadBalancer"])("refuses a %s Service (before the quota's services.nodeports/loadbalancers: 0 is reached)", async (type) => {
    await refusedBy("tenantry-service-types", service(A, type, "web-out"), `Service <web-out> has type ${type}; only ClusterIP is allowed`);
  });

  it("refuses turning a ClusterIP Service into a NodePort one", async () => {
    await admitted(service(A, "ClusterIP", "web-update"));
    const r = await expectForbidden(apply(teamAccess(A), service(A, "NodePort", "web-update")));
    expect(r.message).toMatch(ruleMessage("tenantry-service-types", A, "Service <web-update> has type NodePort"));
  });
});

describe("tenantry-pull-policy (requireAlwaysPull: true for pol-c)", () => {
  it("admits containers that pull Always", async () => {
    await admitted(compliantPod(C, (p, c) => { p.spec.initContainers = [initContainer(c, {})]; }));
  });

  it.each([
    ["uses IfNotPresent", (c: Container) => { c.imagePullPolicy = "IfNotPresent"; }],
    ["leaves it unset (the API server defaults a pinned tag to IfNotPresent)", (c: Container) => { delete c.imagePullPolicy; }],
  ])("refuses a container that %s", async (_what, change) => {
    await refusedBy("tenantry-pull-policy", compliantPod(C, (_p, c) => { change(c); }), "container <app> must use imagePullPolicy Always");
  });

  it("refuses an init container that does not pull Always", async () => {
    await refusedBy("tenantry-pull-policy", compliantPod(C, (p, c) => { p.spec.initContainers = [initContainer(c, { imagePullPolicy: "Never" })]; }), "container <init> must use imagePullPolicy Always");
  });

  it("is not bound where requireAlwaysPull was off: pol-a may use IfNotPresent", async () => {
    await admitted(compliantPod(A, (_p, c) => { c.imagePullPolicy = "IfNotPresent"; }));
  });
});

describe("tenantry-node-pool (pol-b on tenantry.dev/pool=bravo)", () => {
  it("admits a pod that selects the pool, or selects nothing (PodNodeSelector adds the pool)", async () => {
    await admitted(compliantPod(B, (p) => { p.spec.nodeSelector = { [POOL.key]: POOL.value }; }));
    const stored = (await admitted(compliantPod(B))) as unknown as Pod;
    expect(stored.spec.nodeSelector).toEqual({ [POOL.key]: POOL.value });
  });

  it("refuses a pod that names its node", async () => {
    const pod = compliantPod(B, (p) => { p.spec.nodeName = "node-1"; });
    await refusedBy("tenantry-node-pool", pod, `pod <${pod.metadata.name}> sets nodeName`);
  });

  it("is never reached for another pool in a team namespace: PodNodeSelector refuses the conflict first", async () => {
    const r = await expectForbidden(create(teamAccess(B), compliantPod(B, (p) => { p.spec.nodeSelector = { [POOL.key]: "other" }; })));
    expect(r.message).toMatch(/conflicts with its namespace node label selector/);
  });

  it("admits, where no PodNodeSelector annotation helps, a pod that selects the pool", async () => {
    await admitted(compliantPod(BARE));
  });

  it.each([
    ["selects no pool", (p: Pod) => { delete p.spec.nodeSelector; }],
    ["selects another pool", (p: Pod) => { p.spec.nodeSelector = { [POOL.key]: "other" }; }],
    ["selects the pool under another key", (p: Pod) => { p.spec.nodeSelector = { "example.com/pool": POOL.value }; }],
  ])("refuses, where no PodNodeSelector annotation helps, a pod that %s", async (_what, change) => {
    const pod = compliantPod(BARE, change);
    await refusedBy("tenantry-node-pool", pod, `pod <${pod.metadata.name}> must select nodeSelector ${POOL.key}=${POOL.value}`);
  });

  it("is bound only to teams with a node pool: pol-a may name a node", async () => {
    await admitted(compliantPod(A, (p) => { p.spec.nodeName = "node-1"; }));
  });
});

describe("the team's parameters", () => {
  const params = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${A}-policy`, namespace: "tenantry-system" }, data: { registries: "docker.io/\n" } };

  it("cannot be edited by the team", async () => {
    await expectForbidden(apply(teamAccess(A), params));
    await expectForbidden(client(teamAccess(A)).deleteObject(params));
  });

  it("cannot be unbound or rebound by the team", async () => {
    await expectForbidden(client(teamAccess(A)).deleteObject({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: `${A}-registries` } }));
    await expectForbidden(create(teamAccess(A), { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: `${A}-mine` }, spec: { policyName: "tenantry-allowed-registries", validationActions: ["Audit"] } }));
  });

  it("are not taken from a ConfigMap of the same name in the team's own namespace", async () => {
    await admitted({ ...params, metadata: { ...params.metadata, namespace: A } });
    await refusedBy("tenantry-allowed-registries", compliantPod(A, (_p, c) => { c.image = "docker.io/library/nginx:1.27"; }));
  });

  it("are required: without them every pod of the team is refused (parameterNotFoundAction: Deny)", async () => {
    await client(admin).deleteObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${C}-policy`, namespace: "tenantry-system" } });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await outcome(client(teamAccess(C)).createObject(compliantPod(C) as unknown as KubeObject, { dryRun: true }));
      if (r !== undefined) {
        expect(r.message).toMatch(/'tenantry-allowed-registries' with binding 'pol-c-registries' denied request: failed to configure binding: no params found/);
        break;
      }
      if (Date.now() > deadline) expect.fail("a pod was still admitted 10 s after the team's parameters were deleted");
      await new Promise((done) => setTimeout(done, 250));
    }
    await refusal(create(teamAccess(C), compliantPod(C)));
  });
});
