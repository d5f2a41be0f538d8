// The pure core of `tenantry status`'s policy-engine lines (src/views/enforcement.ts); the same
// gaps against the real Gatekeeper manager are in test/cluster/enforcement.test.ts.

import { describe, expect, it } from "vitest";
import { type ConstraintObject, enforcementLines, type EnforcementInput, enforcementView, type TemplateObject, unreadableView } from "../../src/views/enforcement.js";

const MANAGED = { "app.kubernetes.io/managed-by": "tenantry" };

function template(name: string, created = true, errors: string[] = []): TemplateObject {
  return {
    apiVersion: "templates.gatekeeper.sh/v1",
    kind: "ConstraintTemplate",
    metadata: { name, labels: MANAGED },
    spec: { crd: { spec: { names: { kind: name } } } },
    status: { created, byPod: [{ id: "gk-0", errors: errors.map((message) => ({ message })) }] },
  };
}

function constraint(kind: string, name: string, enforced: boolean, errors: string[] = []): ConstraintObject {
  return { apiVersion: "constraints.gatekeeper.sh/v1beta1", kind, metadata: { name, labels: MANAGED }, status: { byPod: [{ id: "gk-0", enforced, errors: errors.map((message) => ({ message })) }], totalViolations: 2 } };
}

/** As the release registers it (deploy/gatekeeper.yaml, v3.23.1), trimmed to what is judged. */
const RELEASE_HOOK = {
  name: "validation.gatekeeper.sh",
  rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: ["*", "pods/ephemeralcontainers"] }],
  namespaceSelector: { matchExpressions: [{ key: "admission.gatekeeper.sh/ignore", operator: "DoesNotExist" }, { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["gatekeeper-system"] }] },
};
const WEBHOOK = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "gatekeeper-validating-webhook-configuration" }, webhooks: [RELEASE_HOOK] };
const hook = (change: Record<string, unknown>): typeof WEBHOOK => ({ ...WEBHOOK, webhooks: [{ ...RELEASE_HOOK, ...change }] });

function input(over: Partial<EnforcementInput> = {}): EnforcementInput {
  return {
    expected: [
      { apiVersion: "templates.gatekeeper.sh/v1", kind: "ConstraintTemplate", name: "tenantryimagetags" },
      { apiVersion: "constraints.gatekeeper.sh/v1beta1", kind: "TenantryImageTags", name: "t1-image-tags" },
      { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", name: "tenantry-image-tags" },
      { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", name: "t1-image-tags" },
    ],
    templates: [template("tenantryimagetags")],
    constraints: [constraint("TenantryImageTags", "t1-image-tags", true)],
    webhook: WEBHOOK,
    teamNamespaces: ["t1"],
    webhookAnswer: { answers: true },
    admissionPolicies: [{ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name: "tenantry-image-tags", labels: MANAGED } }],
    admissionBindings: [{ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "t1-image-tags", labels: MANAGED }, spec: { policyName: "tenantry-image-tags", validationActions: ["Deny"] } }],
    ...over,
  };
}

