// status and resources under the flux engine, the pure part: Flux's Kustomizations and
// GitRepositories shaped as kustomize-controller and source-controller v1.9.6 write them
// (kustomize-controller api/v1/kustomization_types.go KustomizationStatus, its
// internal/controller/kustomization_controller.go conditions and messages; source-controller's
// summarized Ready of a GitRepository; fluxcd/pkg/apis/meta's condition types).

import { describe, expect, it } from "vitest";
import { fluxInventoryEntry, isFluxSyncObject, statusCells, syncStatusRows, type SyncObject } from "../../src/views/status.js";
import { objectInfo } from "../../src/views/resources.js";
import { headerOf } from "../../src/model/gitsync.js";

const APPLIED = "0123456789abcdef0123456789abcdef01234567";
const BROKEN = "fedcba9876543210fedcba9876543210fedcba98";
const LABELS = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "team1" };
const NOW = new Date("2025-01-01T12:00:00Z");

/** Ready after applying `main@sha1:APPLIED`: Reconciling deleted, Healthy absent (no health checks). */
const kustomizationReady: SyncObject = {
  apiVersion: "kustomize.toolkit.fluxcd.io/v1",
  kind: "Kustomization",
  metadata: { name: "team1", namespace: "team1", labels: LABELS, generation: 1 },
  spec: { serviceAccountName: "team1", sourceRef: { kind: "GitRepository", name: "team1" }, path: "./", prune: true, interval: "1m" },
  status: {
    observedGeneration: 1,
    conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: `Applied revision: main@sha1:${APPLIED}`, lastTransitionTime: "2025-01-01T11:58:00Z", observedGeneration: 1 }],
    inventory: {
      entries: [
        { id: "team1_podinfo_apps_Deployment", v: "v1" },
        { id: "team1_podinfo__Service", v: "v1" },
      ],
    },
    lastAppliedRevision: `main@sha1:${APPLIED}`,
    lastAttemptedRevision: `main@sha1:${APPLIED}`,
    // kustomize-controller's reconciliation history (meta.History): not shown, kept as written.
    ...({ history: [{ digest: "sha256:1d2c", firstReconciled: "2025-01-01T11:58:00Z", lastReconciled: "2025-01-01T11:59:00Z", lastReconciledDuration: "412ms", lastReconciledStatus: "ReconciliationSucceeded", totalReconciliations: 2 }] } as object),
  },
};

/** A newer commit fails to build: Ready=False BuildFailed, Reconciling kept as ProgressingWithRetry (finalizeStatus). */
const kustomizationBroken: SyncObject = {
  ...kustomizationReady,
  status: {
    ...kustomizationReady.status,
    conditions: [
      { type: "Reconciling", status: "True", reason: "ProgressingWithRetry", message: `Building manifests for revision main@sha1:${BROKEN} with a timeout of 3m0s`, lastTransitionTime: "2025-01-01T11:59:40Z", observedGeneration: 1 },
      { type: "Ready", status: "False", reason: "BuildFailed", message: "kustomization path not found: stat /tmp/kustomization-1/apps: no such file or directory", lastTransitionTime: "2025-01-01T11:59:40Z", observedGeneration: 1 },
    ],
    lastAttemptedRevision: `main@sha1:${BROKEN}`,
  },
};

