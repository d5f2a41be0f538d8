// `tenantry plan` end to end: render both refs, plan, and with --cluster ask the live
// cluster about head. The only part of plan/ that composes I/O.

import type { KubeAccess } from "../cluster/access.js";
import { type KubeObject, objectId } from "../model/object.js";
import type { GitSync } from "../model/gitsync.js";
import { buildPlan, type ClusterCheck, type Plan, type TeamFacts, withClusterCheck, withTeamLosses } from "../plan/plan.js";
import { renderRefs } from "./refs.js";
import { teamFactsAt } from "./team-facts.js";
import { clusterDirOf } from "../model/names.js";
import type { NetworkDelta, NetworkMatrix } from "../model/network.js";
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

/** The network matrices of both refs, for the namespaces whose network changed. */
interface NetworkMatrices {
  readonly changed: readonly string[];
  readonly before: NetworkMatrix;
  readonly after: NetworkMatrix;
  /** Teams whose policies were not read (not built, and create-team's render unknown). */
  readonly unread: ReadonlySet<string>;
}

const NETWORK_KINDS = new Set(["Namespace", "NetworkPolicy", "Deployment", "StatefulSet", "DaemonSet"]);

/**
 * Who reaches whom, base and head, for the namespaces whose NetworkPolicies, labels or agent
 * pods changed (their rows and columns only); null, without running the analyzer, when none did.
 * Both refs are modelled with the same witnesses and ports (each side's model takes the
 * other's policies into account). What plan did not build is modelled as generated, at both
 * refs: a team whose overlay was not built (nothing in it changed) as create-team renders it
 * (its policies included), tenantry-system, when cluster/common was not built, as init
 * renders it. A namespace is read when it is built or when a built NetworkPolicy lands in it
 * (a policy in another team's overlay).
 */
async function networkMatrices(root: string, rendered: RenderedRefs): Promise<NetworkMatrices | null> {
  const [{ changedNamespaces }, { isNetworkPolicy, SYSTEM_NAMESPACE }] = await Promise.all([import("../network/changes.js"), import("../network/model.js")]);
  const base = rendered.base.objects.map((p) => p.object);
  const head = rendered.head.objects.map((p) => p.object);
  const changed = changedNamespaces(base, head);
  if (changed.length === 0) return null;
  const built = new Set([...rendered.base.objects, ...rendered.head.objects].map((p) => clusterDirOf(p.file)));
  const landed = new Set([...base, ...head].filter(isNetworkPolicy).map((p) => p.metadata.namespace ?? "default"));
  const unbuilt = [...new Set([...rendered.base.teams, ...rendered.head.teams])].filter((t) => !built.has(t));
  const { teamFactsAt, renderedSystemNetwork } = await import("./team-facts.js");
  const [facts, system] = await Promise.all([
    teamFactsAt(root, rendered.head.commit, unbuilt, { only: ["namespace.yaml", "network-policies.yaml", "sync.yaml"] }),
    [...base, ...head].some((o) => o.kind === "Namespace" && o.metadata.name === SYSTEM_NAMESPACE) ? Promise.resolve([]) : renderedSystemNetwork(root, rendered.head.commit),
  ]);
  const generated: KubeObject[] = [...system];
  const unread = new Set<string>();
  for (const t of unbuilt) {
    const g = facts.get(t)?.generated;
    if (g === null || g === undefined) {
      if (!landed.has(t)) unread.add(t);
      continue;
    }
    generated.push(...[...g.values()].filter((o) => NETWORK_KINDS.has(o.kind)));
  }
  // Never twice: an object built at a ref wins over the generated one.
  const withGenerated = (objects: readonly KubeObject[]): KubeObject[] => {
    const ids = new Set(objects.map(objectId));
    return [...objects, ...generated.filter((o) => !ids.has(objectId(o)))];
  };
  const [b, h] = [withGenerated(base), withGenerated(head)];
  const teamsOf = (side: RenderedRefs["base"]): string[] => side.teams.filter((t) => unread.has(t));
  const { analyzeNetwork } = await import("../network/analyze.js");
  const focus = new Set(changed);
  const [before, after] = await Promise.all([
    analyzeNetwork(b, { teams: teamsOf(rendered.base), focus, alsoPolicies: h.filter(isNetworkPolicy) }),
    analyzeNetwork(h, { teams: teamsOf(rendered.head), focus, alsoPolicies: b.filter(isNetworkPolicy) }),
  ]);
  return { changed, before, after, unread };
}

/** The matrices' difference; a new peer's pairs against what the tenancy lets it have (team.yaml's --allow-from at head). */
async function networkChange(m: NetworkMatrices | null, facts: ReadonlyMap<string, TeamFacts>): Promise<NetworkDelta | null> {
  if (m === null) return null;
  const { networkDelta } = await import("../network/diff.js");
  const allowFrom = new Map([...facts].map(([team, f]) => [team, f.allowFrom]));
  return networkDelta(m.before, m.after, m.changed, { allowFrom, unread: m.unread });
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
  // create-team's render is compared only with the objects of the plan, each counted as the
  // team's whose overlay holds its file, or whose label it carries (risks.ts notAsGenerated):
  // a change to a shared template reaches every team, but renders none of them.
  const compared = new Set([...overlays, ...first.changes.filter((c) => c.scope === "team").flatMap((c) => c.teams)]);
  const [facts, matrices] = await Promise.all([teamFactsAt(o.root, rendered.head.commit, reached, { rendered: compared }), networkMatrices(o.root, rendered)]);
  const plan = buildPlan(rendered.base, rendered.head, facts, await networkChange(matrices, facts));
  if (kc === null || rendered.headAll === null) return plan;
  const head = rendered.headAll.map((p) => p.object);
  const headIds = new Set(head.map(objectId));
  const removed = rendered.base.objects.map((p) => p.object).filter((b) => !headIds.has(objectId(b)));
  const checked = withClusterCheck(plan, await askCluster(kc, head, removed));
  // What deleting a team (or a team's extra namespace) loses, read from its live namespace (delete-team says the same).
  const gone = [...new Set([...plan.teams.removed, ...(plan.risks.find((r) => r.kind === "team-removed")?.objects ?? []).map((o) => /^Namespace\/(.+)$/.exec(o.object)?.[1]).filter((n): n is string => n !== undefined)])];
  if (gone.length === 0) return checked;
  const [{ namespaceContents }, { teamLoss }] = await Promise.all([import("../cluster/namespace-contents.js"), import("../plan/team-loss.js")]);
  const losses = await Promise.all(gone.map(async (ns) => [ns, teamLoss(await namespaceContents(kc, ns))] as const));
  return withTeamLosses(checked, new Map(losses));
}
