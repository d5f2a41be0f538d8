// GitSync: the typed view of a gitsyncs.tenantry.dev object, and the pure helpers that
// derive what a reconcile needs from it (ref, identity, conditions).

import { dnsLabelProblems, isReservedNamespace, SYSTEM_NAMESPACE } from "./names.js";
import type { InventoryEntry, StoredInventory } from "./inventory-store.js";
import { groupOf, type KubeObject } from "./object.js";

export const GITSYNC_API_VERSION = "tenantry.dev/v1alpha1";
export const GITSYNC_KIND = "GitSync";

export interface GitRef {
  readonly branch?: string;
  readonly tag?: string;
  readonly commit?: string;
}

export interface GitSyncSpec {
  readonly url: string;
  readonly ref?: GitRef;
  readonly path?: string;
  readonly interval: string;
  readonly timeout?: string;
  readonly suspend?: boolean;
  readonly prune?: boolean;
  readonly allowEmpty?: boolean;
  readonly secretRef?: { readonly name: string };
  readonly serviceAccountName?: string;
  readonly webhookSecretRef?: { readonly name: string };
  /**
   * Decrypt the render's SOPS files (Flux's Kustomization spec.decryption) with the age
   * identities of this Secret of the GitSync's namespace (its keys ending in `.agekey`), read
   * with the agent's identity and handed to the build service over its pipe (issue 22).
   */
  readonly decryption?: { readonly provider: "sops"; readonly secretRef: { readonly name: string } };
  /**
   * A team GitSync refuses a render with a Secret whose values no SOPS file kept encrypted
   * (PlainSecretRefused), unless this is true (tenantry.yaml spec.allowPlainSecrets). The admin
   * repo's GitSync (cluster scope) is not held to it.
   */
  readonly allowPlainSecrets?: boolean;
  /**
   * Apply into the API server this kubeconfig names instead of the agent's own (Flux's
   * spec.kubeConfig): a team on its own control plane (model/controlplane.ts). The Secret is
   * read with the agent's identity; `namespace` other than the GitSync's own is honoured only
   * for a GitSync in tenantry-system.
   */
  readonly kubeConfig?: { readonly secretRef: { readonly name: string; readonly key?: string; readonly namespace?: string } };
  /**
   * The namespace the render goes into and whose ServiceAccount it applies as (default: the
   * GitSync's own namespace). Only a GitSync with kubeConfig may name another: in a remote API
   * server the team's namespace is not the GitSync's.
   */
  readonly targetNamespace?: string;
  /**
   * The team's extra namespaces (issue 20, full names `<home>-<name>`) this GitSync may apply
   * into besides its own: the lint's scope, the skip-unchanged lists and the prune cover them.
   * Only on a team's GitSync in its home namespace on this API server (not in tenantry-system,
   * no kubeConfig); admin-owned like the rest of the spec. RBAC stays the judge: the team's
   * ServiceAccount acts only where a RoleBinding gives it rights.
   */
  readonly namespaces?: readonly string[];
}

export type ConditionType = "Ready" | "Reconciling" | "Stalled";

