// What gets weaker: the risk flags of a plan. Pure: pairs of (base, head) objects in,
// findings out. Each detector looks at one kind of object and says, per object, why.

import { isDeepStrictEqual } from "node:util";
import { describeObject, groupOf, type KubeObject, objectId } from "../model/object.js";
import { canonicalJson } from "./diff.js";
import { quantityValue } from "../model/quantity.js";
import { TEAM_LABEL } from "../model/labels.js";
import { APP_LABEL, APP_TEMPLATE_LABEL } from "../model/apps.js";
import { clusterDirOf } from "../model/names.js";
import type { NetworkDelta } from "../model/network.js";
import { FLUX_PRUNE_ANNOTATION, FLUX_PRUNE_DISABLED, kustomizationEscalations } from "./flux.js";

export const RISK_KINDS = [
  "rbac-widened",
  "pod-security-lowered",
  "policy-loosened",
  "quota-raised",
  "network-loosened",
  "team-added",
  "team-removed",
  "isolation-changed",
  "crd-changed",
  "extension",
  "hand-edited",
  "foreign-gitsync",
  "flux-escalation",
  "flux-prune",
  "agent-identity",
  "app-instance",
  "cluster-refused",
] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export const RISK_TITLES: Readonly<Record<RiskKind, string>> = {
  "rbac-widened": "RBAC widened",
  "pod-security-lowered": "Pod Security lowered",
  "policy-loosened": "Policy removed or loosened",
  "quota-raised": "Quota or limits raised",
  "network-loosened": "Network access widened",
  "team-added": "Team added",
  "team-removed": "Team removed",
  "isolation-changed": "Team moved between a namespace and its own control plane",
  "crd-changed": "CRD changed",
  extension: "Not rendered by create-team",
  "hand-edited": "Generated object edited by hand",
  "foreign-gitsync": "GitSync with cluster scope",
  "flux-escalation": "Flux applies with more rights",
  "flux-prune": "Team Namespace deletable by Flux",
  "agent-identity": "Runs as or binds to the agent",
  "app-instance": "App instances a template change reaches",
  "cluster-refused": "Refused by the API server",
};

/** What create-team renders for a team at head, from that ref's tenantry.yaml and team.yaml. */
export interface TeamFacts {
  /** The overlay's objects by objectId, or null when it cannot be rendered (see `problem`). */
  readonly generated: ReadonlyMap<string, KubeObject> | null;
  /** Why create-team's render is unknown (team.yaml missing or invalid, a tier the config lacks), or null. */
  readonly problem: string | null;
  /** Declared extensions (`Kind/ns/name`). */
  readonly extensions: readonly string[];
  /** The team's owners, asked in the review (never code owners of the overlay). */
  readonly owners: readonly string[];
  /** The teams it lets in (`--allow-from`); none when its team.yaml is unknown. */
  readonly allowFrom: readonly string[];
  /**
   * Its app instances (delivery admin) whose kustomization, and the overlay's, are exactly what
   * tenantry renders at head: objects labelled as theirs come from their template's base.
   */
  readonly trustedInstances?: ReadonlySet<string>;
}

/** The ClusterRoles every team is bound to inside its own namespace. */
const TEAM_ROLES = new Set(["tenantry:team-admin", "tenantry:team-agent"]);
const PSA = "pod-security.kubernetes.io/enforce";
const NODE_SELECTOR = "scheduler.alpha.kubernetes.io/node-selector";
const RESTRICTED = 2;
const PSA_RANK: Readonly<Record<string, number>> = { privileged: 0, baseline: 1, restricted: RESTRICTED };
const GATEKEEPER_IGNORE = "admission.gatekeeper.sh/ignore";
const ENFORCEMENT_RANK: Readonly<Record<string, number>> = { dryrun: 0, warn: 1, deny: 2 };

/** One object in both renders; null where it is absent. */
export interface Pair {
  readonly base: KubeObject | null;
  readonly head: KubeObject | null;
  /** The admin repo file the object comes from (head's, else base's), when known. */
  readonly file?: string | null;
}

export interface RiskContext {
  /** Every team in base or head. */
  readonly teams: ReadonlySet<string>;
  readonly addedTeams: ReadonlySet<string>;
  readonly removedTeams: ReadonlySet<string>;
  /** Namespaces whose Namespace object is removed: what is in them goes with them. */
  readonly removedNamespaces: ReadonlySet<string>;
  /** What create-team renders per team at head (teams the change reaches); absent: not checked. */
  readonly facts?: ReadonlyMap<string, TeamFacts>;
  /**
   * The analyzer's answer (tenantry-netcheck): null when no NetworkPolicy, Namespace label or
   * agent pod changed (nothing to judge); absent when not asked, and then network-loosened is
   * read from the policies' text.
   */
  readonly network?: NetworkDelta | null;
  /** Namespaces whose deletion head's tombstones ask for (a Team's or a Namespace's); absent: none. */
  readonly tombstoned?: ReadonlySet<string>;
  /** Teams in base and head whose isolation changed (namespace <-> own control plane): what they leave goes with them. */
  readonly movedTeams?: ReadonlySet<string>;
}

/** Reasons by risk kind, then by object (`Kind/ns/name`). */
export type Findings = Map<RiskKind, Map<string, string[]>>;

