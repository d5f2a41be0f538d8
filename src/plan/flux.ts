// The tenancy rules for Flux objects (engine `flux`, docs/engines.md), in one place: what a
// GitRepository or Kustomization may say without letting Flux apply something with more
// rights or to another place than its namespace's. Pure: an object in, findings out. Read by
// `tenantry validate` (admin repo and `--team`) and by plan's risk flags (risks.ts), which is
// why it sits in plan/: the lowest layer both reach.
//
// What kustomize-controller v1.9.6 does with each field (internal/controller,
// api/v1/kustomization_types.go):
// - no spec.serviceAccountName: it applies as itself (bound to cluster-admin as
//   `cluster-reconciler`), or, with `--default-service-account` (the lockdown), as that
//   ServiceAccount of the object's namespace; neither is the team's identity;
// - spec.sourceRef.namespace: a source of another namespace (another team's repo, the admin
//   repo's), refused only where `--no-cross-namespace-refs` is set;
// - spec.kubeConfig: applies to whatever cluster that kubeconfig names, as its identity;
// - spec.path: joined to the source's root with SecureJoin, so `..` cannot leave the checkout
//   but silently means another directory than it says.

import { groupOf, type KubeObject } from "../model/object.js";

export const FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io";
export const FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io";
import { FLUX_NAMESPACE, FLUX_PRUNE_ANNOTATION, FLUX_PRUNE_DISABLED } from "../model/constants.js";
export { FLUX_NAMESPACE, FLUX_PRUNE_ANNOTATION, FLUX_PRUNE_DISABLED };
/** kustomize-controller's own ServiceAccount (flux-system), bound to cluster-admin. */
export const FLUX_CONTROLLER_ACCOUNT = "kustomize-controller";

export type FluxRule =
  | "flux-in-team-repo"
  | "no-service-account"
  | "foreign-service-account"
  | "cross-namespace-source"
  | "remote-cluster"
  | "path-escapes"
  | "foreign-target-namespace"
  | "system-service-account";

export interface FluxFinding {
  readonly rule: FluxRule;
  readonly message: string;
}

type Obj = Record<string, unknown>;

function rec(v: unknown): Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Any object of a Flux API group (`*.toolkit.fluxcd.io`). */
export function isFluxObject(o: Pick<KubeObject, "apiVersion">): boolean {
  return groupOf(o.apiVersion).endsWith(".toolkit.fluxcd.io");
}

export function isFluxKustomization(o: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return o.kind === "Kustomization" && groupOf(o.apiVersion) === FLUX_KUSTOMIZE_GROUP;
}

export function isFluxGitRepository(o: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return o.kind === "GitRepository" && groupOf(o.apiVersion) === FLUX_SOURCE_GROUP;
}

/** The ServiceAccount a Kustomization names, or undefined when it names none. */
export function serviceAccountOf(o: KubeObject): string | undefined {
  return str(rec(o.spec).serviceAccountName);
}

/** The namespace of a Kustomization's source: its sourceRef.namespace, else its own. */
export function sourceNamespaceOf(o: KubeObject): string | undefined {
  return str(rec(rec(o.spec).sourceRef).namespace) ?? o.metadata.namespace;
}

/** Whether a path names `..` as one of its segments (`../x`, `a/../../b`, `..`). */
export function pathClimbs(path: string): boolean {
  return path.split(/[/\\]+/).includes("..");
}

export interface FluxLintContext {
  /** The team whose overlay (or repo) holds the object; null for cluster/common and the root. */
  readonly team: string | null;
}

/** A namespace whose ServiceAccounts are controllers' (Flux's, Kubernetes', tenantry's), not a team's. */
function isSystemNamespace(ns: string | undefined): boolean {
  return ns === FLUX_NAMESPACE || ns === "tenantry-system" || (ns !== undefined && ns.startsWith("kube-"));
}

/** Why a Kustomization other than the admin sync applying as a system namespace's ServiceAccount is an escalation, or undefined. */
function systemAccountReason(o: KubeObject, sa: string | undefined): string | undefined {
  const ns = o.metadata.namespace;
  if (sa === undefined || !isSystemNamespace(ns)) return undefined;
  if (ns === FLUX_NAMESPACE && o.metadata.name === FLUX_NAMESPACE && sa === FLUX_CONTROLLER_ACCOUNT) return undefined;
  return `applies as ServiceAccount ${ns ?? "?"}/${sa}, a system namespace's account (controllers' rights: source-controller's reads every Secret): only the admin sync ${FLUX_NAMESPACE}/${FLUX_NAMESPACE} applies as a controller`;
}

/**
 * Every tenancy finding of one object; [] for objects that are not Flux's. For a team's
 * objects (`team` set) the Kustomization must also apply as the team, into its namespace.
 */
