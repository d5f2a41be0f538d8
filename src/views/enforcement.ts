// `tenantry status`, the policy engines: what the admin repo asks to be enforced (the admin
// GitSyncs' inventories, and tenantry's own templates and policies found live) against what
// the cluster enforces. With policyEngine `both`, Gatekeeper's webhook fails open
// (failurePolicy Ignore) and a missing template or constraint is silent: this makes each
// gap a line. Pure: src/views/gather.ts reads the cluster.

import { groupOf, type KubeObject } from "../model/object.js";

export const GATEKEEPER_WEBHOOK = "gatekeeper-validating-webhook-configuration";
export const TEMPLATE_GROUP = "templates.gatekeeper.sh";
export const CONSTRAINT_GROUP = "constraints.gatekeeper.sh";
const VAP_GROUP = "admissionregistration.k8s.io";

/** An object the admin repo applied (its inventory names it). */
export interface Expected {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
}

interface PodStatus {
  readonly id?: string;
  readonly enforced?: boolean;
  readonly errors?: readonly { readonly message?: string }[];
}

export interface TemplateObject extends KubeObject {
  spec?: { crd?: { spec?: { names?: { kind?: string } } } };
  status?: { created?: boolean; byPod?: readonly PodStatus[] };
}

export interface ConstraintObject extends KubeObject {
  spec?: { enforcementAction?: string };
  status?: { byPod?: readonly PodStatus[]; totalViolations?: number; auditTimestamp?: string };
}

/** How the API server fared calling Gatekeeper's webhook (a server-side dry run). */
export type WebhookAnswer = { readonly answers: true } | { readonly answers: false; readonly why: string } | { readonly unknown: string };

export interface EnforcementInput {
  readonly expected: readonly Expected[];
  /** null: the cluster does not serve templates.gatekeeper.sh (Gatekeeper is not installed). */
  readonly templates: readonly TemplateObject[] | null;
  readonly constraints: readonly ConstraintObject[];
  readonly webhook: KubeObject | null;
  /** The team namespaces: Gatekeeper's webhook must be sent their requests. */
  readonly teamNamespaces: readonly string[];
  readonly webhookAnswer: WebhookAnswer | null;
  readonly admissionPolicies: readonly KubeObject[];
  readonly admissionBindings: readonly KubeObject[];
}

export interface Finding {
  readonly engine: "gatekeeper" | "vap";
  readonly object: string;
  readonly problem: string;
}

export interface EnforcementView {
  readonly gatekeeper: { readonly used: boolean; readonly templates: number; readonly constraints: number; readonly enforced: number; readonly violations: number };
  readonly vap: { readonly used: boolean; readonly policies: number; readonly bindings: number };
  readonly findings: readonly Finding[];
  /** Set when the identity may not read what the check needs: nothing was judged. */
  readonly unreadable?: string;
}

/** The view when the identity may not read what the check needs (a 403 on `what`). */
export function unreadableView(what: string): EnforcementView {
  return { gatekeeper: { used: false, templates: 0, constraints: 0, enforced: 0, violations: 0 }, vap: { used: false, policies: 0, bindings: 0 }, findings: [], unreadable: what };
}

const MANAGED = "app.kubernetes.io/managed-by";

function isTenantry(o: KubeObject): boolean {
  return o.metadata.labels?.[MANAGED] === "tenantry";
}

/**
 * Gatekeeper (v3.22+, `--default-create-vap-binding-for-constraints`, on by default) records
 * this on every constraint whose template says `generateVAP: false`, as tenantry's do on
 * purpose (it renders its own ValidatingAdmissionPolicies): not an enforcement gap.
 */
const NO_GENERATED_BINDING = "cannot generate ValidatingAdmissionPolicyBinding: ";

interface Webhook {
  name?: string;
  rules?: { apiGroups?: string[]; resources?: string[]; operations?: string[] }[];
  namespaceSelector?: { matchLabels?: Record<string, string>; matchExpressions?: { key?: string; operator?: string; values?: string[] }[] };
  objectSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  matchConditions?: unknown[];
}

const VALIDATION_WEBHOOK = "validation.gatekeeper.sh";

/**
 * Why Gatekeeper's validation webhook, as registered, is not sent every request of a team
 * namespace (the release sends CREATE and UPDATE of every resource, except in namespaces
 * labelled admission.gatekeeper.sh/ignore, which only exempt namespaces may carry); null
 * when it is.
 */
