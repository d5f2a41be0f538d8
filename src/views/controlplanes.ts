// `tenantry status`, the control planes of controlplane teams (KubeFlex's ControlPlanes on the
// host), the pure part: one row per ControlPlane (type, Ready and why, age of its last
// transition, whether its PostCreateHooks ran, the Secret the CLI reads its kubeconfig from).

import { type ControlPlaneObject, kubeconfigSecretRef, type ReadFrom, readyCondition } from "../cluster/controlplane-access.js";
import { TEAM_LABEL } from "../model/labels.js";
import { humanDuration } from "./status.js";

export interface ControlPlaneRow {
  readonly name: string;
  readonly team: string;
  readonly type: string | null;
  readonly backend: string | null;
  readonly ready: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string | null;
  readonly age: string | null;
  /** status.postCreateHookCompleted: the team's baseline was laid (null before KubeFlex said). */
  readonly hooksCompleted: boolean | null;
  /** The Secret (namespace/name) the CLI reads its kubeconfig from. */
  readonly secret: string;
}

export function controlPlaneRows(cps: readonly ControlPlaneObject[], now: Date): ControlPlaneRow[] {
  return cps
    .map((cp): ControlPlaneRow => {
      const ready = readyCondition(cp);
      const since = ready?.lastTransitionTime === undefined ? NaN : Date.parse(ready.lastTransitionTime);
      const ref = kubeconfigSecretRef(cp);
      return {
        name: cp.metadata.name,
        team: cp.metadata.labels?.[TEAM_LABEL] ?? cp.metadata.name,
        type: cp.spec?.type ?? null,
        backend: cp.spec?.backend ?? null,
        ready: ready?.status ?? "Unknown",
        reason: ready?.reason ?? (cp.status === undefined ? "NotReconciled" : ""),
        message: ready?.message ?? "",
        lastTransitionTime: ready?.lastTransitionTime ?? null,
        age: Number.isNaN(since) ? null : humanDuration(now.getTime() - since),
        hooksCompleted: typeof cp.status?.postCreateHookCompleted === "boolean" ? cp.status.postCreateHookCompleted : null,
        secret: `${ref.namespace}/${ref.name}`,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export const CONTROLPLANE_COLUMNS = ["controlplane", "team", "type", "ready", "reason", "age", "baseline", "kubeconfig"] as const;

export function controlPlaneCells(r: ControlPlaneRow): Record<(typeof CONTROLPLANE_COLUMNS)[number], string> {
  return {
    controlplane: r.name,
    team: r.team,
    type: r.type ?? "-",
    ready: r.ready,
    reason: r.reason === "" ? "-" : r.reason,
    age: r.age ?? "-",
    baseline: r.hooksCompleted === null ? "-" : r.hooksCompleted ? "applied" : "pending",
    kubeconfig: r.secret,
  };
}

/** Where a view of a controlplane team read, for people: the ControlPlane, its API server and the Secret. */
export function readFromLine(r: ReadFrom): string {
  return r.controlPlane === undefined
    ? `read from namespace ${r.namespace} at ${r.server}`
    : `read from namespace ${r.namespace} in the API server of ControlPlane ${r.controlPlane} (${r.server}, kubeconfig from Secret ${r.secret ?? "?"})`;
}