export function addFinding(findings: Findings, kind: RiskKind, object: string, reason: string): void {
  let byObject = findings.get(kind);
  if (byObject === undefined) {
    byObject = new Map();
    findings.set(kind, byObject);
  }
  const reasons = byObject.get(object) ?? [];
  if (!reasons.includes(reason)) reasons.push(reason);
  byObject.set(object, reasons);
}

type Obj = Record<string, unknown>;

function rec(v: unknown): Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A scalar as text (numbers too), else `fallback`. */
export function text(v: unknown, fallback = ""): string {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : fallback;
}

function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === "string");
}

/** Whether `o` goes away with its team or namespace (then its own removal is no news). */
function goesWithTeam(o: KubeObject, ctx: RiskContext): boolean {
  const team = o.metadata.labels?.[TEAM_LABEL];
  if (team !== undefined && (ctx.removedTeams.has(team) || ctx.movedTeams?.has(team) === true)) return true;
  const ns = o.metadata.namespace;
  return ns !== undefined && ctx.removedNamespaces.has(ns);
}

// ---- RBAC ---------------------------------------------------------------------------------

interface Grant {
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
  /** Sorted resourceNames joined by ",", "" for every name. */
  readonly names: string;
  readonly url: boolean;
}

function grants(rules: unknown): Grant[] {
  const out: Grant[] = [];
  for (const r of list(rules).map(rec)) {
    const verbs = strings(r.verbs);
    const names = strings(r.resourceNames).sort().join(",");
    for (const url of strings(r.nonResourceURLs)) for (const verb of verbs) out.push({ group: "", resource: url, verb, names: "", url: true });
    for (const group of strings(r.apiGroups)) {
      for (const resource of strings(r.resources)) for (const verb of verbs) out.push({ group, resource, verb, names, url: false });
    }
  }
  return out;
}

function covers(b: Grant, h: Grant): boolean {
  if (b.url !== h.url) return false;
  const verb = b.verb === "*" || b.verb === h.verb;
  if (b.url) return verb && (b.resource === h.resource || (b.resource.endsWith("*") && h.resource.startsWith(b.resource.slice(0, -1))));
  const names = b.names === "" || (h.names !== "" && h.names.split(",").every((n) => b.names.split(",").includes(n)));
  return verb && names && (b.group === "*" || b.group === h.group) && (b.resource === "*" || b.resource === h.resource);
}

function describeGrants(gained: readonly Grant[]): string[] {
  const byTarget = new Map<string, string[]>();
  for (const g of gained) {
    const target = g.url ? `URL ${g.resource}` : `${g.group === "" ? "" : `${g.group}/`}${g.resource}${g.names === "" ? "" : ` (names ${g.names})`}`;
    byTarget.set(target, [...(byTarget.get(target) ?? []), g.verb]);
  }
  const reasons = [...byTarget].map(([target, verbs]) => `gains ${[...new Set(verbs)].join(", ")} on ${target}`);
  if (gained.some((g) => g.group === "*" || g.resource === "*" || g.verb === "*")) reasons.unshift("gains a wildcard (*)");
  return reasons;
}

function roleWidened(p: Pair): string[] {
  if (p.base === null || p.head === null) return [];
  const before = grants(p.base.rules);
  const gained = grants(p.head.rules).filter((h) => !before.some((b) => covers(b, h)));
  const reasons = describeGrants(gained);
  if (!isDeepStrictEqual(p.base.aggregationRule, p.head.aggregationRule) && p.head.aggregationRule !== undefined) {
    reasons.push("its aggregationRule changed: it takes in the rules of other ClusterRoles");
  }
  return reasons;
}

interface Identity {
  readonly label: string;
  /** The team the subject is an identity of, or undefined. */
  readonly team?: string;
  /** A group everyone (or every ServiceAccount) is in. */
  readonly broad: boolean;
}

function identityOf(subject: Obj, bindingNamespace: string | undefined, teams: ReadonlySet<string>): Identity {
  const kind = text(subject.kind);
  const name = text(subject.name);
  if (kind === "ServiceAccount") {
    const ns = typeof subject.namespace === "string" ? subject.namespace : (bindingNamespace ?? "");
    return { label: `ServiceAccount ${ns}/${name}`, ...(teams.has(ns) ? { team: ns } : {}), broad: false };
  }
  const label = `${kind} ${name}`;
  if (kind === "Group") {
    if (name === "system:authenticated" || name === "system:unauthenticated" || name === "system:serviceaccounts") return { label, broad: true };
    const team = /^tenantry:team:(.+)$/.exec(name)?.[1] ?? /^system:serviceaccounts:(.+)$/.exec(name)?.[1];
    return { label, ...(team !== undefined && teams.has(team) ? { team } : {}), broad: false };
  }
  const team = /^system:serviceaccount:([^:]+):/.exec(name)?.[1];
  return { label, ...(team !== undefined && teams.has(team) ? { team } : {}), broad: false };
}