/** A cross-namespace sourceRef under --no-cross-namespace-refs: Ready=False and Stalled=True AccessDenied, nothing ever applied. */
const kustomizationDenied: SyncObject = {
  apiVersion: "kustomize.toolkit.fluxcd.io/v1",
  kind: "Kustomization",
  metadata: { name: "team2", namespace: "team2", labels: { ...LABELS, "tenantry.dev/team": "team2" } },
  spec: { serviceAccountName: "team2", sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" }, path: "./", prune: true, interval: "1m" },
  status: {
    observedGeneration: -1,
    conditions: [
      { type: "Ready", status: "False", reason: "AccessDenied", message: "can't access 'GitRepository/flux-system/flux-system', cross-namespace references have been blocked", lastTransitionTime: "2025-01-01T11:00:00Z", observedGeneration: 1 },
      { type: "Stalled", status: "True", reason: "AccessDenied", message: "can't access 'GitRepository/flux-system/flux-system', cross-namespace references have been blocked", lastTransitionTime: "2025-01-01T11:00:00Z", observedGeneration: 1 },
    ],
  },
};

/** source-controller's summarized Ready and its ArtifactInStorage condition; the artifact it stored. */
const gitRepositoryReady: SyncObject = {
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "GitRepository",
  metadata: { name: "team1", namespace: "team1", labels: LABELS },
  spec: { url: "ssh://git@git.example.com/acme/team1.git", ref: { branch: "main" }, interval: "1m", secretRef: { name: "team1-deploy-key" } },
  status: {
    observedGeneration: 1,
    conditions: [
      { type: "Ready", status: "True", reason: "Succeeded", message: `stored artifact for revision 'main@sha1:${BROKEN}'`, lastTransitionTime: "2025-01-01T11:59:30Z", observedGeneration: 1 },
      { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: `stored artifact for revision 'main@sha1:${BROKEN}'`, lastTransitionTime: "2025-01-01T11:59:30Z", observedGeneration: 1 },
    ],
    artifact: {
      revision: `main@sha1:${BROKEN}`,
      ...({ digest: "sha256:9f0e", lastUpdateTime: "2025-01-01T11:59:30Z", path: "gitrepository/team1/team1/fedcba98.tar.gz", size: 1734, url: "http://127.0.0.1:9090/gitrepository/team1/team1/fedcba98.tar.gz" } as object),
    },
  },
};

/** A GitRepository that never fetched: FetchFailed and Ready=False GitOperationFailed, no artifact. */
const gitRepositoryFailing: SyncObject = {
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "GitRepository",
  metadata: { name: "team2", namespace: "team2", labels: { ...LABELS, "tenantry.dev/team": "team2" } },
  spec: { url: "ssh://git@git.example.com/acme/team2.git", ref: { branch: "main" }, interval: "1m" },
  status: {
    observedGeneration: 1,
    conditions: [
      { type: "Reconciling", status: "True", reason: "ProgressingWithRetry", message: "building artifact", lastTransitionTime: "2025-01-01T11:00:00Z", observedGeneration: 1 },
      { type: "Ready", status: "False", reason: "GitOperationFailed", message: "failed to checkout and determine revision: unable to clone 'ssh://git@git.example.com/acme/team2.git': ssh: handshake failed: knownhosts: key is unknown", lastTransitionTime: "2025-01-01T11:00:00Z", observedGeneration: 1 },
      { type: "FetchFailed", status: "True", reason: "GitOperationFailed", message: "failed to checkout and determine revision", lastTransitionTime: "2025-01-01T11:00:00Z", observedGeneration: 1 },
    ],
  },
};

const adminKustomization: SyncObject = {
  apiVersion: "kustomize.toolkit.fluxcd.io/v1",
  kind: "Kustomization",
  metadata: { name: "flux-system", namespace: "flux-system" },
  spec: { serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "flux-system" }, path: "./", prune: true, interval: "10m" },
  status: {
    conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: `Applied revision: main@sha1:${APPLIED}`, lastTransitionTime: "2025-01-01T11:59:55Z" }],
    inventory: { entries: [{ id: "_team1__Namespace", v: "v1" }, { id: "_tenantryimagetags_templates.gatekeeper.sh_ConstraintTemplate", v: "v1" }] },
    lastAppliedRevision: `main@sha1:${APPLIED}`,
    lastAttemptedRevision: `main@sha1:${APPLIED}`,
  },
};

const namespaces = ["team1", "team2"].map((t) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: t, labels: { "tenantry.dev/team": t } } }));
const quota = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: "team1" }, status: { hard: { pods: "20" }, used: { pods: "5" } } };

