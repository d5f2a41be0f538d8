// The plan: what changes between two renders of an admin repo, for which teams, and what
// gets weaker. Pure, like changesets' assemble-release-plan: objects in, a Plan out; the
// renders come from source.ts, the live cluster's answer from cluster.ts.
//
// Identity is objectId (namespace, name, group, kind). A change is team-scoped when the
// object carries tenantry.dev/team, cluster-wide otherwise (cluster/common). A cluster-wide
// change reaches the teams it names (a binding's team subjects, a team's namespace or
// `<team>-` name) or, when it names none (a shared ClusterRole, a CRD, a policy template),
// every team in base or head.

import { describeObject, type KubeObject, objectId } from "../model/object.js";
import { canonicalJson, canonicalYaml, unifiedDiff } from "./diff.js";
import { addFinding, type Findings, type Pair, RISK_KINDS, RISK_TITLES, type RiskKind, riskFindings, type TeamFacts, text } from "./risks.js";

export type { TeamFacts };
import { TEAM_LABEL } from "../model/labels.js";
import type { NetworkDelta } from "../model/network.js";
import { isTombstonesConfigMap, TEAM_KIND, type Tombstone, TOMBSTONES_FILE, tombstonesOfRender } from "../model/tombstones.js";
import { CONTROLPLANE_KIND, KFLEX_API_VERSION } from "../model/controlplane.js";
import { lossLines, type TeamLoss } from "./team-loss.js";
import { isFluxKustomization } from "./flux.js";

/** An object of a render and the repo file it came from. */
export interface PlanObject {
  readonly object: KubeObject;
  readonly file: string | null;
}

/** One side of the comparison. */
export interface PlanSide {
  readonly ref: string;
  readonly commit: string;
  /** The teams listed in cluster/teams at this ref. */
  readonly teams: readonly string[];
  readonly objects: readonly PlanObject[];
}

export type ChangeAction = "added" | "changed" | "removed";

export interface ObjectChange {
  readonly action: ChangeAction;
  /** `Kind/namespace/name`. */
  readonly object: string;
  readonly apiVersion: string;
  readonly file: string | null;
  readonly scope: "cluster-wide" | "team";
  readonly teams: readonly string[];
  /** Unified diff of the canonical YAML, base to head. */
  readonly diff: string;
}

export interface RiskFinding {
  readonly object: string;
  readonly reasons: readonly string[];
}

export interface RiskFlag {
  readonly kind: RiskKind;
  readonly title: string;
  readonly objects: readonly RiskFinding[];
}

export interface DriftField {
  readonly path: string;
  /** The live value; null when the live object lacks the field. */
  readonly live: unknown;
  /** The value after applying head; null when head removes it. */
  readonly head: unknown;
}

export type ClusterOutcome = "create" | "update" | "unchanged" | "prune" | "refused" | "unchecked";

export interface ClusterResult {
  readonly object: string;
  readonly outcome: ClusterOutcome;
  readonly message: string | null;
  readonly drift: readonly DriftField[];
}

/** The live cluster's answer to head: a server-side dry run of every object. */
export interface ClusterCheck {
  readonly checked: number;
  readonly counts: Readonly<Record<ClusterOutcome, number>>;
  /** Every result but `unchanged`, in apply order. */
  readonly results: readonly ClusterResult[];
}

export interface Plan {
  readonly base: { readonly ref: string; readonly commit: string };
  readonly head: { readonly ref: string; readonly commit: string };
  readonly summary: {
    readonly added: number;
    readonly changed: number;
    readonly removed: number;
    readonly clusterWide: number;
    readonly teamsAffected: readonly string[];
    readonly riskFlags: number;
  };
  readonly teams: { readonly added: readonly string[]; readonly removed: readonly string[] };
  /**
   * The owners of each team the change reaches (team.yaml at head): asked to look, while only
   * the platform team's approval counts (they are never code owners of their own overlay).
   */
  readonly owners: readonly { readonly team: string; readonly owners: readonly string[] }[];
  readonly risks: readonly RiskFlag[];
  readonly changes: readonly ObjectChange[];
  readonly cluster: ClusterCheck | null;
  /** Who reaches whom, base to head (tenantry-netcheck); null when no NetworkPolicy or Namespace label changed, or not asked. */
  readonly network: NetworkDelta | null;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(byText);
}