function bindingWidened(p: Pair, ctx: RiskContext): string[] {
  const head = p.head;
  if (head === null) return [];
  const roleRef = rec(head.roleRef);
  const baseSubjects = p.base !== null && isDeepStrictEqual(p.base.roleRef, head.roleRef) ? list(p.base.subjects).map(canonicalJson) : [];
  const added = list(head.subjects)
    .map(rec)
    .filter((s) => !baseSubjects.includes(canonicalJson(s)));
  const ns = head.metadata.namespace;
  const role = `${text(roleRef.kind)} ${text(roleRef.name)}`;
  const reasons: string[] = [];
  for (const s of added) {
    const id = identityOf(s, ns, ctx.teams);
    // A subject of no team (a User, an outside Group or ServiceAccount) is flagged too: the
    // plan cannot tell a colleague from an attacker's account.
    const who = id.broad ? `${id.label} (everyone in it)` : id.team !== undefined ? `${id.label} (team ${id.team})` : `${id.label} (no team's)`;
    const own = !id.broad && id.team !== undefined && id.team === ns;
    if (head.kind === "ClusterRoleBinding") {
      reasons.push(`grants ${role} cluster-wide to ${who}`);
    } else if (roleRef.kind === "ClusterRole" && !(TEAM_ROLES.has(text(roleRef.name)) && own)) {
      reasons.push(`grants ${role} in namespace ${ns ?? "?"} to ${who}`);
    } else if (roleRef.kind === "Role" && !own) {
      reasons.push(`grants ${role} in namespace ${ns ?? "?"} to ${who}${id.team === undefined ? "" : " of another namespace"}`);
    }
  }
  return reasons;
}

// ---- Pod Security, policies -----------------------------------------------------------------

function psaLevel(o: KubeObject): string | undefined {
  return o.metadata.labels?.[PSA];
}

function podSecurityLowered(p: Pair): string[] {
  if (p.head === null || p.head.kind !== "Namespace") return [];
  const after = psaLevel(p.head);
  if (p.base === null) {
    if (p.head.metadata.labels?.[TEAM_LABEL] === undefined) return [];
    if (after === undefined) return ["new team namespace without a Pod Security enforce label"];
    return (PSA_RANK[after] ?? 0) < RESTRICTED ? [`new team namespace enforces Pod Security level ${after}`] : [];
  }
  const before = psaLevel(p.base);
  if (before === undefined || before === after) return [];
  if (after === undefined) return [`Pod Security enforce label removed (was ${before}): the cluster's default applies, privileged unless configured`];
  return (PSA_RANK[after] ?? 0) < (PSA_RANK[before] ?? 0) ? [`Pod Security enforce level lowered: ${before} → ${after}`] : [];
}

function isConstraint(o: KubeObject): boolean {
  return groupOf(o.apiVersion) === "constraints.gatekeeper.sh";
}