export function fluxTenancyFindings(o: KubeObject, ctx: FluxLintContext): FluxFinding[] {
  if (!isFluxObject(o)) return [];
  const out: FluxFinding[] = [];
  const spec = rec(o.spec);
  const ns = o.metadata.namespace;
  const team = ctx.team;
  if (spec.kubeConfig !== undefined && spec.kubeConfig !== null) {
    out.push({ rule: "remote-cluster", message: "spec.kubeConfig makes Flux apply to another cluster, as whatever identity that kubeconfig holds: tenantry's tenancy ends at this cluster; remove it" });
  }
  if (!isFluxKustomization(o)) return out;
  const sa = serviceAccountOf(o);
  const own = team ?? "<team>";
  if (sa === undefined) {
    out.push({
      rule: "no-service-account",
      message: `has no spec.serviceAccountName: kustomize-controller applies it as itself (cluster-admin), or as the default ServiceAccount of ${ns ?? "its namespace"} where --default-service-account is set; set serviceAccountName: ${own}`,
    });
  } else if (team !== null && sa !== team) {
    out.push({
      rule: "foreign-service-account",
      message: `applies as ServiceAccount ${ns ?? team}/${sa}: a team's Kustomization applies as the team's own ServiceAccount ${team}, which holds the team's rights and no more`,
    });
  }
  const system = systemAccountReason(o, sa);
  if (system !== undefined) out.push({ rule: "system-service-account", message: system });
  const sourceNs = str(rec(spec.sourceRef).namespace);
  if (sourceNs !== undefined && sourceNs !== ns) {
    out.push({
      rule: "cross-namespace-source",
      message: `spec.sourceRef names a source in namespace ${sourceNs}: a Kustomization reads a source of its own namespace ${ns ?? "?"} only (kustomize-controller's --no-cross-namespace-refs refuses it); drop sourceRef.namespace`,
    });
  }
  const path = str(spec.path);
  if (path !== undefined && pathClimbs(path)) {
    out.push({
      rule: "path-escapes",
      message: `spec.path ${JSON.stringify(path)} climbs with "..": Flux keeps it inside the source's checkout (SecureJoin), so it names another directory than it says; write it from the repo's root`,
    });
  }
  const target = str(spec.targetNamespace);
  if (team !== null && target !== undefined && target !== team) {
    out.push({
      rule: "foreign-target-namespace",
      message: `spec.targetNamespace ${target}: a team's Kustomization puts objects in the team's namespace ${team} only`,
    });
  }
  return out;
}

/** Findings of a Flux object in a team's own repo: the admin's overlay holds the team's sync. */
export function teamRepoFluxFindings(o: KubeObject, team: string): FluxFinding[] {
  if (!isFluxObject(o)) return [];
  return [
    {
      rule: "flux-in-team-repo",
      message: `a team repo may not hold Flux objects: the team's role cannot create them (tenantry:team-admin has no rights on ${groupOf(o.apiVersion)}) and team ${team}'s sync is the admin repo's (cluster/${team}/sync.yaml); ask the platform team to declare it as an extension of cluster/${team}/ instead`,
    },
    ...fluxTenancyFindings(o, { team }),
  ];
}

/**
 * What makes a Kustomization apply with more rights or from elsewhere than before (plan's
 * risk flag): losing or changing its ServiceAccount, gaining a cross-namespace source or a
 * remote cluster. A new Kustomization is judged against nothing: each of these is news.
 */
export function kustomizationEscalations(base: KubeObject | null, head: KubeObject): string[] {
  if (!isFluxKustomization(head)) return [];
  const reasons: string[] = [];
  const ns = head.metadata.namespace ?? "?";
  const was = base === null ? undefined : serviceAccountOf(base);
  const now = serviceAccountOf(head);
  if (now === undefined) {
    reasons.push(
      was === undefined
        ? `has no serviceAccountName: kustomize-controller applies it as itself (cluster-admin), or as ${ns}/default under --default-service-account`
        : `loses serviceAccountName ${was}: kustomize-controller applies it as itself (cluster-admin), or as ${ns}/default under --default-service-account`,
    );
  } else if (now === FLUX_CONTROLLER_ACCOUNT && !(head.metadata.namespace === FLUX_NAMESPACE && head.metadata.name === FLUX_NAMESPACE)) {
    reasons.push(`applies as ServiceAccount ${ns}/${now}${ns === FLUX_NAMESPACE ? ", kustomize-controller's own (cluster-admin)" : ""}: only the admin sync ${FLUX_NAMESPACE}/${FLUX_NAMESPACE} applies with cluster scope`);
  } else if (systemAccountReason(head, now) !== undefined && (was !== now || base === null)) {
    reasons.push(systemAccountReason(head, now) ?? "");
  } else if (was !== undefined && was !== now) {
    reasons.push(`serviceAccountName ${was} → ${now}: it applies with ${ns}/${now}'s rights`);
  }
  const before = base === null ? undefined : sourceNamespaceOf(base);
  const source = sourceNamespaceOf(head);
  if (source !== undefined && source !== head.metadata.namespace && source !== before) {
    reasons.push(`reads its source from namespace ${source} (spec.sourceRef.namespace): another namespace's repo decides what it applies`);
  }
  const kubeConfig = rec(head.spec).kubeConfig;
  if (kubeConfig !== undefined && kubeConfig !== null && (base === null || rec(base.spec).kubeConfig === undefined || rec(base.spec).kubeConfig === null)) {
    reasons.push("gains spec.kubeConfig: it applies to another cluster, as that kubeconfig's identity");
  }
  const path = str(rec(head.spec).path);
  if (path !== undefined && pathClimbs(path) && (base === null || str(rec(base.spec).path) !== path)) {
    reasons.push(`spec.path ${JSON.stringify(path)} climbs with ".."`);
  }
  return reasons;
}
