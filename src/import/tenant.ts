// What a tenant's objects become in tenantry, for the objects both Flux layouts share: the
// namespace, service accounts, RBAC, pod security, quota, network policies, Secrets, Helm
// releases, anything else. Pure. Each object read gives one report line (or more); what the
// tenant lacks and tenantry adds is reported as tightened at the end.

import type { ReportItem, Verdict } from "./report.js";
import { describe, isMap, kindOf, type Located, nameOf, namespaceOf, str, text, type YamlMap } from "./source.js";

const PSA = "pod-security.kubernetes.io/";
const HELM_KINDS = new Set(["HelmRelease", "HelmRepository", "HelmChart"]);
/** ClusterRoles that bind everything in a namespace: tenantry's least-privilege role replaces them. */
const BROAD_ROLES = new Set(["cluster-admin", "admin", "edit"]);

export interface TenantScope {
  readonly tenant: string;
  /** The tenant's home namespace in the source. */
  readonly namespace: string;
  /** The team it becomes (its namespace and ServiceAccount in tenantry). */
  readonly team: string;
  readonly defaultTier: string;
  /** The source's own controller identities: ServiceAccounts and users only the sync engine used. */
  readonly engineSubjects: ReadonlySet<string>;
}

export class Findings {
  readonly items: ReportItem[] = [];
  sawPodSecurity = false;
  sawQuota = false;
  sawLimitRange = false;
  sawNetworkPolicy = false;

  constructor(readonly scope: TenantScope) {}

  add(verdict: Verdict, file: string, subject: string, detail: string): void {
    this.items.push({ verdict, tenant: this.scope.tenant, file, subject, detail });
  }
}

function subjectsOf(o: YamlMap): YamlMap[] {
  return Array.isArray(o.subjects) ? o.subjects.filter(isMap) : [];
}

function subjectName(s: YamlMap): string {
  const kind = str(s.kind) ?? "?";
  const ns = str(s.namespace);
  return `${kind} ${ns === undefined ? "" : `${ns}/`}${str(s.name) ?? "?"}`;
}

/** A subject the source's sync engine used (its ServiceAccount, Flux's impersonation user). */
function isEngineSubject(s: YamlMap, scope: TenantScope): boolean {
  const name = str(s.name) ?? "";
  if (str(s.kind) === "ServiceAccount") return scope.engineSubjects.has(`sa:${name}`) || str(s.namespace) !== undefined;
  return str(s.kind) === "User" && (/^gotk:[^:]+:reconciler$/.test(name) || scope.engineSubjects.has(`user:${name}`));
}

function labelsOf(o: YamlMap): Record<string, unknown> {
  const meta = isMap(o.metadata) ? o.metadata : {};
  return isMap(meta.labels) ? meta.labels : {};
}

function annotationsOf(o: YamlMap): Record<string, unknown> {
  const meta = isMap(o.metadata) ? o.metadata : {};
  return isMap(meta.annotations) ? meta.annotations : {};
}

function namespaceObject(l: Located, f: Findings): void {
  const { scope } = f;
  const o = l.obj;
  if (nameOf(o) !== scope.namespace) {
    f.add("unmapped", l.file, describe(o), `a second namespace of tenant ${scope.tenant}: a tenantry team has one home namespace (${scope.team}); create another team for it, or move its objects into ${scope.team}`);
    return;
  }
  f.add(
    scope.namespace === scope.team ? "mapped" : "unmapped",
    l.file,
    describe(o),
    scope.namespace === scope.team
      ? `namespace ${scope.team}, labelled tenantry.dev/team: ${scope.team}`
      : `becomes namespace ${scope.team}: a tenantry team's namespace is its name; the tenant's objects move from ${scope.namespace} to ${scope.team} (a team repo naming namespace ${scope.namespace} is refused), or import with --team-name namespace`,
  );
  for (const [key, value] of Object.entries(labelsOf(o))) {
    if (key === "toolkit.fluxcd.io/tenant" || key === "kubernetes.io/metadata.name") continue;
    if (key.startsWith(PSA)) {
      if (!key.endsWith("enforce")) continue;
      f.sawPodSecurity = true;
      if (value === "restricted") f.add("mapped", l.file, `label ${key}: ${value}`, "Pod Security restricted, as every tenantry team has");
      else f.add("tightened", l.file, `label ${key}: ${text(value)}`, "Pod Security restricted (tenantry.yaml podSecurity.level): pods the restricted profile refuses will no longer start");
      continue;
    }
    f.add("unmapped", l.file, `label ${key}: ${text(value)}`, `tenantry renders the namespace's labels itself; add it by hand to cluster/${scope.team}/namespace.yaml if something selects on it`);
  }
  for (const key of Object.keys(annotationsOf(o))) {
    f.add("unmapped", l.file, `annotation ${key}`, `tenantry renders the namespace's annotations itself; add it by hand to cluster/${scope.team}/namespace.yaml if it is needed`);
  }
}

