// The pure plan core: identity, scope, teams reached, the risk detectors, the diff and the
// formats. Objects are written inline; test/cli/plan.test.ts plans real repos.

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { unifiedDiff } from "../../src/plan/diff.js";
import { formatMarkdown, formatText, MARKDOWN_BUDGET } from "../../src/plan/format.js";
import { buildPlan, type Plan, type PlanSide, withClusterCheck } from "../../src/plan/plan.js";
import { quantityValue } from "../../src/model/quantity.js";

const MANAGED = { "app.kubernetes.io/managed-by": "tenantry" };

function obj(kind: string, name: string, extra: Record<string, unknown> = {}, meta: Partial<KubeObject["metadata"]> = {}, apiVersion = "v1"): KubeObject {
  return { apiVersion, kind, metadata: { name, labels: { ...MANAGED }, ...meta }, ...extra };
}

function teamObj(team: string, kind: string, name: string, extra: Record<string, unknown> = {}, apiVersion = "v1", namespaced = true): KubeObject {
  return obj(kind, name, extra, { ...(namespaced ? { namespace: team } : {}), labels: { ...MANAGED, "tenantry.dev/team": team } }, apiVersion);
}

function side(objects: KubeObject[], teams: string[], ref = "base"): PlanSide {
  return { ref, commit: ref === "base" ? "a".repeat(40) : "b".repeat(40), teams, objects: objects.map((object) => ({ object, file: null })) };
}

function plan(base: KubeObject[], head: KubeObject[], teams: [string[], string[]] = [["team1", "team2"], ["team1", "team2"]]): Plan {
  return buildPlan(side(base, teams[0]), side(head, teams[1], "head"));
}

function reasons(p: Plan, kind: string): Record<string, readonly string[]> {
  return Object.fromEntries((p.risks.find((r) => r.kind === kind)?.objects ?? []).map((o) => [o.object, o.reasons]));
}

const RBAC = "rbac.authorization.k8s.io/v1";

function clusterRole(rules: unknown[]): KubeObject {
  return obj("ClusterRole", "tenantry:team-admin", { rules }, {}, RBAC);
}

function namespace(team: string, level?: string, extra: Record<string, string> = {}): KubeObject {
  const labels: Record<string, string> = { ...MANAGED, "tenantry.dev/team": team, ...extra };
  if (level !== undefined) labels["pod-security.kubernetes.io/enforce"] = level;
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: team, labels } };
}

