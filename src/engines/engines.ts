// The sync engines: what an admin repo renders for tenantry's own agent (GitSync) or for Flux
// (source-controller and kustomize-controller), and the names each engine's admin sync uses.
// Pure: the vendored Flux components come in as text (generate/ reads vendor/flux/).
//
// Tenancy is the same under both (namespaces, RBAC, quota, limits, network policies, policy
// bindings, the admin-owned marker, tombstones); only the sync objects, and the policies that
// guard tenantry's own team agent, differ. docs/engines.md pins the shapes.

import { DEFAULT_SYNC_ENGINE, SYNC_ENGINES, type SyncEngine } from "../model/constants.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import type { FileTree } from "../render/engine.js";
import { FLUX_SYSTEM_DIR } from "../render/sync-engine.js";

export { DEFAULT_SYNC_ENGINE, SYNC_ENGINES, type SyncEngine };
export { fluxUrlProblems } from "../model/cluster-config.js";
export { engineOnlyPaths, FLUX_LOCKDOWN_FLAGS, FLUX_SYSTEM_DIR, rendersFor } from "../render/sync-engine.js";

import { FLUX_NAMESPACE, FLUX_PRUNE_ANNOTATION, FLUX_PRUNE_DISABLED } from "../model/constants.js";
export { FLUX_NAMESPACE, FLUX_PRUNE_ANNOTATION, FLUX_PRUNE_DISABLED };

/** Where an admin repo on Flux holds the vendored components (copied verbatim). */
export const FLUX_COMPONENTS_FILE = `${FLUX_SYSTEM_DIR}/gotk-components.yaml`;
/** The vendored components in tenantry's package (scripts/vendor-flux.mjs writes them). */
export const FLUX_COMPONENTS_SOURCE = "vendor/flux/gotk-components.yaml";


export interface SyncObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** The objects that sync the admin repo, and where its deploy key lives. */
export interface AdminSync {
  readonly engine: SyncEngine;
  readonly namespace: string;
  /** The admin deploy key's Secret (in `namespace`), in the shape the engine reads. */
  readonly secretName: string;
  readonly objects: readonly SyncObjectRef[];
}

const ADMIN_SYNCS: Readonly<Record<SyncEngine, AdminSync>> = {
  tenantry: {
    engine: "tenantry",
    namespace: SYSTEM_NAMESPACE,
    secretName: "admin-deploy-key",
    objects: [{ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", namespace: SYSTEM_NAMESPACE, name: "admin" }],
  },
  flux: {
    engine: "flux",
    namespace: FLUX_NAMESPACE,
    secretName: FLUX_NAMESPACE,
    objects: [
      { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", namespace: FLUX_NAMESPACE, name: FLUX_NAMESPACE },
      { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", namespace: FLUX_NAMESPACE, name: FLUX_NAMESPACE },
    ],
  },
};

export function adminSync(engine: SyncEngine): AdminSync {
  return ADMIN_SYNCS[engine];
}

export function isSyncEngine(value: unknown): value is SyncEngine {
  return typeof value === "string" && (SYNC_ENGINES as readonly string[]).includes(value);
}

/**
 * The admin repo's engine files that are no template: under Flux the vendored components,
 * verbatim (not normalised: `scripts/vendor-flux.mjs --check` compares them byte for byte).
 * `components` is required for Flux; null for tenantry.
 */
export function engineFiles(engine: SyncEngine, components: string | null): FileTree {
  if (engine === "tenantry") return new Map();
  if (components === null) throw new Error("the Flux components are needed to render an admin repo on Flux");
  return new Map([[FLUX_COMPONENTS_FILE, components]]);
}

/** The rendered admin repo with the engine's non-template files, sorted by path. */
export function withEngineFiles(rendered: FileTree, engine: SyncEngine, components: string | null): FileTree {
  return new Map([...rendered, ...engineFiles(engine, components)].sort(([a], [b]) => a.localeCompare(b)));
}
