// The prune guard for teams that vanished from Git without being deleted: a team's Namespace
// (and with it everything in it) is pruned only when `tenantry delete-team` asked for it, by a
// tombstone in the same revision (model/tombstones.ts). A team whose namespace is in the
// previous inventory but not in the new render, without a tombstone, keeps *all* of its admin
// objects: not only the Namespace, for a namespace without its quota, limits, network policies
// and RBAC would be unconfined. The rest of the revision applies and prunes as usual; the
// GitSync reports Ready=False with reason TeamDeletionNotRequested, naming the teams. Pure.
//
// A team on its own control plane (model/controlplane.ts) has no namespace on the host: its
// KubeFlex ControlPlane (cluster-scoped, named after the team) stands for it, and is held the
// same way: deleting it tears down the team's whole API server. A Team tombstone releases
// either; a Namespace tombstone only the namespace (a team that moved onto a control plane),
// a ControlPlane tombstone only the control plane (a team that moved back to a namespace).
//
// Which stale objects are a team's: those in its namespace, and those outside it (cluster-
// scoped constraints and policy bindings, its policy parameters in tenantry-system) that carry
// its label tenantry.dev/team=<team> as live (when the caller read the live labels) or, when
// their labels are not known, are named like the team's (`<team>` or `<team>-…`, the only
// names the admin repo's lint lets a team overlay use outside its namespace). In doubt an
// object is kept: keeping too much costs a prune later, pruning too much loses a confinement.

import { CONTROLPLANE_KIND, KFLEX_API_VERSION } from "../model/controlplane.js";
import { MANAGED_BY_LABEL, TEAM_LABEL } from "../model/labels.js";
import { type InventoryEntry, headerOf } from "../model/gitsync.js";
import { groupOf, type KubeObject, objectId } from "../model/object.js";
import { TEAM_KIND, type Tombstone, tombstonesOfRender } from "../model/tombstones.js";

/** The Ready=False reason while a team is held. */
export const TEAM_DELETION_NOT_REQUESTED = "TeamDeletionNotRequested";