function roleBinding(l: Located, f: Findings, roles: ReadonlyMap<string, YamlMap>): void {
  const { scope } = f;
  const o = l.obj;
  if ((namespaceOf(o) ?? scope.namespace) !== scope.namespace) {
    f.add("unmapped", l.file, describe(o), `a grant in another namespace than the tenant's (${scope.namespace}): a tenantry team has rights in its own namespace only`);
    return;
  }
  const ref = isMap(o.roleRef) ? o.roleRef : {};
  const refKind = str(ref.kind) ?? "?";
  const refName = str(ref.name) ?? "?";
  const role = refKind === "Role" ? roles.get(refName) : undefined;
  const everything = role !== undefined && JSON.stringify(role.rules ?? []).includes('"*"');
  const engine = subjectsOf(o).filter((s) => isEngineSubject(s, scope));
  const people = subjectsOf(o).filter((s) => !isEngineSubject(s, scope));
  const grant = `${refKind} ${refName}${everything ? " (every verb on every resource)" : ""}`;
  if ((refKind === "ClusterRole" && BROAD_ROLES.has(refName)) || everything) {
    const who = engine.length === 0 ? "" : ` for ${engine.map(subjectName).join(", ")}`;
    f.add("tightened", l.file, `${describe(o)} -> ${grant}${who}`, `RoleBinding ${scope.team}/tenantry:team-admin to ClusterRole tenantry:team-admin (namespaced, least privilege: no RBAC, quota or policy changes) for ServiceAccount ${scope.team}/${scope.team} and Group tenantry:team:${scope.team}`);
  } else {
    f.add("unmapped", l.file, `${describe(o)} -> ${grant}`, `a grant tenantry does not render: the team gets tenantry:team-admin only; keep it by hand as an extension (create-team --extension RoleBinding/${scope.team}/${nameOf(o)}) if it is still needed`);
  }
  for (const s of people) {
    f.add("unmapped", l.file, `subject ${subjectName(s)} of ${describe(o)}`, `people get the team's rights through Group tenantry:team:${scope.team}: put them in that group in your identity provider`);
  }
}

function clusterRoleBinding(l: Located, f: Findings, pspRoles: ReadonlySet<string>): void {
  const { scope } = f;
  const o = l.obj;
  const ref = isMap(o.roleRef) ? o.roleRef : {};
  const refName = str(ref.name) ?? "?";
  const onlyEngine = subjectsOf(o).every((s) => isEngineSubject(s, scope) || (str(s.kind) === "ServiceAccount" && str(s.name) === "default"));
  if (pspRoles.has(refName) || /psp/.test(refName)) {
    f.add("tightened", l.file, `${describe(o)} -> ClusterRole ${refName}`, "PodSecurityPolicy use: gone with PodSecurityPolicy; Pod Security restricted on the namespace instead");
  } else if (onlyEngine && /readonly|read-only|view/.test(refName)) {
    f.add("tightened", l.file, `${describe(o)} -> ClusterRole ${refName}`, `cluster-wide read for the tenant's sync engine: none; tenantry's team agent reads and writes namespace ${scope.team} only`);
  } else {
    f.add("unmapped", l.file, `${describe(o)} -> ClusterRole ${refName}`, "a cluster-wide grant: a tenantry team has rights in its own namespace only; grant it by hand in cluster/common if it is really needed (tenantry plan flags it)");
  }
}

/**
 * Judges the tenant's ordinary objects (everything but its sync objects, which the layout's
 * parser judges). Returns the objects it did not recognise, for the parser to judge or report.
 */