describe("enforcementView", () => {
  it("everything in place: no finding, counts and lines", () => {
    const v = enforcementView(input());
    expect(v.findings).toEqual([]);
    expect(v.gatekeeper).toEqual({ used: true, templates: 1, constraints: 1, enforced: 1, violations: 2 });
    expect(enforcementLines(v)).toEqual([
      "Gatekeeper: 1 templates, 1 of 1 constraints enforced, 2 audit violations; webhook answers",
      "ValidatingAdmissionPolicies: 1 policies, 1 bindings; all present",
    ]);
  });

  it("ignores Gatekeeper's note that it generates no binding for a generateVAP: false template", () => {
    const v = enforcementView(input({ constraints: [constraint("TenantryImageTags", "t1-image-tags", true, ["cannot generate ValidatingAdmissionPolicyBinding: conditions are not satisfied"])] }));
    expect(v.findings).toEqual([]);
  });

  it.each([
    ["Gatekeeper not installed", { templates: null, constraints: [] }, "Gatekeeper", /^not installed/],
    ["no webhook", { webhook: null }, "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration", /^missing: Gatekeeper's webhook is not registered/],
    ["unreachable webhook", { webhookAnswer: { answers: false, why: "failed calling webhook" } }, "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration", /cannot reach Gatekeeper's webhook \(failed calling webhook\)/],
    ["missing template", { templates: [], constraints: [] }, "ConstraintTemplate tenantryimagetags", /^missing/],
    ["template not created", { templates: [template("tenantryimagetags", false, ["rego_parse_error: x"])], constraints: [] }, "ConstraintTemplate tenantryimagetags", /^Gatekeeper has not created its constraint kind: gk-0: rego_parse_error: x$/],
    ["constraint not enforced", { constraints: [constraint("TenantryImageTags", "t1-image-tags", false)] }, "constraint TenantryImageTags/t1-image-tags", /^not yet enforced/],
    ["constraint missing", { constraints: [] }, "constraint TenantryImageTags/t1-image-tags", /^missing: not enforced/],
    ["constraint in dryrun", { constraints: [{ ...constraint("TenantryImageTags", "t1-image-tags", true), spec: { enforcementAction: "dryrun" } }] }, "constraint TenantryImageTags/t1-image-tags", /^enforcementAction is dryrun: violations are only recorded, not refused$/],
    ["validation webhook gone", { webhook: { ...WEBHOOK, webhooks: [] } }, "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration", /^it has no webhook validation\.gatekeeper\.sh/],
    ["rules narrowed", { webhook: hook({ rules: [{ apiGroups: ["apps"], apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: ["deployments"] }] }) }, "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration", /is not sent CREATE and UPDATE of every resource/],
    ["a team namespace skipped", { webhook: hook({ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["gatekeeper-system", "t1"] }] } }) }, "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration", /skips team namespaces t1/],
    ["an objectSelector", { webhook: hook({ objectSelector: { matchLabels: { checked: "yes" } } }) }, "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration", /has an objectSelector/],
    ["a binding that only audits", { admissionBindings: [{ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "t1-image-tags", labels: MANAGED }, spec: { policyName: "tenantry-image-tags", validationActions: ["Audit"] } }] }, "ValidatingAdmissionPolicyBinding t1-image-tags", /lacks Deny/],
    ["policy missing", { admissionPolicies: [] }, "ValidatingAdmissionPolicy tenantry-image-tags", /^missing/],
    ["binding missing", { admissionBindings: [] }, "ValidatingAdmissionPolicyBinding t1-image-tags", /^missing/],
  ] as const)("names the gap: %s", (_what, over, object, problem) => {
    const v = enforcementView(input(over));
    const f = v.findings.find((x) => x.object === object) ?? expect.fail(JSON.stringify(v.findings));
    expect(f.problem).toMatch(problem);
    expect(enforcementLines(v)).toContain(`  ! ${object}: ${f.problem}`);
  });

  it("a binding naming a policy that does not exist enforces nothing", () => {
    const v = enforcementView(input({ admissionBindings: [{ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "t1-image-tags" }, spec: { policyName: "gone" } }] }));
    expect(v.findings).toEqual([{ engine: "vap", object: "ValidatingAdmissionPolicyBinding t1-image-tags", problem: "names policy gone, which does not exist: nothing is enforced" }]);
  });

  it("an identity that may not read what the check needs gets one line, not false gaps", () => {
    expect(enforcementLines(unreadableView("/apis/templates.gatekeeper.sh/v1/constrainttemplates"))).toEqual(["Policy engines: not checked: this identity may not read /apis/templates.gatekeeper.sh/v1/constrainttemplates"]);
  });

  it("says nothing of an engine the admin repo does not use", () => {
    const v = enforcementView({ expected: [], templates: null, constraints: [], webhook: null, teamNamespaces: [], webhookAnswer: null, admissionPolicies: [], admissionBindings: [] });
    expect(v.findings).toEqual([]);
    expect(enforcementLines(v)).toEqual([]);
  });
});