describe("plan: changes", () => {
  it("pairs objects by identity: added, changed, removed; equal objects are no change", () => {
    const cm = (data: Record<string, string>): KubeObject => teamObj("team1", "ConfigMap", "c", { data });
    const p = plan([cm({ a: "1" }), teamObj("team1", "ConfigMap", "gone"), teamObj("team1", "Secret", "same")], [cm({ a: "2" }), teamObj("team1", "ConfigMap", "new"), teamObj("team1", "Secret", "same")]);
    expect(p.changes.map((c) => [c.action, c.object])).toEqual([
      ["changed", "ConfigMap/team1/c"],
      ["removed", "ConfigMap/team1/gone"],
      ["added", "ConfigMap/team1/new"],
    ]);
    expect(p.summary).toMatchObject({ added: 1, changed: 1, removed: 1, clusterWide: 0, teamsAffected: ["team1"] });
    expect(p.changes[0]?.diff).toBe('@@ -7,4 +7,4 @@\n     app.kubernetes.io/managed-by: tenantry\n     tenantry.dev/team: team1\n data:\n-  a: "1"\n+  a: "2"\n');
  });

  it("ignores the order of fields: objects are compared canonically", () => {
    const a = teamObj("team1", "ConfigMap", "c", { data: { x: "1", y: "2" } });
    const b = { ...a, data: { y: "2", x: "1" } };
    expect(plan([a], [b]).changes).toEqual([]);
  });

  it("a shared object reaches every team of base and head; an object naming a team reaches that team", () => {
    const binding = obj("ClusterRoleBinding", "team1-view", { roleRef: { kind: "ClusterRole", name: "view" }, subjects: [{ kind: "Group", name: "tenantry:team:team1" }] }, {}, RBAC);
    const p = plan([clusterRole([])], [clusterRole([{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]), binding], [["team1", "team2"], ["team1", "team3"]]);
    const byObject = Object.fromEntries(p.changes.map((c) => [c.object, [c.scope, c.teams]]));
    expect(byObject).toEqual({
      "ClusterRole/tenantry:team-admin": ["cluster-wide", ["team1", "team2", "team3"]],
      "ClusterRoleBinding/team1-view": ["cluster-wide", ["team1"]],
    });
    expect(p.summary.teamsAffected).toEqual(["team1", "team2", "team3"]);
  });
});

describe("plan: text a team wrote cannot forge a line of the review", () => {
  it("escapes line breaks in reasons and owners (text and Markdown)", () => {
    const pool = (selector: string): KubeObject => ({ ...namespace("team1", "restricted"), metadata: { ...namespace("team1", "restricted").metadata, annotations: { "scheduler.alpha.kubernetes.io/node-selector": selector } } });
    const facts = new Map([["team1", { generated: null, problem: "x", extensions: [], allowFrom: [], owners: ["@evil\n<details><summary>No risk flags</summary>"] }]]);
    const p = buildPlan(side([pool("pool=a")], ["team1"]), side([pool("pool=b\nRisk flags: none")], ["team1"], "head"), facts);
    const text = formatText(p);
    expect(text.split("\n").filter((l) => l.startsWith("Risk flags:"))).toEqual([`Risk flags: ${String(p.risks.length)}`]);
    expect(text).toContain("pool=b\\nRisk flags: none");
    expect(text).toContain("@evil\\n<details>");
    const md = formatMarkdown(p);
    expect(md).not.toMatch(/^<details><summary>No risk flags/m);
    expect(md).toContain("@evil\\n<details>");
  });
});

describe("plan: risk flags", () => {
  it("RBAC widened: new verbs, resources and wildcards, not rules already covered", () => {
    const base = clusterRole([{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"] }, { apiGroups: [""], resources: ["*"], verbs: ["get"] }]);
    const widened = clusterRole([
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "delete"] },
      { apiGroups: [""], resources: ["*"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
    ]);
    expect(reasons(plan([base], [widened]), "rbac-widened")).toEqual({
      "ClusterRole/tenantry:team-admin": ["gains a wildcard (*)", "gains delete on apps/deployments", "gains * on */*"],
    });
    const narrowed = clusterRole([{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] }, { apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]);
    expect(plan([base], [narrowed]).risks).toEqual([]);
  });

  it("RBAC widened: a binding that grants a team identity a ClusterRole; the team's own RoleBindings are not news", () => {
    const crb = obj("ClusterRoleBinding", "team1-admin", { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "team1", namespace: "team1" }] }, {}, RBAC);
    const own = teamObj("team3", "RoleBinding", "tenantry:team-admin", { roleRef: { kind: "ClusterRole", name: "tenantry:team-admin" }, subjects: [{ kind: "ServiceAccount", name: "team3", namespace: "team3" }, { kind: "Group", name: "tenantry:team:team3" }] }, RBAC);
    const cross = teamObj("team2", "RoleBinding", "peek", { roleRef: { kind: "ClusterRole", name: "view" }, subjects: [{ kind: "Group", name: "tenantry:team:team1" }] }, RBAC);
    const everyone = obj("ClusterRoleBinding", "everyone", { roleRef: { kind: "ClusterRole", name: "view" }, subjects: [{ kind: "Group", name: "system:authenticated" }] }, {}, RBAC);
    const p = plan([], [crb, own, cross, everyone], [["team1", "team2"], ["team1", "team2", "team3"]]);
    expect(reasons(p, "rbac-widened")).toEqual({
      "ClusterRoleBinding/everyone": ["grants ClusterRole view cluster-wide to Group system:authenticated (everyone in it)"],
      "ClusterRoleBinding/team1-admin": ["grants ClusterRole cluster-admin cluster-wide to ServiceAccount team1/team1 (team team1)"],
      "RoleBinding/team2/peek": ["grants ClusterRole view in namespace team2 to Group tenantry:team:team1 (team team1)"],
    });
  });

  it("RBAC widened: a subject of no team (a User, an outside Group or ServiceAccount) is flagged wherever it is bound", () => {
    const ref = (kind: string, name: string): Record<string, string> => ({ apiGroup: "rbac.authorization.k8s.io", kind, name });
    const mallory = obj("ClusterRoleBinding", "mallory", { roleRef: ref("ClusterRole", "cluster-admin"), subjects: [{ kind: "User", name: "mallory" }] }, {}, RBAC);
    const ops = teamObj("team1", "RoleBinding", "ops", { roleRef: ref("ClusterRole", "tenantry:team-admin"), subjects: [{ kind: "Group", name: "ops" }] }, RBAC);
    const reader = obj("RoleBinding", "keys", { roleRef: ref("Role", "secret-reader"), subjects: [{ kind: "ServiceAccount", name: "x", namespace: "tools" }] }, {}, RBAC);
    reader.metadata.namespace = "tenantry-system";
    const p = plan([], [mallory, ops, reader]);
    expect(reasons(p, "rbac-widened")).toEqual({
      "ClusterRoleBinding/mallory": ["grants ClusterRole cluster-admin cluster-wide to User mallory (no team's)"],
      "RoleBinding/team1/ops": ["grants ClusterRole tenantry:team-admin in namespace team1 to Group ops (no team's)"],
      "RoleBinding/tenantry-system/keys": ["grants Role secret-reader in namespace tenantry-system to ServiceAccount tools/x (no team's)"],
    });
  });

  it("agent identity: bound through a group, run by any workload kind, or a token minted for it", () => {
    const sys = { namespace: "tenantry-system" };
    const group = obj("ClusterRoleBinding", "all-sas", { roleRef: { kind: "ClusterRole", name: "view" }, subjects: [{ kind: "Group", name: "system:serviceaccounts:tenantry-system" }] }, {}, RBAC);
    const rc = obj("ReplicationController", "rc", { spec: { template: { spec: { serviceAccount: "tenantry-agent" } } } }, sys);
    const user = obj("RoleBinding", "as-user", { roleRef: { kind: "Role", name: "r" }, subjects: [{ kind: "User", name: "system:serviceaccount:tenantry-system:tenantry-agent" }] }, sys, RBAC);
    const template = obj("PodTemplate", "pt", { template: { spec: { serviceAccountName: "tenantry-agent" } } }, sys);
    const token = obj("Secret", "agent-token", { type: "kubernetes.io/service-account-token" }, { ...sys, annotations: { "kubernetes.io/service-account.name": "tenantry-agent" } });
    const elsewhere = obj("Secret", "agent-token", { type: "kubernetes.io/service-account-token" }, { namespace: "team1", annotations: { "kubernetes.io/service-account.name": "tenantry-agent" } });
    expect(reasons(plan([], [group, rc, template, token, elsewhere, user]), "agent-identity")).toEqual({
      "ClusterRoleBinding/all-sas": ["binds to the agent's ServiceAccount tenantry-system/tenantry-agent, which applies the admin repo with cluster scope"],
      "PodTemplate/tenantry-system/pt": ["runs as the agent's ServiceAccount tenantry-system/tenantry-agent"],
      "ReplicationController/tenantry-system/rc": ["runs as the agent's ServiceAccount tenantry-system/tenantry-agent"],
      "RoleBinding/tenantry-system/as-user": ["binds to the agent's ServiceAccount tenantry-system/tenantry-agent, which applies the admin repo with cluster scope"],
      "Secret/tenantry-system/agent-token": ["mints a long-lived token of the agent's ServiceAccount tenantry-system/tenantry-agent"],
    });
  });

  it("Pod Security lowered, removed, or a new team namespace below restricted", () => {
    const p = plan([namespace("team1", "restricted"), namespace("team2", "restricted")], [namespace("team1", "baseline"), namespace("team2"), namespace("team3", "privileged")], [["team1", "team2"], ["team1", "team2", "team3"]]);
    expect(reasons(p, "pod-security-lowered")).toEqual({
      "Namespace/team1": ["Pod Security enforce level lowered: restricted → baseline"],
      "Namespace/team2": ["Pod Security enforce label removed (was restricted): the cluster's default applies, privileged unless configured"],
      "Namespace/team3": ["new team namespace enforces Pod Security level privileged"],
    });
    expect(plan([namespace("team1", "baseline")], [namespace("team1", "restricted")]).risks).toEqual([]);
  });

  const GK = "constraints.gatekeeper.sh/v1beta1";
  const constraint = (spec: Record<string, unknown>): KubeObject => teamObj("team1", "TenantryAllowedRegistries", "team1-registries", { spec }, GK, false);

  it("policies: a constraint removed, enforcement weakened, registries grown, a namespace exempted", () => {
    const base = constraint({ enforcementAction: "deny", match: { namespaces: ["team1"] }, parameters: { registries: ["ghcr.io/acme/"] } });
    const head = constraint({ enforcementAction: "dryrun", match: { namespaces: ["team1"] }, parameters: { registries: ["ghcr.io/acme/", "docker.io/"] } });
    const other = teamObj("team1", "TenantryImageTags", "team1-image-tags", { spec: {} }, GK, false);
    const p = plan([base, other, namespace("team1", "restricted")], [head, namespace("team1", "restricted", { "admission.gatekeeper.sh/ignore": "yes" })]);
    expect(reasons(p, "policy-loosened")).toEqual({
      "Namespace/team1": ["exempted from Gatekeeper (label admission.gatekeeper.sh/ignore)"],
      "TenantryAllowedRegistries/team1-registries": ["enforcementAction deny → dryrun", "allows more registries: docker.io/"],
      "TenantryImageTags/team1-image-tags": ["removed"],
    });
  });

  it("policies: a team's node pool moved or dropped", () => {
    const pool = (ns: KubeObject, selector: string): KubeObject => ({ ...ns, metadata: { ...ns.metadata, annotations: { "scheduler.alpha.kubernetes.io/node-selector": selector } } });
    const p = plan(
      [pool(namespace("team1", "restricted"), "pool=team1"), pool(namespace("team2", "restricted"), "pool=team2")],
      [pool(namespace("team1", "restricted"), "pool=shared"), namespace("team2", "restricted")],
    );
    expect(reasons(p, "policy-loosened")).toEqual({
      "Namespace/team1": ["node pool changed: pool=team1 → pool=shared"],
      "Namespace/team2": ["node pool removed (was pool=team2): its pods may run on any node"],
    });
    expect(plan([namespace("team1", "restricted")], [pool(namespace("team1", "restricted"), "pool=team1")]).risks).toEqual([]);
  });

  it("policies: a binding's validationActions without Deny, a policy's failurePolicy Ignore, parameters grown", () => {
    const VAP = "admissionregistration.k8s.io/v1";
    const binding = (actions: string[]): KubeObject => teamObj("team1", "ValidatingAdmissionPolicyBinding", "team1-resources", { spec: { policyName: "p", validationActions: actions } }, VAP, false);
    const policy = (failurePolicy: string): KubeObject => obj("ValidatingAdmissionPolicy", "p", { spec: { failurePolicy } }, {}, VAP);
    const params = (registries: string): KubeObject => teamObj("tenantry-system", "ConfigMap", "team1-policy", { data: { registries } });
    const p = plan([binding(["Deny"]), policy("Fail"), params("ghcr.io/\n")], [binding(["Warn", "Audit"]), policy("Ignore"), params("ghcr.io/\nquay.io/\n")]);
    expect(reasons(p, "policy-loosened")).toEqual({
      "ConfigMap/tenantry-system/team1-policy": ["allows more registries: quay.io/"],
      "ValidatingAdmissionPolicy/p": ["failurePolicy Fail → Ignore"],
      "ValidatingAdmissionPolicyBinding/team1-resources": ["validationActions [Deny] → [Warn, Audit]"],
    });
  });

  it("quota and limits raised, compared as quantities", () => {
    const quota = (hard: Record<string, string>): KubeObject => teamObj("team1", "ResourceQuota", "tenantry-quota", { spec: { hard } });
    const limits = (cpu: string): KubeObject => teamObj("team1", "LimitRange", "tenantry-limits", { spec: { limits: [{ type: "Container", default: { cpu }, max: { cpu: "2" } }] } });
    const p = plan(
      [quota({ "requests.cpu": "2", "limits.memory": "8Gi", pods: "20", secrets: "50" }), limits("500m")],
      [quota({ "requests.cpu": "2000m", "limits.memory": "8193Mi", pods: "10" }), teamObj("team1", "LimitRange", "tenantry-limits", { spec: { limits: [{ type: "Container", default: { cpu: "1" } }] } })],
    );
    expect(reasons(p, "quota-raised")).toEqual({
      "LimitRange/team1/tenantry-limits": ["Container default cpu raised: 500m → 1", "Container max cpu removed (was 2): no longer limited"],
      "ResourceQuota/team1/tenantry-quota": ["hard limits.memory raised: 8Gi → 8193Mi", "hard secrets removed (was 50): no longer limited"],
    });
    expect(plan([quota({ pods: "20" })], [quota({ pods: "1e1" })]).risks).toEqual([]);
  });

  it("network: a policy removed, ingress from another namespace added, a new policy's egress to anywhere (a new team's policies as rendered are exempt elsewhere)", () => {
    const NET = "networking.k8s.io/v1";
    const np = (name: string, spec: Record<string, unknown>): KubeObject => teamObj("team2", "NetworkPolicy", name, { spec }, NET);
    const from = (ns: string): Record<string, unknown> => ({ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } }] }] });
    const p = plan(
      [np("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }), np("from", from("team1"))],
      [np("from", { podSelector: {}, ingress: [...(from("team1").ingress as unknown[]), { from: [{ namespaceSelector: {} }] }] }), np("egress", { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] }), np("same", from("team2"))],
    );
    expect(reasons(p, "network-loosened")).toEqual({
      "NetworkPolicy/team2/deny": ["removed"],
      "NetworkPolicy/team2/egress": ["allows egress to ipBlock 0.0.0.0/0"],
      "NetworkPolicy/team2/from": ["allows ingress from every namespace"],
    });
  });

  it("network: a rule whose from/to is empty or null allows every peer (the Kubernetes API's meaning)", () => {
    const NET = "networking.k8s.io/v1";
    const np = (name: string, spec: Record<string, unknown>): KubeObject => teamObj("team3", "NetworkPolicy", name, { spec }, NET);
    const p = plan([], [np("empty", { podSelector: { matchLabels: { app: "b" } }, policyTypes: ["Ingress"], ingress: [{ from: [] }] }), np("null", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: null }] })]);
    expect(reasons(p, "network-loosened")).toEqual({
      "NetworkPolicy/team3/empty": ["allows ingress from anywhere"],
      "NetworkPolicy/team3/null": ["allows egress to anywhere"],
    });
  });

  it("a team added or removed, with the objects created or pruned; what goes with a team is no extra news", () => {
    const team2 = [namespace("team2", "restricted"), teamObj("team2", "ResourceQuota", "q"), teamObj("team2", "NetworkPolicy", "np", {}, "networking.k8s.io/v1")];
    const p = plan([namespace("team1", "restricted"), ...team2], [namespace("team1", "restricted"), namespace("team3", "restricted")], [["team1", "team2"], ["team1", "team3"]]);
    expect(p.teams).toEqual({ added: ["team3"], removed: ["team2"] });
    expect(p.risks.map((r) => r.kind)).toEqual(["team-added", "team-removed"]);
    // No tombstone at head: the reconciler keeps the team (team-guard.ts), and the plan says so.
    expect(reasons(p, "team-removed")).toEqual({ "Namespace/team2": ["team team2 removed without a tombstone: the reconciler keeps its 3 objects and its namespace and reports TeamDeletionNotRequested; to delete the team, run tenantry delete-team team2"] });
    expect(reasons(p, "team-added")).toEqual({ "Namespace/team3": ["team team3 added: 1 object created"] });
  });

  it("a CRD added, changed or removed", () => {
    const crd = (name: string, schema: unknown): KubeObject =>
      obj("CustomResourceDefinition", name, { spec: { group: "tenantry.dev", scope: "Namespaced", names: { kind: name.split(".")[0] }, versions: [{ name: "v1", schema: { openAPIV3Schema: schema } }] } }, {}, "apiextensions.k8s.io/v1");
    const p = plan([crd("a.tenantry.dev", { type: "object" }), crd("b.tenantry.dev", {})], [crd("a.tenantry.dev", { type: "object", properties: {} }), crd("c.tenantry.dev", {})]);
    expect(reasons(p, "crd-changed")).toEqual({
      "CustomResourceDefinition/a.tenantry.dev": ["the schema of version v1 changed"],
      "CustomResourceDefinition/b.tenantry.dev": ["removed: every b object in the cluster is deleted with it"],
      "CustomResourceDefinition/c.tenantry.dev": ["added: a new kind c"],
    });
  });

  it("the API server's refusals become a risk flag", () => {
    const p = withClusterCheck(plan([], []), {
      checked: 1,
      counts: { create: 0, update: 0, unchanged: 0, prune: 0, refused: 1, unchecked: 0 },
      results: [{ object: "Namespace/team1", outcome: "refused", message: "invalid label (HTTP 422 Invalid)", drift: [] }],
    });
    expect(p.risks).toEqual([{ kind: "cluster-refused", title: "Refused by the API server", objects: [{ object: "Namespace/team1", reasons: ["invalid label (HTTP 422 Invalid)"] }] }]);
    expect(p.summary.riskFlags).toBe(1);
  });
});