/** The teams a cluster-wide object names, if any (see the top). */
function namedTeams(o: KubeObject, teams: ReadonlySet<string>): string[] {
  const named = new Set<string>();
  const ns = o.metadata.namespace;
  if (ns !== undefined && teams.has(ns)) named.add(ns);
  if (o.kind === "Namespace" && teams.has(o.metadata.name)) named.add(o.metadata.name);
  for (const t of teams) if (o.metadata.name.startsWith(`${t}-`)) named.add(t);
  if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
    for (const s of Array.isArray(o.subjects) ? (o.subjects as Record<string, unknown>[]) : []) {
      const name = text(s.name);
      const team =
        s.kind === "ServiceAccount"
          ? text(s.namespace, ns ?? "")
          : (/^tenantry:team:(.+)$/.exec(name)?.[1] ?? /^system:serviceaccounts?:([^:]+)/.exec(name)?.[1]);
      if (team !== undefined && teams.has(team)) named.add(team);
    }
  }
  return sorted(named);
}

/** Kinds of a tombstone that names a team's home: the Team, its Namespace, its ControlPlane. */
const TEAM_HOME_KINDS = new Set([TEAM_KIND, "Namespace", CONTROLPLANE_KIND]);

/** The teams a cluster-wide change reaches: those it names, else every team; the tombstones reach only the teams they record. */
function reachedTeams(o: KubeObject, teams: ReadonlySet<string>, all: readonly string[]): readonly string[] {
  if (isTombstonesConfigMap(o)) return sorted(tombstonesOfRender([o]).tombstones.filter((t) => TEAM_HOME_KINDS.has(t.kind) && (t.namespace ?? "") === "" && teams.has(t.name)).map((t) => t.name));
  const named = namedTeams(o, teams);
  return named.length > 0 ? named : all;
}

function teamOf(o: KubeObject): string | undefined {
  return o.metadata.labels?.[TEAM_LABEL];
}

function diffOf(base: KubeObject | null, head: KubeObject | null): string {
  return unifiedDiff(base === null ? "" : canonicalYaml(base), head === null ? "" : canonicalYaml(head));
}

function indexed(objects: readonly PlanObject[]): Map<string, PlanObject> {
  return new Map(objects.map((o) => [objectId(o.object), o]));
}

function flagsOf(findings: Findings): RiskFlag[] {
  return RISK_KINDS.filter((k) => findings.has(k)).map((kind) => ({
    kind,
    title: RISK_TITLES[kind],
    objects: [...(findings.get(kind) ?? new Map<string, string[]>())]
      .sort(([a], [b]) => byText(a, b))
      .map(([object, reasons]) => ({ object, reasons })),
  }));
}

const SCOPE_RANK = { "cluster-wide": 0, team: 1 } as const;

/**
 * The plan from `base` to `head`. With `facts` (what create-team renders for the teams the
 * change reaches, at head), objects it does not render or renders otherwise are flagged and
 * the teams' owners named. With `network` (the analyzer's difference, or null when no
 * network input changed), network-loosened comes from it instead of the policies' text.
 */
