// What deleting a team loses beyond what Git can give back: its namespace's
// PersistentVolumeClaims (their data), its Secrets (credentials nobody may have elsewhere)
// and every object no GitSync applied (made by hand, by an operator, by the team's app),
// counted per kind. Read by `tenantry delete-team` (which refuses PVCs without --force) and
// `tenantry plan --cluster`. Pure: the namespace's live objects in, the loss out.

import type { KubeObject } from "../model/object.js";
import { SYNC_NAME_LABEL } from "../model/labels.js";

export interface TeamLoss {
  readonly namespace: string;
  /** False when the namespace does not exist in the cluster: nothing to lose there. */
  readonly exists: boolean;
  /** Names of the PersistentVolumeClaims, sorted. */
  readonly pvcs: readonly string[];
  /** Names of the Secrets, sorted. */
  readonly secrets: readonly string[];
  /** Objects without a GitSync's label (not from Git), PVCs and Secrets aside, by kind. */
  readonly notFromGit: Readonly<Record<string, number>>;
  /** Kinds that could not be listed: the loss may be larger. */
  readonly unread: readonly string[];
}

/**
 * Made by Kubernetes itself, given back when a namespace is created again: a controller's
 * objects (they have an owner, which is counted), every namespace's root CA and default
 * ServiceAccount, a Service's Endpoints.
 */
function automatic(o: KubeObject): boolean {
  const owners = (o.metadata as { ownerReferences?: unknown[] }).ownerReferences;
  if (Array.isArray(owners) && owners.length > 0) return true;
  if (o.kind === "ConfigMap" && o.metadata.name === "kube-root-ca.crt") return true;
  if (o.kind === "ServiceAccount" && o.metadata.name === "default") return true;
  return o.kind === "Endpoints" || o.kind === "Event";
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function teamLoss(live: { readonly namespace: string; readonly exists: boolean; readonly objects: readonly KubeObject[]; readonly unread: readonly string[] }): TeamLoss {
  const core = (o: KubeObject, kind: string): boolean => o.apiVersion === "v1" && o.kind === kind;
  const pvcs = live.objects.filter((o) => core(o, "PersistentVolumeClaim")).map((o) => o.metadata.name).sort(byText);
  const secrets = live.objects.filter((o) => core(o, "Secret")).map((o) => o.metadata.name).sort(byText);
  const counts: Record<string, number> = {};
  for (const o of live.objects) {
    if (core(o, "PersistentVolumeClaim") || core(o, "Secret") || automatic(o)) continue;
    if (o.metadata.labels?.[SYNC_NAME_LABEL] !== undefined) continue;
    counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  }
  const notFromGit = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => byText(a, b)));
  return { namespace: live.namespace, exists: live.exists, pvcs, secrets, notFromGit, unread: [...live.unread] };
}

/** Whether anything would be lost that Git cannot give back. */
export function losesData(loss: TeamLoss): boolean {
  return loss.pvcs.length > 0 || loss.secrets.length > 0 || Object.keys(loss.notFromGit).length > 0;
}

function names(list: readonly string[], max = 10): string {
  return list.length <= max ? list.join(", ") : `${list.slice(0, max).join(", ")}, … (${list.length - max} more)`;
}

/** The loss as lines for people (names escaped by the caller's output). */
export function lossLines(loss: TeamLoss): string[] {
  if (!loss.exists) return [`namespace ${loss.namespace} does not exist in the cluster: nothing there to lose`];
  const lines: string[] = [];
  lines.push(`PersistentVolumeClaims: ${loss.pvcs.length}${loss.pvcs.length === 0 ? "" : ` (${names(loss.pvcs)}): their volumes' data goes with them`}`);
  lines.push(`Secrets: ${loss.secrets.length}${loss.secrets.length === 0 ? "" : ` (${names(loss.secrets)})`}`);
  const kinds = Object.entries(loss.notFromGit);
  lines.push(`not from Git: ${kinds.length === 0 ? "nothing" : kinds.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  if (loss.unread.length > 0) lines.push(`not read (the loss may be larger): ${names(loss.unread)}`);
  return lines;
}