export function narrowedWebhook(config: KubeObject, teamNamespaces: readonly string[]): string | null {
  const hooks = ((config as { webhooks?: Webhook[] }).webhooks ?? []).filter((w) => w.name === VALIDATION_WEBHOOK);
  const w = hooks[0];
  if (w === undefined) return `it has no webhook ${VALIDATION_WEBHOOK}`;
  const everything = (w.rules ?? []).some((r) => (r.apiGroups ?? []).includes("*") && (r.resources ?? []).includes("*") && ["CREATE", "UPDATE"].every((op) => (r.operations ?? []).includes(op) || (r.operations ?? []).includes("*")));
  if (!everything) return `${VALIDATION_WEBHOOK} is not sent CREATE and UPDATE of every resource`;
  if (Object.keys(w.namespaceSelector?.matchLabels ?? {}).length > 0) return `${VALIDATION_WEBHOOK} only sees namespaces with labels ${JSON.stringify(w.namespaceSelector?.matchLabels)}`;
  for (const e of w.namespaceSelector?.matchExpressions ?? []) {
    if (e.key === "admission.gatekeeper.sh/ignore" && e.operator === "DoesNotExist") continue;
    const skipped = e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn" ? (e.values ?? []).filter((v) => teamNamespaces.includes(v)) : null;
    if (skipped !== null && skipped.length === 0) continue;
    return skipped === null ? `${VALIDATION_WEBHOOK} has a namespaceSelector expression on ${String(e.key)} that may skip team namespaces` : `${VALIDATION_WEBHOOK} skips team namespaces ${skipped.join(", ")}`;
  }
  if (w.objectSelector !== undefined && (Object.keys(w.objectSelector.matchLabels ?? {}).length > 0 || (w.objectSelector.matchExpressions ?? []).length > 0)) return `${VALIDATION_WEBHOOK} has an objectSelector: objects without its labels are never checked`;
  if ((w.matchConditions ?? []).length > 0) return `${VALIDATION_WEBHOOK} has matchConditions: requests they exclude are never checked`;
  return null;
}

function podErrors(byPod: readonly PodStatus[] | undefined): string[] {
  return (byPod ?? []).flatMap((p) => (p.errors ?? []).filter((e) => !(e.message ?? "").startsWith(NO_GENERATED_BINDING)).map((e) => `${p.id ?? "?"}: ${e.message ?? "error"}`));
}