export function buildPlan(base: PlanSide, head: PlanSide, facts?: ReadonlyMap<string, TeamFacts>, network?: NetworkDelta | null): Plan {
  const before = indexed(base.objects);
  const after = indexed(head.objects);
  const allTeams = sorted([...base.teams, ...head.teams]);
  const teamSet = new Set(allTeams);
  const addedTeams = sorted(head.teams.filter((t) => !base.teams.includes(t)));
  const removedTeams = sorted(base.teams.filter((t) => !head.teams.includes(t)));
  const changes: ObjectChange[] = [];
  const pairs: Pair[] = [];
  for (const id of sorted([...before.keys(), ...after.keys()])) {
    const b = before.get(id)?.object ?? null;
    const h = after.get(id)?.object ?? null;
    const o = (h ?? b) as KubeObject;
    if (b !== null && h !== null && canonicalJson(b) === canonicalJson(h)) continue;
    const file = (after.get(id) ?? before.get(id))?.file ?? null;
    pairs.push({ base: b, head: h, file });
    const team = teamOf(o);
    changes.push({
      action: b === null ? "added" : h === null ? "removed" : "changed",
      object: describeObject(o),
      apiVersion: o.apiVersion,
      file,
      scope: team === undefined ? "cluster-wide" : "team",
      teams: team !== undefined ? [team] : reachedTeams(o, teamSet, allTeams),
      diff: diffOf(b, h),
    });
  }
  changes.sort((x, y) => SCOPE_RANK[x.scope] - SCOPE_RANK[y.scope] || byText(x.teams.join(","), y.teams.join(",")) || byText(x.object, y.object));
  const removedNamespaces = new Set(
    pairs.filter((p) => p.head === null && p.base?.kind === "Namespace").map((p) => (p.base as KubeObject).metadata.name),
  );
  const { tombstones } = tombstonesOfRender(head.objects.map((o) => o.object));
  // A Team's tombstone asks for its home namespace, a Namespace's for that one.
  const tombstoned = new Set(tombstones.filter((t) => t.kind === TEAM_KIND || t.kind === "Namespace").map((t) => t.name));
  const moves = isolationMoves(base, head);
  const findings = riskFindings(pairs, { teams: teamSet, addedTeams: new Set(addedTeams), removedTeams: new Set(removedTeams), removedNamespaces, tombstoned, movedTeams: new Set(moves.keys()), ...(facts === undefined ? {} : { facts }), ...(network === undefined ? {} : { network }) });
  for (const [t, to] of moves) {
    const left = to === "controlplane" ? "Namespace" : CONTROLPLANE_KIND;
    const released = tombstones.find((x) => (x.kind === left || x.kind === TEAM_KIND) && (x.namespace ?? "") === "" && x.name === t);
    addFinding(findings, "isolation-changed", `${left}/${t}`, moveReason(t, to, released));
  }
  const teamNamespace = (t: string): string => `Namespace/${t}`;
  for (const t of addedTeams) {
    const n = head.objects.filter((o) => teamOf(o.object) === t && !before.has(objectId(o.object))).length;
    addFinding(findings, "team-added", teamNamespace(t), `team ${t} added: ${n} object${n === 1 ? "" : "s"} created`);
  }
  for (const t of removedTeams) {
    const gone = base.objects.filter((o) => teamOf(o.object) === t && !after.has(objectId(o.object)));
    // Synced by Flux: the overlay held the team's Flux Kustomization (plan builds only the units a change touches).
    const flux = gone.some(({ object: o }) => isFluxKustomization(o));
    const controlPlane = gone.some(({ object: o }) => isTeamControlPlane(o, t));
    addFinding(findings, "team-removed", teamNamespace(t), controlPlane ? removedControlPlaneReason(t, gone.length, tombstones.find((x) => x.kind === TEAM_KIND && x.name === t)) : removedReason(t, gone.length, tombstones.find((x) => x.kind === TEAM_KIND && x.name === t), flux));
  }
  for (const p of pairs) extraNamespaceRemoved(findings, p, { head, after, base, moves, tombstones });
  const risks = flagsOf(findings);
  const teamsAffected = sorted(changes.flatMap((c) => c.teams));
  const owners = teamsAffected.map((team) => ({ team, owners: [...(facts?.get(team)?.owners ?? [])] })).filter((o) => o.owners.length > 0);
  return {
    base: { ref: base.ref, commit: base.commit },
    head: { ref: head.ref, commit: head.commit },
    summary: {
      added: changes.filter((c) => c.action === "added").length,
      changed: changes.filter((c) => c.action === "changed").length,
      removed: changes.filter((c) => c.action === "removed").length,
      clusterWide: changes.filter((c) => c.scope === "cluster-wide").length,
      teamsAffected,
      riskFlags: risks.length,
    },
    teams: { added: addedTeams, removed: removedTeams },
    owners,
    risks,
    changes,
    cluster: null,
    network: network ?? null,
  };
}

/**
 * A team's extra namespace (create-team --namespaces) removed while the team stays: flagged
 * like a removed team, with its tombstone (Namespace <team>-<name>) or the lack of one, since
 * the reconciler deletes it and everything in it only when the tombstone asks.
 */
