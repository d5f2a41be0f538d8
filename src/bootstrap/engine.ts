// What bootstrap needs to know about the sync engine, and nothing else: which objects sync
// the admin repo (and must end Ready), and how the engine labels and manages what it applies,
// so that bootstrap's apply of cluster/common is exactly the engine's own (the engine's
// next run changes nothing, and bootstrap's second run finds nothing to change). Pure.

import { adminSync, FLUX_NAMESPACE, isSyncEngine, type SyncEngine, type SyncObjectRef } from "../engines/engines.js";
import { MANAGED_BY_LABEL, SYNC_NAME_LABEL, SYNC_NAMESPACE_LABEL } from "../model/labels.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import type { KubeObject } from "../model/object.js";

export type EngineName = SyncEngine;
export type SyncObject = SyncObjectRef;

export interface EngineProfile {
  readonly name: EngineName;
  /** The objects that sync the admin repo; bootstrap is done when every one is Ready and current. */
  readonly adminSync: readonly SyncObject[];
  /** The admin repo's deploy-key Secret, in the shape the engine reads. */
  readonly keySecret: { readonly namespace: string; readonly name: string };
  /** The field manager the engine applies with. */
  readonly fieldManager: string;
  /** The labels the engine puts on everything it applies from the admin repo. */
  readonly labels: Readonly<Record<string, string>>;
  /** How to start the engine, for the message when the wait times out. */
  readonly startHint: string;
  /**
   * The deploy key (SHA256 fingerprint) the last successful fetch of `o` used, when the
   * engine records it: a Ready object that has not yet fetched with the current key is not done.
   */
  readonly fetchedWith?: (o: KubeObject) => string | undefined;
}

/** The labels tenantry's admin sync puts on what it applies (ownershipLabels() of GitSync tenantry-system/admin). */
const ADMIN_OWNED: Readonly<Record<string, string>> = { [MANAGED_BY_LABEL]: "tenantry", [SYNC_NAMESPACE_LABEL]: SYSTEM_NAMESPACE, [SYNC_NAME_LABEL]: "admin" };

export function engineProfile(engine: EngineName): EngineProfile {
  const sync = adminSync(engine);
  if (engine === "flux") {
    return {
      name: "flux",
      adminSync: sync.objects,
      keySecret: { namespace: sync.namespace, name: sync.secretName },
      fieldManager: "kustomize-controller",
      // kustomize-controller's own labels, and the admin Kustomization's commonMetadata (gotk-sync.yaml).
      labels: { ...ADMIN_OWNED, "kustomize.toolkit.fluxcd.io/name": FLUX_NAMESPACE, "kustomize.toolkit.fluxcd.io/namespace": FLUX_NAMESPACE },
      startHint: "check that source-controller and kustomize-controller run (kubectl -n flux-system get deploy; scripts/local-cluster.sh --with-flux locally)",
    };
  }
  return {
    name: "tenantry",
    adminSync: sync.objects,
    keySecret: { namespace: sync.namespace, name: sync.secretName },
    fieldManager: "tenantry",
    labels: ADMIN_OWNED,
    startHint: "check that the agent runs (kubectl -n tenantry-system get deploy tenantry-agent) or run one: tenantry agent --namespace tenantry-system",
    fetchedWith: (o) => (o as { status?: { keyFingerprint?: unknown } }).status?.keyFingerprint as string | undefined,
  };
}

/** The engine `tenantry.yaml` names (spec.engine; absent: tenantry). */
export function engineOf(config: object): EngineName {
  const engine = (config as { engine?: unknown }).engine;
  return isSyncEngine(engine) ? engine : "tenantry";
}

export function describeSync(s: SyncObject): string {
  return `${s.kind} ${s.namespace}/${s.name}`;
}

export interface Readiness {
  readonly done: boolean;
  /** Why not yet, in words (empty when done). */
  readonly why: string;
  readonly revision: string | null;
}

interface Conditioned {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; lastAppliedRevision?: string; artifact?: { revision?: string }; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/**
 * Pure: whether `o` (null: it does not exist) is Ready for its current spec, as Flux's
 * kstatus reads it: Ready=True and status.observedGeneration equal to metadata.generation
 * (a Ready of an older spec says nothing about this one). `key`: the fingerprint the engine
 * must have fetched with.
 */
export function readiness(profile: EngineProfile, s: SyncObject, o: KubeObject | null, key: string | undefined): Readiness {
  const what = describeSync(s);
  if (o === null) return { done: false, why: `${what} does not exist`, revision: null };
  const c = o as unknown as Conditioned;
  const revision = c.status?.lastAppliedRevision ?? c.status?.artifact?.revision ?? null;
  const ready = c.status?.conditions?.find((x) => x.type === "Ready");
  if (ready === undefined) return { done: false, why: `${what} has not been reconciled yet`, revision };
  const generation = c.metadata.generation;
  if (generation !== undefined && c.status?.observedGeneration !== generation) {
    return { done: false, why: `${what} has not been reconciled since its spec changed (generation ${String(generation)}, observed ${String(c.status?.observedGeneration ?? "none")})`, revision };
  }
  if (ready.status !== "True") return { done: false, why: `${what} is not Ready (${ready.reason ?? "no reason"}: ${ready.message ?? ""})`, revision };
  const used = profile.fetchedWith?.(o);
  if (key !== undefined && profile.fetchedWith !== undefined && used !== key) {
    return { done: false, why: `${what} is Ready but has not fetched with deploy key ${key} yet (last fetch: ${used ?? "none recorded"})`, revision };
  }
  return { done: true, why: "", revision };
}