export function enforcementView(input: EnforcementInput): EnforcementView {
  const findings: Finding[] = [];
  const gk = (object: string, problem: string): void => {
    findings.push({ engine: "gatekeeper", object, problem });
  };
  const expected = (group: string, kind?: string): Expected[] => input.expected.filter((e) => groupOf(e.apiVersion) === group && (kind === undefined || e.kind === kind));

  // Gatekeeper
  const liveTemplates = (input.templates ?? []).filter(isTenantry);
  const wantedTemplates = new Set([...expected(TEMPLATE_GROUP, "ConstraintTemplate").map((e) => e.name), ...liveTemplates.map((t) => t.metadata.name)]);
  const wantedConstraints = new Set([...expected(CONSTRAINT_GROUP).map((e) => `${e.kind}/${e.name}`), ...input.constraints.filter(isTenantry).map((c) => `${c.kind}/${c.metadata.name}`)]);
  const used = wantedTemplates.size > 0 || wantedConstraints.size > 0;
  let enforced = 0;
  let violations = 0;
  if (used) {
    if (input.templates === null) {
      gk("Gatekeeper", `not installed (the cluster serves no ${TEMPLATE_GROUP}): the admin repo's ${wantedTemplates.size} ConstraintTemplates and ${wantedConstraints.size} constraints enforce nothing; install Gatekeeper (cluster/common/gatekeeper)`);
    } else {
      if (input.webhook === null) {
        gk(`ValidatingWebhookConfiguration ${GATEKEEPER_WEBHOOK}`, "missing: Gatekeeper's webhook is not registered, so no constraint is enforced at admission (audit only)");
      } else if (input.webhookAnswer !== null && "answers" in input.webhookAnswer && !input.webhookAnswer.answers) {
        gk(`ValidatingWebhookConfiguration ${GATEKEEPER_WEBHOOK}`, `the API server cannot reach Gatekeeper's webhook (${input.webhookAnswer.why}); with failurePolicy Ignore every request is admitted meanwhile`);
      } else if (input.webhookAnswer !== null && "unknown" in input.webhookAnswer) {
        gk(`ValidatingWebhookConfiguration ${GATEKEEPER_WEBHOOK}`, `registered; whether it answers is unknown (${input.webhookAnswer.unknown})`);
      }
      const narrowed = input.webhook === null ? null : narrowedWebhook(input.webhook, input.teamNamespaces);
      if (narrowed !== null) gk(`ValidatingWebhookConfiguration ${GATEKEEPER_WEBHOOK}`, `${narrowed}: constraints are not enforced at admission there`);
      const byName = new Map(liveTemplates.map((t) => [t.metadata.name, t]));
      for (const t of input.templates.filter((x) => wantedTemplates.has(x.metadata.name) && !byName.has(x.metadata.name))) byName.set(t.metadata.name, t);
      for (const name of [...wantedTemplates].sort()) {
        const t = byName.get(name);
        if (t === undefined) {
          gk(`ConstraintTemplate ${name}`, "missing: its constraints cannot exist; reconcile the admin repo");
          continue;
        }
        const errors = podErrors(t.status?.byPod);
        if (t.status?.created !== true) gk(`ConstraintTemplate ${name}`, `Gatekeeper has not created its constraint kind${errors.length > 0 ? `: ${errors.join("; ")}` : " yet"}`);
        else if (errors.length > 0) gk(`ConstraintTemplate ${name}`, errors.join("; "));
      }
      const live = new Map(input.constraints.map((c) => [`${c.kind}/${c.metadata.name}`, c]));
      for (const key of [...wantedConstraints].sort()) {
        const c = live.get(key);
        if (c === undefined) {
          gk(`constraint ${key}`, "missing: not enforced; its template may be missing or not created (see above), or the admin repo is not reconciled");
          continue;
        }
        violations += c.status?.totalViolations ?? 0;
        const errors = podErrors(c.status?.byPod);
        const action = c.spec?.enforcementAction ?? "deny";
        if (errors.length > 0) gk(`constraint ${key}`, errors.join("; "));
        else if (action !== "deny") gk(`constraint ${key}`, `enforcementAction is ${action}: violations are ${action === "warn" ? "warned about" : "only recorded"}, not refused`);
        else if ((c.status?.byPod ?? []).some((p) => p.enforced === true)) enforced++;
        else gk(`constraint ${key}`, "not yet enforced: no Gatekeeper pod reports it enforced");
      }
    }
  }

  // ValidatingAdmissionPolicies
  const wantedPolicies = new Set([...expected(VAP_GROUP, "ValidatingAdmissionPolicy").map((e) => e.name), ...input.admissionPolicies.filter(isTenantry).map((p) => p.metadata.name)]);
  const wantedBindings = new Set([...expected(VAP_GROUP, "ValidatingAdmissionPolicyBinding").map((e) => e.name), ...input.admissionBindings.filter(isTenantry).map((b) => b.metadata.name)]);
  const policies = new Set(input.admissionPolicies.map((p) => p.metadata.name));
  const bindings = new Map(input.admissionBindings.map((b) => [b.metadata.name, b]));
  const vap = (object: string, problem: string): void => {
    findings.push({ engine: "vap", object, problem });
  };
  for (const name of [...wantedPolicies].sort()) if (!policies.has(name)) vap(`ValidatingAdmissionPolicy ${name}`, "missing: its bindings enforce nothing; reconcile the admin repo");
  for (const name of [...wantedBindings].sort()) {
    const b = bindings.get(name);
    if (b === undefined) {
      vap(`ValidatingAdmissionPolicyBinding ${name}`, "missing: its policy is not enforced there; reconcile the admin repo");
      continue;
    }
    const spec = (b as { spec?: { policyName?: string; validationActions?: string[] } }).spec;
    const policy = spec?.policyName ?? "";
    if (!policies.has(policy)) vap(`ValidatingAdmissionPolicyBinding ${name}`, `names policy ${policy === "" ? "(none)" : policy}, which does not exist: nothing is enforced`);
    else if (!(spec?.validationActions ?? []).includes("Deny")) vap(`ValidatingAdmissionPolicyBinding ${name}`, `validationActions ${JSON.stringify(spec?.validationActions ?? [])} lacks Deny: violations are not refused`);
  }

  return {
    gatekeeper: { used, templates: wantedTemplates.size, constraints: wantedConstraints.size, enforced, violations },
    vap: { used: wantedPolicies.size > 0 || wantedBindings.size > 0, policies: wantedPolicies.size, bindings: wantedBindings.size },
    findings,
  };
}

/** The lines `tenantry status` prints under its table. */
export function enforcementLines(v: EnforcementView): string[] {
  if (v.unreadable !== undefined) return [`Policy engines: not checked: this identity may not read ${v.unreadable}`];
  const lines: string[] = [];
  const gkProblems = v.findings.filter((f) => f.engine === "gatekeeper").length;
  const vapProblems = v.findings.filter((f) => f.engine === "vap").length;
  if (v.gatekeeper.used) {
    lines.push(
      `Gatekeeper: ${v.gatekeeper.templates} templates, ${v.gatekeeper.enforced} of ${v.gatekeeper.constraints} constraints enforced, ${v.gatekeeper.violations} audit violations; ${gkProblems === 0 ? "webhook answers" : `${gkProblems} problem${gkProblems === 1 ? "" : "s"}`}`,
    );
  }
  if (v.vap.used) lines.push(`ValidatingAdmissionPolicies: ${v.vap.policies} policies, ${v.vap.bindings} bindings; ${vapProblems === 0 ? "all present" : `${vapProblems} problem${vapProblems === 1 ? "" : "s"}`}`);
  for (const f of v.findings) lines.push(`  ! ${f.object}: ${f.problem}`);
  return lines;
}