function extraNamespaceRemoved(
  findings: Findings,
  p: Pair,
  sides: { readonly base: PlanSide; readonly head: PlanSide; readonly after: ReadonlyMap<string, unknown>; readonly moves: ReadonlyMap<string, unknown>; readonly tombstones: readonly Tombstone[] },
): void {
  const b = p.base;
  if (p.head !== null || b === null || b.apiVersion !== "v1" || b.kind !== "Namespace") return;
  const name = b.metadata.name;
  const team = b.metadata.labels?.[TEAM_LABEL];
  if (team === undefined || name === team || !sides.head.teams.includes(team) || sides.moves.has(team)) return;
  const n = sides.base.objects.filter((o) => o.object.metadata.namespace === name && !sides.after.has(objectId(o.object))).length;
  const tombstone = sides.tombstones.find((x) => x.kind === "Namespace" && (x.namespace ?? "") === "" && x.name === name);
  const objects = `${n} object${n === 1 ? "" : "s"}`;
  addFinding(
    findings,
    "team-removed",
    `Namespace/${name}`,
    tombstone === undefined
      ? `namespace ${name} of team ${team} removed without a tombstone: the reconciler keeps it, its ${objects} and everything else in it, and reports TeamDeletionNotRequested; to delete it, run tenantry create-team ${team} --namespaces with the namespaces that stay (it records the tombstone)`
      : `namespace ${name} of team ${team} removed (tombstone in ${TOMBSTONES_FILE} by ${tombstone.by} at ${tombstone.deletedAt}): its ${objects} will be pruned, and with its Namespace everything else in namespace ${name}`,
  );
}

/** Whether `o` is team `team`'s KubeFlex ControlPlane (its own API server). */
function isTeamControlPlane(o: KubeObject, team: string): boolean {
  return o.apiVersion === KFLEX_API_VERSION && o.kind === CONTROLPLANE_KIND && o.metadata.name === team;
}

/** Whether `o` is team `team`'s Namespace on this cluster. */
function isTeamNamespace(o: KubeObject, team: string): boolean {
  return o.apiVersion === "v1" && o.kind === "Namespace" && o.metadata.name === team && o.metadata.labels?.[TEAM_LABEL] === team;
}

/**
 * Teams in both base and head whose home moved: from Namespace <team> to ControlPlane <team>
 * ("controlplane"), or back ("namespace"). By the objects, not team.yaml: what the cluster gets.
 */
function isolationMoves(base: PlanSide, head: PlanSide): Map<string, "namespace" | "controlplane"> {
  const moves = new Map<string, "namespace" | "controlplane">();
  const has = (side: PlanSide, test: (o: KubeObject) => boolean): boolean => side.objects.some((o) => test(o.object));
  for (const t of sorted(base.teams.filter((x) => head.teams.includes(x)))) {
    const nsBefore = has(base, (o) => isTeamNamespace(o, t));
    const nsAfter = has(head, (o) => isTeamNamespace(o, t));
    const cpBefore = has(base, (o) => isTeamControlPlane(o, t));
    const cpAfter = has(head, (o) => isTeamControlPlane(o, t));
    if (nsBefore && !nsAfter && cpAfter && !cpBefore) moves.set(t, "controlplane");
    else if (cpBefore && !cpAfter && nsAfter && !nsBefore) moves.set(t, "namespace");
  }
  return moves;
}