export function judgeTenantObjects(objects: readonly Located[], f: Findings): Located[] {
  const { scope } = f;
  const roles = new Map(objects.filter((l) => kindOf(l.obj) === "Role").map((l) => [nameOf(l.obj), l.obj]));
  const pspRoles = new Set(
    objects
      .filter((l) => kindOf(l.obj) === "ClusterRole" && JSON.stringify(l.obj.rules ?? []).includes("podsecuritypolicies"))
      .map((l) => nameOf(l.obj)),
  );
  const rest: Located[] = [];
  for (const l of objects) {
    const o = l.obj;
    const kind = kindOf(o);
    const ns = namespaceOf(o);
    if (kind === "Namespace") namespaceObject(l, f);
    else if (kind === "ServiceAccount") {
      if ((ns ?? scope.namespace) !== scope.namespace) f.add("unmapped", l.file, describe(o), `an identity in another namespace than the tenant's (${scope.namespace})`);
      else f.add("mapped", l.file, describe(o), `ServiceAccount ${scope.team}/${scope.team}: the team's one identity, which its repo is applied as`);
    } else if (kind === "RoleBinding") roleBinding(l, f, roles);
    else if (kind === "Role") {
      const bound = objects.some((b) => kindOf(b.obj) === "RoleBinding" && isMap(b.obj.roleRef) && b.obj.roleRef.kind === "Role" && b.obj.roleRef.name === nameOf(o));
      if (bound && JSON.stringify(o.rules ?? []).includes('"*"')) f.add("tightened", l.file, describe(o), "ClusterRole tenantry:team-admin (least privilege) instead");
      else f.add("unmapped", l.file, describe(o), `a role tenantry does not render: keep it by hand as an extension (create-team --extension Role/${scope.team}/${nameOf(o)}) if it is still needed`);
    } else if (kind === "ClusterRoleBinding") clusterRoleBinding(l, f, pspRoles);
    else if (kind === "ClusterRole" && pspRoles.has(nameOf(o))) f.add("tightened", l.file, describe(o), "PodSecurityPolicy use: gone with PodSecurityPolicy");
    else if (kind === "PodSecurityPolicy") {
      f.sawPodSecurity = true;
      const spec = isMap(o.spec) ? o.spec : {};
      const loose = spec.privileged === true || spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true;
      f.add("tightened", l.file, `${describe(o)}${loose ? " (privileged, host namespaces)" : ""}`, `Pod Security restricted on namespace ${scope.team} (PodSecurityPolicy was removed in Kubernetes 1.25)`);
    } else if (kind === "ResourceQuota") {
      f.sawQuota = true;
      f.add("unmapped", l.file, describe(o), `its values are not carried over: the team gets tier ${scope.defaultTier}'s quota; set that tier (or a new one) in tenantry.yaml to match and pass create-team --tier`);
    } else if (kind === "LimitRange") {
      f.sawLimitRange = true;
      f.add("unmapped", l.file, describe(o), `its values are not carried over: the team gets tier ${scope.defaultTier}'s container defaults (tenantry.yaml tiers)`);
    } else if (kind === "NetworkPolicy") {
      f.sawNetworkPolicy = true;
      f.add("unmapped", l.file, describe(o), "tenantry renders the team's NetworkPolicies (default deny, same namespace, DNS): open other sources with create-team --allow-from, or keep it as an extension");
    } else if (kind === "Secret") {
      f.add("unmapped", l.file, describe(o), `Secrets stay out of the admin repo: create the team's deploy key with tenantry keys create ${scope.team}; other Secrets go into the cluster by hand`);
    } else if (HELM_KINDS.has(kind)) {
      f.add("unmapped", l.file, describe(o), "a Helm object: tenantry applies Kustomize output only; render the chart into the team's repo, or keep Flux's helm-controller for it");
    } else rest.push(l);
  }
  return rest;
}

/** What the tenant lacked and tenantry adds: one tightened line each. */
export function addDefaults(f: Findings, file: string): void {
  const { scope } = f;
  if (!f.sawPodSecurity) f.add("tightened", file, "no Pod Security", `restricted on namespace ${scope.team} (enforce, audit, warn)`);
  if (!f.sawQuota) f.add("tightened", file, "no ResourceQuota", `tier ${scope.defaultTier}'s quota (tenantry.yaml defaultTier)`);
  if (!f.sawLimitRange) f.add("tightened", file, "no LimitRange", `tier ${scope.defaultTier}'s container defaults`);
  if (!f.sawNetworkPolicy) f.add("tightened", file, "no NetworkPolicy", "default deny: traffic within the namespace and DNS only; open other sources with create-team --allow-from");
  f.add("tightened", file, "no admission policies", "tenantry's policies on the namespace (Gatekeeper and/or admission policies): allowed image registries and tags, resources required, Service types limited");
}

/** An object neither the shared judge nor the layout's parser knows. */
export function extraObject(l: Located, f: Findings): void {
  const { scope } = f;
  const ns = namespaceOf(l.obj);
  f.add(
    "unmapped",
    l.file,
    describe(l.obj),
    ns === undefined || ns === scope.namespace
      ? `an extra object: create-team renders a fixed overlay; put it in the team's repo, or keep it by hand as an extension (create-team --extension ${kindOf(l.obj)}/${ns === undefined ? "" : `${scope.team}/`}${nameOf(l.obj)})`
      : `an object in namespace ${ns}, not the tenant's (${scope.namespace}): a tenantry team lives in its own namespace`,
  );
}
