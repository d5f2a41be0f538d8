// `tenantry plan` end to end: render both refs, plan, and with --cluster ask the live
// cluster about head. The only part of plan/ that composes I/O.

import type { KubeAccess } from "../cluster/access.js";
import { type KubeObject, objectId } from "../model/object.js";
import type { GitSync } from "../model/gitsync.js";
import { buildPlan, type ClusterCheck, type Plan, withClusterCheck } from "../plan/plan.js";
import { renderRefs } from "./refs.js";
import { teamFactsAt } from "./team-facts.js";
import { clusterDirOf } from "../model/names.js";
import type { NetworkDelta } from "../model/network.js";
import type { RenderedRefs } from "./refs.js";

export interface PlanOptions {
  /** The admin repo's root (where tenantry.yaml is). */
  readonly root: string;
  readonly base: string;
  readonly head: string;
  /** Dry-run head against the cluster of `kubeconfig`. */
  readonly cluster: boolean;
  readonly kubeconfig?: string | undefined;
}

/**
 * The live cluster's answer to `head`. The reconciler labels what it applies with its
 * GitSync (the admin repo's, in tenantry-system): the dry run applies the same labels, or
 * every object would show them as drift.
 */
async function askCluster(kc: KubeAccess, head: readonly KubeObject[], removed: readonly KubeObject[]): Promise<ClusterCheck> {
  const [{ checkCluster }, { isClusterScoped }, { ownershipLabels }] = await Promise.all([
    import("./cluster-check.js"),
    import("../model/gitsync.js"),
    import("../model/labels.js"),
  ]);
  const admin = head.find((o): o is GitSync => o.kind === "GitSync" && isClusterScoped(o as GitSync));
  return checkCluster(kc, head, removed, { labels: admin === undefined ? {} : ownershipLabels(admin) });
}

/**
 * Who reaches whom, base to head, for the namespaces whose NetworkPolicies, labels or agent
 * pods changed (their rows and columns only); null, without running the analyzer, when none did.
 * Teams whose overlay was not built (nothing in it changed) are modelled as create-team
 * renders them.
 */
async function networkChange(rendered: RenderedRefs): Promise<NetworkDelta | null> {
  const [{ changedNamespaces }] = await Promise.all([import("../network/changes.js")]);
  const base = rendered.base.objects.map((p) => p.object);
  const head = rendered.head.objects.map((p) => p.object);
  const changed = changedNamespaces(base, head);
  if (changed.length === 0) return null;
  const [{ analyzeNetwork }, { networkDelta }] = await Promise.all([import("../network/analyze.js"), import("../network/diff.js")]);
  const focus = new Set(changed);
  const [before, after] = await Promise.all([
    analyzeNetwork(base, { teams: rendered.base.teams, focus }),
    analyzeNetwork(head, { teams: rendered.head.teams, focus }),
  ]);
  return networkDelta(before, after, changed);
}

export async function runPlan(o: PlanOptions): Promise<Plan> {
  // The Kubernetes client is loaded only for --cluster, and a bad kubeconfig fails before
  // anything is rendered.
  const kc = o.cluster ? (await import("../cluster/access.js")).loadAccess(o.kubeconfig) : null;
  const rendered = await renderRefs(o.root, o.base, o.head, { allHead: kc !== null });
  // The teams the change reaches, then what create-team renders for them at head.
  // (by label, and by the overlay a changed object's file sits in, labelled or not).
  const first = buildPlan(rendered.base, rendered.head);
  const overlays = first.changes.map((c) => clusterDirOf(c.file)).filter((t) => t !== undefined);
  const reached = [...new Set([...first.summary.teamsAffected, ...overlays])].filter((t) => rendered.head.teams.includes(t));
  const [facts, network] = await Promise.all([teamFactsAt(o.root, rendered.head.commit, reached), networkChange(rendered)]);
  const plan = buildPlan(rendered.base, rendered.head, facts, network);
  if (kc === null || rendered.headAll === null) return plan;
  const head = rendered.headAll.map((p) => p.object);
  const headIds = new Set(head.map(objectId));
  const removed = rendered.base.objects.map((p) => p.object).filter((b) => !headIds.has(objectId(b)));
  return withClusterCheck(plan, await askCluster(kc, head, removed));
}