/** What a team's move costs: its old home goes (once a tombstone asks), the new one starts empty. */
function moveReason(team: string, to: "namespace" | "controlplane", released: Tombstone | undefined): string {
  const key = `its deploy key must be made again where the new GitSync reads it (tenantry keys create ${team})`;
  const fresh = "the team's workloads and data are not moved: the new home starts with the baseline only, and the team's repo is applied there afresh";
  if (to === "controlplane") {
    const old = released === undefined
      ? `without a tombstone the reconciler keeps namespace ${team} of this cluster and everything in it (reporting TeamDeletionNotRequested) while the team's repo is applied into the new control plane as well: run tenantry create-team ${team} --isolation controlplane, which records the move`
      : `namespace ${team} of this cluster and everything in it (workloads, Secrets, volumes' data) is deleted after the push (tombstone ${released.kind} ${team} by ${released.by} at ${released.deletedAt})`;
    return `team ${team} moves from namespace ${team} onto its own control plane (ControlPlane ${team}): ${old}; ${fresh}; ${key}`;
  }
  const old = released === undefined
    ? `without a tombstone the reconciler keeps ControlPlane ${team} (its API server and everything in it), reporting TeamDeletionNotRequested, while the team's repo is applied into namespace ${team} as well: run tenantry create-team ${team} --isolation namespace, which records the move`
    : `ControlPlane ${team} is deleted after the push (tombstone ${released.kind} ${team} by ${released.by} at ${released.deletedAt}) and KubeFlex tears down its API server and everything in it`;
  return `team ${team} moves from its own control plane back to namespace ${team} of this cluster: ${old}; ${fresh}; ${key}`;
}

/** Why a removed controlplane team is flagged: its ControlPlane (its API server) goes with a tombstone, stays without. */
function removedControlPlaneReason(team: string, n: number, tombstone: Tombstone | undefined): string {
  const objects = `${n} object${n === 1 ? "" : "s"}`;
  if (tombstone === undefined) {
    return `team ${team} removed without a tombstone: the reconciler keeps its ${objects} and ControlPlane ${team} (its API server and everything in it) and reports TeamDeletionNotRequested; to delete the team, run tenantry delete-team ${team}`;
  }
  return `team ${team} deleted (tombstone in ${TOMBSTONES_FILE} by ${tombstone.by} at ${tombstone.deletedAt}): ${objects} will be pruned, and with ControlPlane ${team} KubeFlex tears down its API server and everything in it`;
}

/** Why a removed team is flagged: pruned because a tombstone asks for it, or kept because none does. */
function removedReason(team: string, n: number, tombstone: Tombstone | undefined, flux: boolean): string {
  const objects = `${n} object${n === 1 ? "" : "s"}`;
  if (tombstone === undefined && flux) {
    return `team ${team} removed without a tombstone: Flux keeps its Namespace (prune: disabled) and the workloads in it, but prunes the rest of its ${objects}: its quota, RoleBinding, NetworkPolicies and policy bindings go, and the namespace runs without them; to delete the team, run tenantry delete-team ${team}`;
  }
  if (tombstone === undefined) {
    return `team ${team} removed without a tombstone: the reconciler keeps its ${objects} and its namespace and reports TeamDeletionNotRequested; to delete the team, run tenantry delete-team ${team}`;
  }
  return `team ${team} deleted (tombstone in ${TOMBSTONES_FILE} by ${tombstone.by} at ${tombstone.deletedAt}): ${objects} will be pruned, and with its Namespace everything else in namespace ${team}`;
}

/** The plan with what each removed team's live namespace holds (`tenantry plan --cluster`), on its team-removed flag. */
export function withTeamLosses(plan: Plan, losses: ReadonlyMap<string, TeamLoss>): Plan {
  const risks = plan.risks.map((r) =>
    r.kind !== "team-removed"
      ? r
      : {
          ...r,
          objects: r.objects.map((o) => {
            const team = /^Namespace\/(.+)$/.exec(o.object)?.[1];
            const loss = team === undefined ? undefined : losses.get(team);
            return loss === undefined ? o : { ...o, reasons: [...o.reasons, ...lossLines(loss).map((l) => `live namespace ${loss.namespace}: ${l}`)] };
          }),
        },
  );
  return { ...plan, risks };
}

/** The plan with the live cluster's answer: refusals become a risk flag. */
export function withClusterCheck(plan: Plan, check: ClusterCheck): Plan {
  const refused = check.results.filter((r) => r.outcome === "refused");
  const risks =
    refused.length === 0
      ? plan.risks
      : [
          ...plan.risks,
          {
            kind: "cluster-refused" as const,
            title: RISK_TITLES["cluster-refused"],
            objects: refused.map((r) => ({ object: r.object, reasons: [r.message ?? "refused"] })),
          },
        ];
  return { ...plan, summary: { ...plan.summary, riskFlags: risks.length }, risks, cluster: check };
}