export interface TeamGuardInput {
  /** The inventory of the last successful run (GitSync status.inventory.entries). */
  readonly previous: readonly InventoryEntry[];
  /** This revision's objects, as they will be applied (after the lint). */
  readonly rendered: readonly KubeObject[];
  /** The tombstones this revision carries (`tombstonesOfRender(rendered).tombstones`). */
  readonly tombstones: readonly Tombstone[];
  /** Why the revision's tombstones could not be read, if so: named in the message (none of them counts). */
  readonly tombstoneProblems?: readonly string[];
  /**
   * Optional: the live labels of stale objects, by inventory id (what the prune reads anyway).
   * A stale Namespace known to lack tenantry.dev/team is not a team's, and is not held; an
   * object's team label, when known, decides whose it is.
   */
  readonly liveLabels?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export interface TeamGuard {
  /** Stale entries that must not be pruned; keep them in the recorded inventory too, so a later tombstone lets them go. */
  readonly keep: readonly InventoryEntry[];
  /** The teams held, sorted. */
  readonly teams: readonly string[];
  /** TEAM_DELETION_NOT_REQUESTED when a team is held, else null. */
  readonly reason: typeof TEAM_DELETION_NOT_REQUESTED | null;
  /** One line for the Ready=False condition, or null. */
  readonly message: string | null;
}

/** What stands for a team on the host, and the tombstone kinds besides Team that release it. */
type Unit = "namespace" | "control plane";

/** Whether stale `e` stands for a team (its Namespace, or its KubeFlex ControlPlane), and which. */
function unitOf(e: InventoryEntry): Unit | undefined {
  const h = headerOf(e);
  if (h.kind === "Namespace" && h.apiVersion === "v1") return "namespace";
  if (h.kind === CONTROLPLANE_KIND && groupOf(h.apiVersion) === groupOf(KFLEX_API_VERSION) && h.metadata.namespace === undefined) return "control plane";
  return undefined;
}

function deletionRequested(team: string, unit: Unit, tombstones: readonly Tombstone[]): boolean {
  const kinds = [TEAM_KIND, unit === "namespace" ? "Namespace" : CONTROLPLANE_KIND];
  return tombstones.some((t) => kinds.includes(t.kind) && (t.namespace ?? "") === "" && t.name === team);
}

/** Whether stale `e` belongs to team `team` (see the top). */
function belongsTo(e: InventoryEntry, team: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  const h = headerOf(e);
  if (h.metadata.namespace === team) return true;
  if (h.kind === "Namespace" && h.metadata.name === team) return true;
  const label = labels?.[TEAM_LABEL];
  if (label !== undefined) return label === team;
  return h.metadata.name === team || h.metadata.name.startsWith(`${team}-`);
}

/**
 * Which stale entries of `previous` must not be pruned because their team vanished from Git
 * without a tombstone. How the reconciler calls it, between apply and prune:
 *
 * ```ts
 * const { tombstones, problems } = tombstonesOfRender(objects);
 * const guard = guardTeamDeletions({ previous: run.previous, rendered: objects, tombstones, tombstoneProblems: problems });
 * const held = new Set(guard.keep.map((e) => e.id));
 * const stale = staleEntries(run.previous, current).filter((e) => !held.has(e.id));   // prune these only
 * const inventory = [...current, ...guard.keep];                                      // still ours
 * if (guard.reason !== null) { ready: false, reason: guard.reason, message: guard.message }
 * ```
 *
 * (`guardRender(previous, objects)` does the first two lines in one.)
 */
export function guardTeamDeletions(input: TeamGuardInput): TeamGuard {
  const current = new Set(input.rendered.map(objectId));
  const stale = input.previous.filter((e) => !current.has(e.id));
  const labelsOf = (e: InventoryEntry): Readonly<Record<string, string>> | undefined => input.liveLabels?.get(e.id);
  const held = new Map<string, Set<Unit>>();
  for (const e of stale) {
    const unit = unitOf(e);
    if (unit === undefined) continue;
    const labels = labelsOf(e);
    // Known not to be a team's (no team label, but ours): not held.
    if (labels !== undefined && labels[TEAM_LABEL] === undefined && labels[MANAGED_BY_LABEL] !== undefined) continue;
    const team = headerOf(e).metadata.name;
    if (deletionRequested(team, unit, input.tombstones)) continue;
    held.set(team, (held.get(team) ?? new Set()).add(unit));
  }
  const teams = [...held.keys()].sort();
  if (teams.length === 0) return { keep: [], teams: [], reason: null, message: null };
  const keep = stale.filter((e) => teams.some((t) => belongsTo(e, t, labelsOf(e))));
  const which = teams.length === 1 ? `team ${teams[0] ?? ""}` : `teams ${teams.join(", ")}`;
  const problems = input.tombstoneProblems ?? [];
  const unreadable = problems.length === 0 ? "" : ` (the revision's tombstones could not be read: ${problems.join("; ")})`;
  const units = new Set([...held.values()].flatMap((u) => [...u]));
  const what = (["namespace", "control plane"] as const).filter((u) => units.has(u)).map((u) => (teams.length === 1 ? u : `${u}s`));
  const message =
    `${which} vanished from Git without a tombstone${unreadable}: ${keep.length} of ${teams.length === 1 ? "its" : "their"} objects ` +
    `(${teams.length === 1 ? "its" : "their"} ${what.join(", ")} and admin objects) are kept, not pruned; delete a team with ` +
    `tenantry delete-team ${teams[0] ?? ""}, or restore its line in cluster/teams/kustomization.yaml${extraNamespaceHint(teams, input.rendered)}`;
  return { keep, teams, reason: TEAM_DELETION_NOT_REQUESTED, message };
}

/**
 * A held namespace named `<t>-<name>` while team `t` (a Namespace labelled as its) is still
 * rendered may be t's extra namespace (issue 20) dropped from its team.yaml by hand: name the
 * way that records its tombstone. Only a hint: the name alone cannot tell it from a team `<t>-<name>`.
 */
function extraNamespaceHint(held: readonly string[], rendered: readonly KubeObject[]): string {
  const teams = new Set(rendered.filter((o) => o.kind === "Namespace" && o.apiVersion === "v1").map((o) => o.metadata.labels?.[TEAM_LABEL]).filter((t): t is string => t !== undefined));
  const hints = held.flatMap((h) => {
    const owner = [...teams].filter((t) => h.startsWith(`${t}-`)).sort((a, b) => b.length - a.length)[0];
    return owner === undefined ? [] : [`${h} may be an extra namespace of team ${owner}: remove it with tenantry create-team ${owner} --namespaces <the others>, which records its tombstone`];
  });
  return hints.length === 0 ? "" : `; ${hints.join("; ")}`;
}

/** `guardTeamDeletions` with the tombstones read from `rendered` itself. */
export function guardRender(previous: readonly InventoryEntry[], rendered: readonly KubeObject[], liveLabels?: TeamGuardInput["liveLabels"]): TeamGuard {
  const { tombstones, problems } = tombstonesOfRender(rendered);
  return guardTeamDeletions({ previous, rendered, tombstones, tombstoneProblems: problems, ...(liveLabels === undefined ? {} : { liveLabels }) });
}