describe("status under Flux", () => {
  const rows = syncStatusRows([kustomizationBroken, gitRepositoryReady, kustomizationDenied, gitRepositoryFailing, adminKustomization], namespaces, [quota], NOW);

  it("makes one row per Kustomization and GitRepository, the kind in the name cell", () => {
    expect(rows.map(statusCells)).toEqual([
      { namespace: "flux-system", name: "Kustomization/flux-system", team: "-", ready: "True", reason: "ReconciliationSucceeded", revision: "main@0123456", age: "5s", objects: "2", quota: "-" },
      { namespace: "team1", name: "GitRepository/team1", team: "team1", ready: "True", reason: "Succeeded", revision: "main@fedcba9", age: "30s", objects: "-", quota: "pods 25%" },
      { namespace: "team1", name: "Kustomization/team1", team: "team1", ready: "False", reason: "BuildFailed", revision: "main@0123456 (tried main@fedcba9)", age: "20s", objects: "2", quota: "pods 25%" },
      { namespace: "team2", name: "GitRepository/team2", team: "team2", ready: "False", reason: "GitOperationFailed", revision: "-", age: "60m", objects: "-", quota: "-" },
      { namespace: "team2", name: "Kustomization/team2", team: "team2", ready: "False", reason: "AccessDenied", revision: "-", age: "60m", objects: "-", quota: "-" },
    ]);
  });

  it("carries Ready's message, Reconciling and Stalled (only when True), both revisions", () => {
    const byId = new Map(rows.map((r) => [`${r.kind}/${r.namespace}/${r.name}`, r]));
    expect(byId.get("Kustomization/team1/team1")).toMatchObject({
      message: "kustomization path not found: stat /tmp/kustomization-1/apps: no such file or directory",
      reconciling: { reason: "ProgressingWithRetry", message: `Building manifests for revision main@sha1:${BROKEN} with a timeout of 3m0s` },
      stalled: null,
      lastAppliedRevision: `main@sha1:${APPLIED}`,
      lastAttemptedRevision: `main@sha1:${BROKEN}`,
    });
    expect(byId.get("Kustomization/team2/team2")).toMatchObject({
      stalled: { reason: "AccessDenied", message: "can't access 'GitRepository/flux-system/flux-system', cross-namespace references have been blocked" },
      reconciling: null,
      lastAppliedRevision: null,
      lastAttemptedRevision: null,
    });
    // A GitRepository's revision is its stored artifact's.
    expect(byId.get("GitRepository/team1/team1")).toMatchObject({ lastAppliedRevision: `main@sha1:${BROKEN}`, lastAttemptedRevision: null, objects: null });
    expect(byId.get("GitRepository/team2/team2")).toMatchObject({ stalled: null, reconciling: { reason: "ProgressingWithRetry", message: "building artifact" } });
  });

  it("tells Flux's sync objects from kustomize's own Kustomization and from GitSyncs", () => {
    expect([kustomizationReady, gitRepositoryReady].every(isFluxSyncObject)).toBe(true);
    expect(isFluxSyncObject({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" })).toBe(false);
    expect(isFluxSyncObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync" })).toBe(false);
    // An abnormal-true condition written as False is no stall.
    const notStalled = syncStatusRows([{ ...kustomizationReady, status: { conditions: [{ type: "Stalled", status: "False", reason: "", message: "" }] } }], [], [], NOW);
    expect(notStalled[0]?.stalled).toBeNull();
  });

  it("reads a Flux inventory entry (version only in v) as the admin GitSync's", () => {
    const entries = (adminKustomization.status?.inventory?.entries ?? []) as { id: string; v: string }[];
    expect(entries.map(fluxInventoryEntry).map(headerOf)).toEqual([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "team1" } },
      { apiVersion: "templates.gatekeeper.sh/v1", kind: "ConstraintTemplate", metadata: { name: "tenantryimagetags" } },
    ]);
    expect(fluxInventoryEntry({ id: "team1_web_apps_Deployment", v: "apps/v1" })).toEqual({ id: "team1_web_apps_Deployment", v: "apps/v1" });
  });
});

describe("resources under Flux", () => {
  it("says each sync object's state in one phrase", () => {
    expect(objectInfo(kustomizationReady)).toBe("Ready=True ReconciliationSucceeded main@0123456");
    expect(objectInfo(kustomizationBroken)).toBe("Ready=False BuildFailed reconciling main@0123456 tried main@fedcba9");
    expect(objectInfo(kustomizationDenied)).toBe("Ready=False AccessDenied stalled");
    expect(objectInfo(gitRepositoryReady)).toBe("Ready=True Succeeded main@fedcba9");
    expect(objectInfo(gitRepositoryFailing)).toBe("Ready=False GitOperationFailed reconciling");
    expect(objectInfo({ ...kustomizationReady, status: {} })).toBe("");
  });
});