describe("diff and formats", () => {
  it("writes hunks with context, deletions before insertions", () => {
    const a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
    const b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n";
    expect(unifiedDiff(a, b)).toBe("@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n+11\n");
    expect(unifiedDiff("", "a\n")).toBe("@@ -0,0 +1,1 @@\n+a\n");
    expect(unifiedDiff("a\n", "")).toBe("@@ -1,1 +0,0 @@\n-a\n");
    expect(unifiedDiff("same\n", "same\n")).toBe("");
  });

  it("reads quantities", () => {
    expect([quantityValue("500m"), quantityValue("2"), quantityValue("4Gi"), quantityValue("1e3"), quantityValue("1E"), quantityValue(3), quantityValue("x")]).toEqual([0.5, 2, 4 * 2 ** 30, 1000, 1e18, 3, undefined]);
  });

  it("keeps a PR comment under GitHub's size limit and fences diffs that hold backticks", () => {
    const many = Array.from({ length: 400 }, (_, i) => teamObj("team1", "ConfigMap", `c${i}`, { data: { text: "x".repeat(300) } }));
    const md = formatMarkdown(plan([], many));
    expect(md.length).toBeLessThan(MARKDOWN_BUDGET + 20_000);
    expect(md).toMatch(/more changes without diffs/);
    const fenced = formatMarkdown(plan([], [teamObj("team1", "ConfigMap", "doc", { data: { readme: "```sh\nmake\n```" } })]));
    expect(fenced).toContain("````diff");
  });
});