const POLICY_KINDS = new Set(["ConstraintTemplate", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration"]);

function isPolicy(o: KubeObject): boolean {
  return isConstraint(o) || POLICY_KINDS.has(o.kind);
}

function listGrowth(before: readonly string[], after: readonly string[]): string[] {
  return after.filter((x) => !before.includes(x));
}

function registryLines(text: unknown): string[] {
  return typeof text === "string" ? text.split("\n").map((l) => l.trim()).filter((l) => l !== "") : [];
}

function constraintLoosened(base: KubeObject, head: KubeObject): string[] {
  const reasons: string[] = [];
  const b = rec(base.spec);
  const h = rec(head.spec);
  const actionOf = (s: Obj): string => (typeof s.enforcementAction === "string" ? s.enforcementAction : "deny");
  if ((ENFORCEMENT_RANK[actionOf(h)] ?? 2) < (ENFORCEMENT_RANK[actionOf(b)] ?? 2)) {
    reasons.push(`enforcementAction ${actionOf(b)} → ${actionOf(h)}`);
  }
  const bm = rec(b.match);
  const hm = rec(h.match);
  const excluded = listGrowth(strings(bm.excludedNamespaces), strings(hm.excludedNamespaces));
  if (excluded.length > 0) reasons.push(`now excludes namespaces ${excluded.join(", ")}`);
  const dropped = strings(bm.namespaces).filter((n) => hm.namespaces !== undefined && !strings(hm.namespaces).includes(n));
  if (dropped.length > 0) reasons.push(`no longer applies in namespaces ${dropped.join(", ")}`);
  for (const field of ["kinds", "labelSelector", "namespaceSelector", "scope", "name"]) {
    if (!isDeepStrictEqual(bm[field], hm[field])) reasons.push(`spec.match.${field} changed`);
  }
  const registries = listGrowth(strings(rec(b.parameters).registries), strings(rec(h.parameters).registries));
  if (registries.length > 0) reasons.push(`allows more registries: ${registries.join(", ")}`);
  return reasons;
}

const NAMESPACE_NAME = "kubernetes.io/metadata.name";

/**
 * The namespaces a binding's matchResources names, when that is all it says: a
 * namespaceSelector on kubernetes.io/metadata.name alone (matchLabels, or one `In`), as
 * create-team renders for a team's namespaces; null for anything else.
 */
function namedNamespaces(m: Obj): string[] | null {
  if (Object.keys(m).some((k) => k !== "namespaceSelector")) return null;
  const sel = rec(m.namespaceSelector);
  if (Object.keys(sel).some((k) => k !== "matchLabels" && k !== "matchExpressions")) return null;
  const labels = rec(sel.matchLabels);
  const exprs = list(sel.matchExpressions).map(rec);
  if (Object.keys(labels).length === 1 && exprs.length === 0 && typeof labels[NAMESPACE_NAME] === "string") return [labels[NAMESPACE_NAME]];
  const e = exprs[0];
  if (Object.keys(labels).length === 0 && exprs.length === 1 && e !== undefined && e.key === NAMESPACE_NAME && e.operator === "In") return strings(e.values);
  return null;
}

/** A binding's matchResources change: one that only names more namespaces (a team's new one) judges more, not less. */
function matchResourcesLoosened(b: Obj, h: Obj): string[] {
  const before = namedNamespaces(b);
  const after = namedNamespaces(h);
  if (before === null || after === null) return ["spec.matchResources changed"];
  const dropped = before.filter((n) => !after.includes(n));
  return dropped.length > 0 ? [`no longer applies in namespaces ${dropped.join(", ")}`] : [];
}

function admissionPolicyLoosened(base: KubeObject, head: KubeObject): string[] {
  const b = rec(base.spec);
  const h = rec(head.spec);
  const reasons: string[] = [];
  if (head.kind === "ValidatingAdmissionPolicy") {
    if ((b.failurePolicy ?? "Fail") === "Fail" && h.failurePolicy === "Ignore") reasons.push("failurePolicy Fail → Ignore");
    for (const field of ["validations", "matchConstraints", "matchConditions", "variables", "paramKind"]) {
      if (!isDeepStrictEqual(b[field], h[field])) reasons.push(`spec.${field} changed: review the diff`);
    }
  } else if (head.kind === "ValidatingAdmissionPolicyBinding") {
    const before = strings(b.validationActions);
    const after = strings(h.validationActions);
    if (before.includes("Deny") && !after.includes("Deny")) reasons.push(`validationActions [${before.join(", ")}] → [${after.join(", ")}]`);
    const pb = rec(b.paramRef);
    const ph = rec(h.paramRef);
    if ((pb.parameterNotFoundAction ?? "Deny") === "Deny" && ph.parameterNotFoundAction === "Allow") {
      reasons.push("paramRef.parameterNotFoundAction Deny → Allow");
    }
    if (!isDeepStrictEqual(b.policyName, h.policyName)) reasons.push("spec.policyName changed");
    if (!isDeepStrictEqual(b.matchResources, h.matchResources)) reasons.push(...matchResourcesLoosened(rec(b.matchResources), rec(h.matchResources)));
    if (!isDeepStrictEqual(pb.name, ph.name) || !isDeepStrictEqual(pb.namespace, ph.namespace) || !isDeepStrictEqual(pb.selector, ph.selector)) reasons.push("spec.paramRef changed");
  } else if (head.kind === "ConstraintTemplate") {
    if (!isDeepStrictEqual(b.targets, h.targets)) reasons.push("its Rego changed: review the diff");
  } else if (head.kind === "ValidatingWebhookConfiguration") {
    const failures = (o: KubeObject): string[] => list(o.webhooks).map((w) => text(rec(w).failurePolicy, "Fail"));
    if (failures(head).includes("Ignore") && !failures(base).includes("Ignore")) reasons.push("a webhook's failurePolicy is Ignore");
    if (list(head.webhooks).length < list(base.webhooks).length) reasons.push("webhooks removed");
  }
  return reasons;
}

/**
 * The binding in cluster/common/admission-policies/param-anchor.yaml: it selects nothing, and
 * keeps the API server's ConfigMap param informer running while no team has bindings.
 */
export const PARAM_ANCHOR = "tenantry-param-anchor";

function removedPolicy(base: KubeObject): string {
  if (base.kind === "ValidatingAdmissionPolicyBinding" && base.metadata.name === PARAM_ANCHOR) {
    return "removed: once no team has a binding, the API server stops watching the parameter ConfigMaps until it restarts; a later team's pods are refused 'no params found' and changed parameters are not seen (kubernetes/kubernetes#130887)";
  }
  return "removed";
}

function policyLoosened(p: Pair, ctx: RiskContext): string[] {
  const { base, head } = p;
  if (base !== null && head === null) return isPolicy(base) && !goesWithTeam(base, ctx) ? [removedPolicy(base)] : [];
  if (base === null || head === null) return [];
  const reasons: string[] = [];
  if (isConstraint(head)) reasons.push(...constraintLoosened(base, head));
  if (POLICY_KINDS.has(head.kind)) reasons.push(...admissionPolicyLoosened(base, head));
  if (head.kind === "ConfigMap") {
    // Policy parameters of the admission-policy rendition (ConfigMap <team>-policy).
    const grown = listGrowth(registryLines(rec(base.data).registries), registryLines(rec(head.data).registries));
    if (grown.length > 0) reasons.push(`allows more registries: ${grown.join(", ")}`);
  }
  if (head.kind === "Namespace" && head.metadata.labels?.[GATEKEEPER_IGNORE] !== undefined && base.metadata.labels?.[GATEKEEPER_IGNORE] === undefined) {
    reasons.push(`exempted from Gatekeeper (label ${GATEKEEPER_IGNORE})`);
  }
  if (head.kind === "Namespace") {
    // PodNodeSelector pins the namespace's pods to its node pool: moving or dropping it moves the team's workloads.
    const was = base.metadata.annotations?.[NODE_SELECTOR];
    const now = head.metadata.annotations?.[NODE_SELECTOR];
    if (was !== undefined && now === undefined) reasons.push(`node pool removed (was ${was}): its pods may run on any node`);
    else if (was !== undefined && now !== was) reasons.push(`node pool changed: ${was} → ${now ?? ""}`);
  }
  return reasons;
}

// ---- quota and limits ---------------------------------------------------------------------

function raised(what: string, before: unknown, after: unknown, removedMeans: string | null): string | undefined {
  if (after === undefined) return removedMeans === null ? undefined : `${what} removed (was ${text(before)}): ${removedMeans}`;
  const b = quantityValue(before);
  const a = quantityValue(after);
  if (b === undefined || a === undefined || a <= b) return undefined;
  return `${what} raised: ${text(before)} → ${text(after)}`;
}

function quotaRaised(p: Pair, ctx: RiskContext): string[] {
  const { base, head } = p;
  if (base === null) return [];
  if (head === null) {
    if (goesWithTeam(base, ctx)) return [];
    return base.kind === "ResourceQuota" ? [`removed: namespace ${base.metadata.namespace ?? "?"} loses this quota`] : base.kind === "LimitRange" ? [`removed: namespace ${base.metadata.namespace ?? "?"} loses these limits and defaults`] : [];
  }
  const reasons: string[] = [];
  if (head.kind === "ResourceQuota") {
    const b = rec(rec(base.spec).hard);
    const h = rec(rec(head.spec).hard);
    for (const key of Object.keys(b).sort()) {
      const r = raised(`hard ${key}`, b[key], h[key], "no longer limited");
      if (r !== undefined) reasons.push(r);
    }
  } else if (head.kind === "LimitRange") {
    const byType = (o: KubeObject): Map<string, Obj> => new Map(list(rec(o.spec).limits).map((l) => [text(rec(l).type), rec(l)]));
    const before = byType(base);
    const after = byType(head);
    for (const [type, b] of before) {
      const h = after.get(type) ?? {};
      for (const field of ["default", "defaultRequest", "max", "maxLimitRequestRatio"]) {
        const removedMeans = field === "max" || field === "maxLimitRequestRatio" ? "no longer limited" : null;
        for (const key of Object.keys(rec(b[field])).sort()) {
          const r = raised(`${type} ${field} ${key}`, rec(b[field])[key], rec(h[field])[key], removedMeans);
          if (r !== undefined) reasons.push(r);
        }
      }
    }
  }
  return reasons;
}

// ---- network policies -----------------------------------------------------------------------

function describePeer(peer: Obj, ownNamespace: string | undefined): string | undefined {
  if (peer.ipBlock !== undefined) {
    const ip = rec(peer.ipBlock);
    const except = strings(ip.except);
    return `ipBlock ${text(ip.cidr, "?")}${except.length > 0 ? ` except ${except.join(", ")}` : ""}`;
  }
  if (peer.namespaceSelector === undefined) return undefined; // same namespace only
  const selector = rec(peer.namespaceSelector);
  const labels = rec(selector.matchLabels);
  const pods = Object.keys(rec(peer.podSelector)).length > 0 ? `pods matching ${canonicalJson(peer.podSelector)} in ` : "";
  if (Object.keys(selector).length === 0) return `${pods}every namespace`;
  const name = labels["kubernetes.io/metadata.name"];
  if (typeof name === "string" && Object.keys(labels).length === 1 && selector.matchExpressions === undefined) {
    return name === ownNamespace ? undefined : `${pods}namespace ${name}`;
  }
  return `${pods}namespaces matching ${canonicalJson(selector)}`;
}

function peers(o: KubeObject, direction: "ingress" | "egress"): Obj[][] {
  const field = direction === "ingress" ? "from" : "to";
  return list(rec(o.spec)[direction]).map((rule) => {
    const r = rec(rule);
    // A rule whose from/to is missing, null or empty allows every peer.
    const given = list(r[field]);
    return given.length === 0 ? [{ anywhere: true }] : given.map(rec);
  });
}

function widenedPeers(base: KubeObject | null, head: KubeObject, direction: "ingress" | "egress"): string[] {
  const before = base === null ? [] : peers(base, direction).flat().map(canonicalJson);
  const ns = head.metadata.namespace;
  const out: string[] = [];
  for (const peer of peers(head, direction).flat()) {
    if (before.includes(canonicalJson(peer))) continue;
    if (peer.anywhere === true) {
      out.push(`allows ${direction} ${direction === "ingress" ? "from" : "to"} anywhere`);
      continue;
    }
    const text = describePeer(peer, ns);
    if (text !== undefined) out.push(`allows ${direction} ${direction === "ingress" ? "from" : "to"} ${text}`);
  }
  return out;
}

function networkLoosened(p: Pair, ctx: RiskContext): string[] {
  const { base, head } = p;
  if (base !== null && head === null) return base.kind === "NetworkPolicy" && !goesWithTeam(base, ctx) ? ["removed"] : [];
  if (head === null || head.kind !== "NetworkPolicy") return [];
  // A new team's policies as create-team renders them (its DNS and Git host egress) never
  // reach here (asRenderedForNewTeam); any other new or changed policy that lets more in
  // or out is news, both ways.
  const reasons = [...widenedPeers(base, head, "ingress"), ...widenedPeers(base, head, "egress")];
  if (base === null) return reasons;
  const types = (o: KubeObject): string[] => strings(rec(o.spec).policyTypes);
  for (const t of types(base)) if (!types(head).includes(t)) reasons.push(`no longer restricts ${t}`);
  if (!isDeepStrictEqual(rec(base.spec).podSelector, rec(head.spec).podSelector)) reasons.push("spec.podSelector changed: it applies to other pods");
  return reasons;
}

// ---- CRDs -------------------------------------------------------------------------------------

function crdChanged(p: Pair): string[] {
  const { base, head } = p;
  const o = head ?? base;
  if (o === null || o.kind !== "CustomResourceDefinition" || groupOf(o.apiVersion) !== "apiextensions.k8s.io") return [];
  const kind = text(rec(rec(o.spec).names).kind, "?");
  if (base === null) return [`added: a new kind ${kind}`];
  if (head === null) return [`removed: every ${kind} object in the cluster is deleted with it`];
  const reasons: string[] = [];
  const versions = (c: KubeObject): Map<string, Obj> => new Map(list(rec(c.spec).versions).map((v) => [text(rec(v).name), rec(v)]));
  const b = versions(base);
  const h = versions(head);
  for (const [name, v] of b) {
    const after = h.get(name);
    if (after === undefined) reasons.push(`version ${name} removed`);
    else if (!isDeepStrictEqual(rec(v.schema).openAPIV3Schema, rec(after.schema).openAPIV3Schema)) reasons.push(`the schema of version ${name} changed`);
    else if (!isDeepStrictEqual(v, after)) reasons.push(`version ${name} changed`);
  }
  for (const name of h.keys()) if (!b.has(name)) reasons.push(`version ${name} added`);
  if (!isDeepStrictEqual(rec(base.spec).scope, rec(head.spec).scope)) reasons.push("its scope changed");
  if (reasons.length === 0) reasons.push("changed: review the diff");
  return reasons;
}

/**
 * An object of an app instance, built from its template's base (apps/<template>/): the change
 * reaches that instance. Keyed by instance, so the review lists every instance a template
 * change reaches, with what changes in each.
 */
function appInstanceReached(p: Pair, ctx: RiskContext): { instance: string; reason: string } | undefined {
  const o = p.head ?? p.base;
  if (o === null) return undefined;
  const instance = o.metadata.labels?.[APP_LABEL];
  const template = o.metadata.labels?.[APP_TEMPLATE_LABEL];
  const team = o.metadata.labels?.[TEAM_LABEL];
  if (instance === undefined || template === undefined || team === undefined || o.metadata.namespace !== `${team}-${instance}` || o.kind === "Namespace") return undefined;
  // Labels are anyone's to write: an object at head is the instance's only while the overlay's
  // kustomization and the instance's are what tenantry renders (team facts), so nothing but the
  // template's base can have made it. A removal weakens nothing: it is named as the instance's.
  if (p.head !== null && ctx.facts?.get(team)?.trustedInstances?.has(instance) !== true) return undefined;
  const what = p.base === null ? "added" : p.head === null ? "removed" : "changed";
  return { instance: `app instance ${instance} of team ${team} (namespace ${o.metadata.namespace ?? "?"})`, reason: `template ${template}: ${describeObject(o)} ${what}` };
}

/** An object of a team's overlay that create-team does not render, or renders otherwise. */
function notAsGenerated(p: Pair, ctx: RiskContext): { kind: RiskKind; reason: string } | undefined {
  const head = p.head;
  // An app instance's objects are its template's, reviewed as such (appInstanceReached).
  if (appInstanceReached(p, ctx) !== undefined) return undefined;
  // The overlay a file sits in decides whose it is: stripping the team label hides nothing.
  const dir = clusterDirOf(p.file);
  const team = dir !== undefined && ctx.teams.has(dir) ? dir : (head ?? p.base)?.metadata.labels?.[TEAM_LABEL];
  if (team === undefined) return undefined;
  if (ctx.facts === undefined) return undefined;
  // Without create-team's render, nothing in the overlay can be vouched for: flag it all.
  // Facts exist for every team at head the change reaches (a removed team has none: its
  // objects go, team-removed says so).
  const facts = ctx.facts.get(team);
  if (facts === undefined) return undefined;
  if (facts.generated === null) {
    const why = facts.problem ?? `no team.yaml for team ${team} at head`;
    return { kind: "hand-edited", reason: `cannot be compared with what create-team renders: ${why}` };
  }
  if (head === null) {
    const removed = p.base;
    if (removed === null || !facts.generated.has(objectId(removed))) return undefined;
    return { kind: "hand-edited", reason: `create-team renders it for team ${team}, but the overlay no longer has it: removed by hand` };
  }
  const generated = facts.generated.get(objectId(head));
  if (generated === undefined) {
    const instance = head.metadata.labels?.[APP_LABEL];
    if (instance !== undefined && head.metadata.labels?.[TEAM_LABEL] === team) {
      return { kind: "hand-edited", reason: `labelled as app instance ${instance}'s, but cluster/${team}/kustomization.yaml or cluster/${team}/apps/${instance}/kustomization.yaml is not what tenantry renders (edited by hand): it may not come from the template; tenantry validate names the difference` };
    }
    const declared = facts.extensions.includes(describeObject(head));
    return {
      kind: "extension",
      reason: declared
        ? `team ${team}'s overlay holds it beyond what create-team renders (declared in team.yaml's extensions): review it as the platform team`
        : `team ${team}'s overlay holds it beyond what create-team renders, undeclared (tenantry validate refuses it)`,
    };
  }
  if (isDeepStrictEqual(head, generated)) return undefined;
  return { kind: "hand-edited", reason: `differs from what create-team renders for team ${team} from tenantry.yaml and team.yaml: edited by hand (or rendered by another tenantry version)` };
}

const AGENT = { name: "tenantry-agent", namespace: "tenantry-system" } as const;
const WORKLOADS: Readonly<Record<string, (o: KubeObject) => unknown>> = {
  Pod: (o) => o.spec,
  Deployment: (o) => rec(rec(o.spec).template).spec,
  StatefulSet: (o) => rec(rec(o.spec).template).spec,
  DaemonSet: (o) => rec(rec(o.spec).template).spec,
  ReplicaSet: (o) => rec(rec(o.spec).template).spec,
  ReplicationController: (o) => rec(rec(o.spec).template).spec,
  PodTemplate: (o) => rec(o.template).spec,
  Job: (o) => rec(rec(o.spec).template).spec,
  CronJob: (o) => rec(rec(rec(rec(o.spec).jobTemplate).spec).template).spec,
};

/** Whatever runs as, or binds to, the agent's ServiceAccount gets the agent's rights over every team. */
function agentIdentity(p: Pair): string[] {
  const o = p.head;
  if (o === null) return [];
  if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
    const bound = list(o.subjects).some((s) => {
      const subject = rec(s);
      if (subject.kind === "ServiceAccount") return subject.name === AGENT.name && text(subject.namespace, o.metadata.namespace ?? "") === AGENT.namespace;
      // The agent by its user name, or a group every ServiceAccount of tenantry-system (or of the cluster) is in.
      if (subject.kind === "User") return subject.name === `system:serviceaccount:${AGENT.namespace}:${AGENT.name}`;
      return subject.kind === "Group" && (subject.name === `system:serviceaccounts:${AGENT.namespace}` || subject.name === "system:serviceaccounts");
    });
    return bound ? [`binds to the agent's ServiceAccount ${AGENT.namespace}/${AGENT.name}, which applies the admin repo with cluster scope`] : [];
  }
  if (o.kind === "Secret" && o.metadata.namespace === AGENT.namespace && (o as { type?: unknown }).type === "kubernetes.io/service-account-token" && o.metadata.annotations?.["kubernetes.io/service-account.name"] === AGENT.name) {
    return [`mints a long-lived token of the agent's ServiceAccount ${AGENT.namespace}/${AGENT.name}`];
  }
  const spec = WORKLOADS[o.kind]?.(o);
  // serviceAccount is the deprecated alias the API server copies into serviceAccountName.
  const runsAs = rec(spec).serviceAccountName ?? rec(spec).serviceAccount;
  if (spec === undefined || o.metadata.namespace !== AGENT.namespace || runsAs !== AGENT.name) return [];
  return [`runs as the agent's ServiceAccount ${AGENT.namespace}/${AGENT.name}`];
}

/**
 * A GitSync in tenantry-system applies with cluster scope: only the admin repo's may be there,
 * and a controlplane team's exactly as create-team renders its shape: into the API server of
 * the kubeconfig KubeFlex writes for ControlPlane <name> (<name>-system/admin-kubeconfig), as
 * ServiceAccount <name> of namespace <name> there. Any other kubeConfig in tenantry-system may
 * name any kubeconfig Secret of the cluster, this one's own included: flagged, saying which.
 */
function foreignGitSync(p: Pair): string[] {
  const o = p.head;
  if (o?.kind !== "GitSync" || o.metadata.namespace !== AGENT.namespace || o.metadata.name === "admin") return [];
  const spec = rec((o as { spec?: unknown }).spec);
  const name = o.metadata.name;
  const secretRef = rec(rec(spec.kubeConfig).secretRef);
  if (spec.kubeConfig !== undefined) {
    const controlPlaneShape = spec.serviceAccountName === name && spec.targetNamespace === name && secretRef.name === "admin-kubeconfig" && secretRef.namespace === `${name}-system`;
    if (controlPlaneShape) return [];
    return [`a GitSync in ${AGENT.namespace} applies into the API server of the kubeconfig in Secret ${text(secretRef.namespace, AGENT.namespace)}/${text(secretRef.name, "?")} as ${typeof spec.serviceAccountName === "string" ? `ServiceAccount ${text(spec.targetNamespace, AGENT.namespace)}/${spec.serviceAccountName}` : "that kubeconfig's own identity"}: not the shape create-team renders for a controlplane team (<team>-system/admin-kubeconfig, ServiceAccount and namespace <team>)`];
  }
  return [`a GitSync in ${AGENT.namespace} other than the admin repo's applies its repo with cluster scope`];
}

/** A Kustomization (Flux) that applies with more rights, or from elsewhere, than before: see flux.ts. */
function fluxEscalation(p: Pair): string[] {
  const head = p.head;
  if (head === null) return [];
  return kustomizationEscalations(p.base, head);
}

/**
 * A team Namespace that loses `kustomize.toolkit.fluxcd.io/prune: disabled`: Flux deletes it
 * (and everything in it) once it leaves the render, so only delete-team's tombstone may take
 * the annotation off (docs/engines.md).
 */
function fluxPrune(p: Pair, ctx: RiskContext): string[] {
  const { base, head } = p;
  if (base?.kind !== "Namespace" || head?.kind !== "Namespace" || base.apiVersion !== "v1") return [];
  const was = base.metadata.annotations?.[FLUX_PRUNE_ANNOTATION];
  const now = head.metadata.annotations?.[FLUX_PRUNE_ANNOTATION];
  if (was !== FLUX_PRUNE_DISABLED || now === FLUX_PRUNE_DISABLED) return [];
  const name = head.metadata.name;
  if (ctx.tombstoned?.has(name) === true) return [];
  const team = head.metadata.labels?.[TEAM_LABEL] ?? base.metadata.labels?.[TEAM_LABEL];
  return [
    `${FLUX_PRUNE_ANNOTATION}: ${FLUX_PRUNE_DISABLED} ${now === undefined ? "removed" : `changed to ${now}`} without a tombstone: Flux deletes namespace ${name} and everything in it once it leaves the render; ${team === undefined ? "record its deletion first" : `run tenantry delete-team ${team} to ask for that`}`,
  ];
}

/**
 * A NetworkPolicy of a team added at head exactly as create-team renders it: its peers are
 * what the tenancy gives a new team (its --allow-from, DNS, the agent's egress), the matrix
 * judges them, and team-added says the team was added.
 */
function asRenderedForNewTeam(p: Pair, ctx: RiskContext): boolean {
  const head = p.head;
  if (p.base !== null || head === null || head.kind !== "NetworkPolicy") return false;
  const team = head.metadata.namespace;
  if (team === undefined || !(ctx.addedTeams.has(team) || ctx.movedTeams?.has(team) === true)) return false;
  const generated = ctx.facts?.get(team)?.generated?.get(objectId(head));
  return generated !== undefined && isDeepStrictEqual(head, generated);
}

/** network-loosened from the matrix: every pair a direction opened on, with its ports. */
function matrixLoosened(findings: Findings, delta: NetworkDelta): void {
  for (const limit of delta.limits ?? []) addFinding(findings, "network-loosened", "the network model", `not judged in full, review the policies by hand: ${limit}`);
  for (const c of delta.opened) {
    const pair = `${c.from} → ${c.to}`;
    if (c.ingress.length > 0) addFinding(findings, "network-loosened", pair, `${c.to}'s policies now admit ${c.from} on ${c.ingress.join(", ")} (judged by ${delta.engine})`);
    if (c.egress.length > 0) addFinding(findings, "network-loosened", pair, `${c.from}'s policies now let ${c.egress.join(", ")} out to ${c.to} (judged by ${delta.engine})`);
  }
}

/** Every risk finding of the object pairs of a plan. */
export function riskFindings(pairs: readonly Pair[], ctx: RiskContext): Findings {
  const findings: Findings = new Map();
  for (const p of pairs) {
    const o = p.head ?? p.base;
    if (o === null) continue;
    const object = describeObject(o);
    const add = (kind: RiskKind, reasons: readonly string[]): void => {
      for (const r of reasons) addFinding(findings, kind, object, r);
    };
    if (groupOf(o.apiVersion) === "rbac.authorization.k8s.io") {
      if (o.kind === "ClusterRole" || o.kind === "Role") add("rbac-widened", roleWidened(p));
      else if (o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding") add("rbac-widened", bindingWidened(p, ctx));
    }
    add("pod-security-lowered", podSecurityLowered(p));
    add("policy-loosened", policyLoosened(p, ctx));
    add("quota-raised", quotaRaised(p, ctx));
    // From the policies' text always, and from the matrix when it was judged (below): the
    // text names what the model may not hold (pods by label, named ports, ipBlock ranges).
    if (!asRenderedForNewTeam(p, ctx)) add("network-loosened", networkLoosened(p, ctx));
    add("crd-changed", crdChanged(p));
    add("foreign-gitsync", foreignGitSync(p));
    add("flux-escalation", fluxEscalation(p));
    add("flux-prune", fluxPrune(p, ctx));
    add("agent-identity", agentIdentity(p));
    const generated = notAsGenerated(p, ctx);
    if (generated !== undefined) add(generated.kind, [generated.reason]);
    const reached = appInstanceReached(p, ctx);
    if (reached !== undefined) addFinding(findings, "app-instance", reached.instance, reached.reason);
  }
  if (ctx.network !== undefined && ctx.network !== null) matrixLoosened(findings, ctx.network);
  return findings;
}