export interface Condition {
  readonly type: ConditionType;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export type { InventoryEntry, StoredInventory } from "./inventory-store.js";

/** The object header an inventory entry names. */
export function headerOf(e: InventoryEntry): { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } {
  const [namespace = "", name = "", group = "", kind = ""] = e.id.split("_");
  if (groupOf(e.v) !== group) throw new Error(`inventory entry ${e.id} does not match apiVersion ${e.v}`);
  return { apiVersion: e.v, kind, metadata: namespace === "" ? { name } : { name, namespace } };
}

export interface GitSyncStatus {
  readonly observedGeneration?: number;
  readonly lastAttemptedRevision?: string;
  readonly lastAppliedRevision?: string;
  readonly keyFingerprint?: string;
  /** Set by an agent replica that received a push but does not lead: the leader runs the GitSync. */
  readonly requestedAt?: string;
  /** Flux's `entries`, or compressed when large (inventory-store.ts: read it with inventoryEntries). */
  readonly inventory?: StoredInventory;
  readonly conditions?: readonly Condition[];
}

export interface GitSync extends KubeObject {
  metadata: KubeObject["metadata"] & { namespace: string; generation?: number };
  spec: GitSyncSpec;
  status?: GitSyncStatus;
}

/** Whether this GitSync applies with cluster scope (the admin repo) or inside its namespace. */
export function isClusterScoped(gs: Pick<GitSync, "metadata" | "spec">): boolean {
  return gs.metadata.namespace === SYSTEM_NAMESPACE && gs.spec.serviceAccountName === undefined;
}

/** The key of the kubeconfig Secret when spec.kubeConfig.secretRef names none (Flux's default is `value`). */
export const DEFAULT_KUBECONFIG_KEY = "value";

/**
 * The namespace a team GitSync's render is held to and whose ServiceAccount it applies as:
 * spec.targetNamespace for a GitSync that applies into another API server, else its own.
 */
export function teamNamespaceOf(gs: Pick<GitSync, "metadata" | "spec">): string {
  return gs.spec.kubeConfig !== undefined && gs.spec.targetNamespace !== undefined ? gs.spec.targetNamespace : gs.metadata.namespace;
}

/** Where a GitSync's kubeconfig Secret is read: secretRef.namespace, else the GitSync's own namespace. */
export function kubeConfigSecretOf(gs: Pick<GitSync, "metadata" | "spec">): { namespace: string; name: string; key: string } | undefined {
  const ref = gs.spec.kubeConfig?.secretRef;
  if (ref === undefined) return undefined;
  const key = ref.key === undefined || ref.key === "" ? DEFAULT_KUBECONFIG_KEY : ref.key;
  const namespace = ref.namespace === undefined || ref.namespace === "" ? gs.metadata.namespace : ref.namespace;
  return { namespace, name: ref.name, key };
}

/**
 * Why the agent must not follow this GitSync's kubeConfig/targetNamespace, or undefined. Only
 * a GitSync in tenantry-system (admin-level) may name a kubeconfig Secret in another
 * namespace: a team's GitSync naming one would have the agent read a Secret the team cannot.
 * Only such a GitSync may name a targetNamespace, and only with a kubeConfig: on the agent's
 * own API server a GitSync applies in its own namespace. (`tenantry validate` holds to the same
 * rules before a push: validate/gitsync-rules.ts.)
 */
export function kubeConfigRefusal(gs: Pick<GitSync, "metadata" | "spec">): string | undefined {
  const ns = gs.metadata.namespace;
  const target = gs.spec.targetNamespace;
  const secret = kubeConfigSecretOf(gs);
  const problems: string[] = [];
  if (secret !== undefined && secret.namespace !== ns && ns !== SYSTEM_NAMESPACE) {
    problems.push(`spec.kubeConfig.secretRef names Secret ${secret.namespace}/${secret.name}, outside the GitSync's namespace ${ns}: only a GitSync in ${SYSTEM_NAMESPACE} may use a kubeconfig from another namespace; put the Secret in ${ns}, or move the GitSync to ${SYSTEM_NAMESPACE}`);
  }
  if (secret !== undefined && isClusterScoped(gs)) {
    // Without a ServiceAccount a GitSync in tenantry-system is the admin's: no lint, applied
    // with the kubeconfig's own rights, i.e. as the other control plane's admin.
    problems.push(`spec.kubeConfig is set without spec.serviceAccountName: a GitSync in ${SYSTEM_NAMESPACE} would apply into that API server as the kubeconfig's user (its admin), unchecked; set serviceAccountName and targetNamespace (the ServiceAccount and namespace it applies as there)`);
  }
  if (target !== undefined && ns !== SYSTEM_NAMESPACE) {
    problems.push(`spec.targetNamespace ${target}: only a GitSync in ${SYSTEM_NAMESPACE} may name the namespace it applies into; a GitSync in ${ns} applies into ${ns}: remove targetNamespace`);
  } else if (target !== undefined && secret === undefined) {
    problems.push(`spec.targetNamespace ${target} is set without spec.kubeConfig: on this cluster a GitSync applies in its own namespace (${ns}); remove targetNamespace, or set kubeConfig.secretRef to the kubeconfig of the API server it names`);
  }
  return problems.length === 0 ? undefined : problems.join("; ");
}

/**
 * What is wrong with a GitSync's spec.namespaces, given where the GitSync lives: [] when it may
 * apply into them. The one rule for the reconciler (namespacesRefusal) and `tenantry validate`
 * (validate/gitsync-rules.ts): only a team GitSync in its home namespace on the agent's own API
 * server (not in tenantry-system, no kubeConfig) lists extra namespaces, each a DNS label
 * `<home>-<name>` (the team's naming, model/namespaces.ts), not ending in -system, none twice.
 */
export function namespacesProblems(home: string, hasKubeConfig: boolean, namespaces: readonly string[]): string[] {
  if (namespaces.length === 0) return [];
  if (home === SYSTEM_NAMESPACE) {
    return [`spec.namespaces: a GitSync in ${SYSTEM_NAMESPACE} may not list namespaces (the admin's applies cluster-wide, a controlplane team's into its targetNamespace): remove spec.namespaces`];
  }
  if (hasKubeConfig) {
    return [`spec.namespaces: a GitSync with spec.kubeConfig applies into one namespace of another API server: remove spec.namespaces`];
  }
  const problems: string[] = [];
  for (const ns of namespaces) {
    const p = dnsLabelProblems("spec.namespaces entry", ns);
    if (p.length > 0) {
      problems.push(...p);
      continue;
    }
    if (ns === home) problems.push(`spec.namespaces lists ${ns}, the GitSync's own namespace, which it always applies into: remove it`);
    else if (!ns.startsWith(`${home}-`)) problems.push(`spec.namespaces lists ${ns}: a team's extra namespaces are named ${home}-<name> (tenantry create-team --namespaces): remove it`);
    else if (isReservedNamespace(ns)) problems.push(`spec.namespaces lists ${ns}: it is a reserved namespace (default, tenantry, kube-*, *-system): remove it`);
  }
  const dup = namespaces.filter((n, i) => namespaces.indexOf(n) !== i);
  if (dup.length > 0) problems.push(`spec.namespaces lists ${[...new Set(dup)].join(", ")} more than once: list each once`);
  return problems;
}

/** Why the agent must not follow this GitSync's spec.namespaces, or undefined (see namespacesProblems). */
export function namespacesRefusal(gs: Pick<GitSync, "metadata" | "spec">): string | undefined {
  const problems = namespacesProblems(gs.metadata.namespace, gs.spec.kubeConfig !== undefined, gs.spec.namespaces ?? []);
  return problems.length === 0 ? undefined : problems.join("; ");
}

/**
 * Every namespace a team GitSync may apply into: its team namespace (teamNamespaceOf, where
 * objects without a namespace go) first, then spec.namespaces. Only meaningful when
 * namespacesRefusal(gs) is undefined.
 */
export function applyNamespacesOf(gs: Pick<GitSync, "metadata" | "spec">): string[] {
  const home = teamNamespaceOf(gs);
  return [home, ...(gs.spec.namespaces ?? []).filter((n) => n !== home)];
}

/** The user the result is applied as, or undefined for the agent's own identity. */
export function applyIdentity(gs: Pick<GitSync, "metadata" | "spec">): string | undefined {
  const sa = gs.spec.serviceAccountName;
  if (sa !== undefined) return `system:serviceaccount:${teamNamespaceOf(gs)}:${sa}`;
  // A team GitSync without serviceAccountName is still held to its namespace's default SA:
  // outside tenantry-system nothing is ever applied with the agent's own rights.
  return gs.metadata.namespace === SYSTEM_NAMESPACE ? undefined : `system:serviceaccount:${gs.metadata.namespace}:default`;
}

/** Go-style durations as the CRD accepts them (1m, 30s, 1h30m, 500ms) in milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] ?? "s"] ?? 1000);
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`"${text}" is not a duration like 1m or 30s`);
  return total;
}

/** `main@sha1:<hash>` (Flux's revision format), or `sha1:<hash>` for a commit ref. */
export function formatRevision(ref: GitRef | undefined, sha: string): string {
  const name = ref?.tag ?? ref?.branch ?? (ref?.commit === undefined ? "main" : undefined);
  return name === undefined ? `sha1:${sha}` : `${name}@sha1:${sha}`;
}

/** The conditions after a reconcile, keeping lastTransitionTime when a status did not change. */
export function nextConditions(
  previous: readonly Condition[] | undefined,
  ready: { status: "True" | "False"; reason: string; message: string },
  generation: number | undefined,
  now: string,
): Condition[] {
  const old = new Map((previous ?? []).map((c) => [c.type, c]));
  const make = (type: ConditionType, status: Condition["status"], reason: string, message: string): Condition => {
    const before = old.get(type);
    const lastTransitionTime = before !== undefined && before.status === status ? before.lastTransitionTime : now;
    return { type, status, reason, message, lastTransitionTime, ...(generation === undefined ? {} : { observedGeneration: generation }) };
  };
  const conditions = [make("Ready", ready.status, ready.reason, ready.message)];
  // Stalled: the input itself is wrong (build or lint), retrying the same revision cannot help.
  if (ready.status === "False" && STALLING_REASONS.has(ready.reason)) {
    conditions.push(make("Stalled", "True", ready.reason, ready.message));
  }
  return conditions;
}

/** The reason of a GitSync whose spec.namespaces the agent will not follow (namespacesRefusal). */
export const NAMESPACES_REFUSED = "NamespacesRefused";

export const STALLING_REASONS = new Set(["BuildFailed", "DecryptionFailed", "PlainSecretRefused", "RemoteBaseRefused", "OutsideCheckout", "CheckoutTooLarge", "RenderTooLarge", "LintFailed", "EmptyRender", "KubeConfigRefused", NAMESPACES_REFUSED]);
