// tenantry delete-team <team>: remove a team's overlay and its line, and record the deletion
// as a tombstone (the reconciler prunes a team only when asked to), after reading what the
// team's live namespace would lose: PersistentVolumeClaims refuse the deletion unless
// --force, as does a cluster that cannot be read. The team's deploy key is revoked (the Git
// host, as keys revoke decides, and its Secret) before the admin repo changes, so a retry
// after any failure finds what is left to do. Prints an audit summary.

import type { CommandModule } from "yargs";
import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { FLUX_PRUNE_ANNOTATION, FLUX_PRUNE_DISABLED } from "../model/constants.js";
import type { Isolation } from "../model/controlplane.js";
import type { TeamLoss } from "../plan/team-loss.js";
import { type HostArgs, hostOptions, hostSpec } from "./keys.js";
import { note, out } from "./output.js";

interface Args extends HostArgs {
  team?: string;
  finish: boolean;
  "admin-repo"?: string;
  kubeconfig?: string;
  "dry-run": boolean;
  commit: boolean;
  force: boolean;
  "keep-key": boolean;
}

/**
 * The live namespace, or why it could not be read. `kc` is the host (where the deploy-key
 * Secret is); `server` is where the namespace was read: the host, or for a team on its own
 * control plane that API server (the namespace there goes with the ControlPlane).
 */
type Live = { readonly kc: KubeAccess; readonly loss: TeamLoss; readonly server: string } | { readonly unread: string };

async function readLive(kubeconfig: string | undefined, team: string, isolation: Isolation): Promise<Live> {
  const [{ loadAccess }, { namespaceContents }, { teamLoss }] = await Promise.all([
    import("../cluster/access.js"),
    import("../cluster/namespace-contents.js"),
    import("../plan/team-loss.js"),
  ]);
  try {
    const kc = loadAccess(kubeconfig);
    if (isolation === "controlplane") {
      const { findControlPlane, controlPlaneTarget, withinControlPlane } = await import("../cluster/controlplane-access.js");
      const cp = await findControlPlane(kc, team);
      // Not created yet (the overlay never pushed): nothing of the team's there to lose.
      if (cp === null) return { kc, loss: teamLoss({ namespace: team, exists: false, objects: [], unread: [] }), server: `${kc.cluster.server}: no ControlPlane ${team}` };
      const target = await controlPlaneTarget(kc, cp);
      const contents = await withinControlPlane(target, () => namespaceContents(target.access, team));
      return { kc, loss: teamLoss(contents), server: `ControlPlane ${team}: ${target.access.cluster.server}` };
    }
    return { kc, loss: teamLoss(await namespaceContents(kc, team)), server: kc.cluster.server };
  } catch (e) {
    if (e instanceof TenantryError) return { unread: e.message.split("\n")[0] ?? e.message };
    throw e;
  }
}

/** Why the deletion must not go ahead without --force, or null. */
function refusal(team: string, live: Live): TenantryError | null {
  if ("unread" in live) {
    return new TenantryError(`cannot read namespace ${team} to list what deleting the team loses (${live.unread}): fix --kubeconfig/KUBECONFIG, or pass --force to delete it unseen`, ExitCode.external);
  }
  const pvcs = live.loss.pvcs;
  if (pvcs.length === 0) return null;
  return new TenantryError(
    `namespace ${team} holds ${pvcs.length} PersistentVolumeClaim${pvcs.length === 1 ? "" : "s"} (${pvcs.join(", ")}): deleting the team deletes their volumes' data; back it up, then pass --force`,
    ExitCode.invalid,
  );
}

/** What the team's extra namespaces hold (none read when the home one could not be). */
async function readExtra(live: Live, namespaces: readonly string[]): Promise<TeamLoss[]> {
  if ("unread" in live || namespaces.length === 0) return [];
  const [{ namespaceContents }, { teamLoss }] = await Promise.all([import("../cluster/namespace-contents.js"), import("../plan/team-loss.js")]);
  return Promise.all(namespaces.map(async (ns) => teamLoss(await namespaceContents(live.kc, ns))));
}

function extraRefusal(losses: readonly TeamLoss[]): TenantryError | null {
  const held = losses.filter((l) => l.pvcs.length > 0);
  if (held.length === 0) return null;
  const what = held.map((l) => `namespace ${l.namespace} holds ${l.pvcs.length} PersistentVolumeClaim${l.pvcs.length === 1 ? "" : "s"} (${l.pvcs.join(", ")})`).join("; ");
  return new TenantryError(`${what}: deleting the team deletes their volumes' data; back it up, then pass --force`, ExitCode.invalid);
}

/** Revokes the team's deploy key (host and Secret, and its public half in the admin repo): one line saying what was done, and whether anything was. */
async function revokeKey(kc: KubeAccess, root: string, team: string, a: Args): Promise<{ line: string; changed: boolean }> {
  const [{ revokeDeployKey }, { keyTarget }, { KeyStore, ANNOTATION, clusterError }, { readRepoFile }, { readTeamSpec }, { RestClient }, { apiRefusal }] = await Promise.all([
    import("../keys/revoke.js"),
    import("../keys/target.js"),
    import("../keys/secret.js"),
    import("../repo/changes.js"),
    import("../repo/admin-repo.js"),
    import("../cluster/rest.js"),
    import("../cluster/api-errors.js"),
  ]);
  // Read before the admin repo changes: the team's team.yaml says where its key lives.
  const target = keyTarget(team, undefined, readTeamSpec(root, team)?.isolation ?? "namespace");
  const secret = await new KeyStore(kc).read(target);
  const hasKey = secret?.identity !== undefined || (secret?.annotations[ANNOTATION.rotatingFrom] ?? "") !== "" || readRepoFile(root, target.pubPath) !== null;
  let line = "none (no key in the Secret nor the admin repo)";
  if (hasKey) {
    const r = await revokeDeployKey({ kc, target, spec: hostSpec(a), repoUrl: readTeamSpec(root, team)?.repoUrl ?? null, adminRoot: root, env: process.env });
    const host = r.where === null ? "not registered anywhere tenantry recorded (pass --host to remove it from one)" : `removed ${r.removedFromHost} from ${r.where}`;
    line = `revoked ${r.fingerprints.join(", ")}: ${host}`;
  }
  if (secret === null) return { line: `${line}; no Secret ${target.namespace}/${target.secretName}`, changed: hasKey };
  // The team goes: its Secret too, known_hosts and all (keys revoke alone keeps known_hosts for a later key).
  try {
    await RestClient.forConfig(kc).deleteObject({ apiVersion: "v1", kind: "Secret", metadata: { name: target.secretName, namespace: target.namespace } });
  } catch (e) {
    if (apiRefusal(e)?.code !== 404) throw clusterError(e, kc, `delete Secret ${target.namespace}/${target.secretName}`);
  }
  return { line: `${line}; Secret ${target.namespace}/${target.secretName} deleted`, changed: true };
}

/** Whether live Namespace `team` still carries Flux's prune-disabled annotation (false when it is gone). */
async function stillPruneDisabled(kc: KubeAccess, team: string): Promise<boolean> {
  const [{ RestClient }, { apiRefusal }] = await Promise.all([import("../cluster/rest.js"), import("../cluster/api-errors.js")]);
  try {
    const ns = await RestClient.forConfig(kc).readObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: team } });
    return ns.metadata.annotations?.[FLUX_PRUNE_ANNOTATION] === FLUX_PRUNE_DISABLED;
  } catch (e) {
    if (apiRefusal(e)?.code === 404) return false;
    throw e;
  }
}

/** Engine flux, second step: the kept Namespaces go, after the same look at what they hold. */
async function finishDeletion(root: string, args: Args): Promise<void> {
  const [{ planFinishDeletion, applyFinishDeletion }, { lossLines }] = await Promise.all([import("../generate/team.js"), import("../plan/team-loss.js")]);
  const dryRun = args["dry-run"];
  const plan = planFinishDeletion(root, args.team === undefined ? undefined : [args.team]);
  if (plan.teams.length === 0) {
    out("No team deletion is waiting for its second step.");
    return;
  }
  // Only under Flux, which refuses controlplane teams: every team here had a namespace.
  const lives = await Promise.all(plan.teams.map(async (t) => [t, await readLive(args.kubeconfig, t, "namespace")] as const));
  // Flux honours prune: disabled as it is on the live Namespace: dropped from Git while the first
  // step's removal of the annotation has not been applied, the Namespace would stay forever.
  const stillKept = (await Promise.all(lives.map(async ([t, live]) => ("unread" in live ? null : (await stillPruneDisabled(live.kc, t)) ? t : null)))).filter((t): t is string => t !== null);
  if (stillKept.length > 0 && !dryRun) {
    throw new TenantryError(
      `Flux has not applied the first step yet: live Namespace ${stillKept.join(", ")} still carries ${FLUX_PRUNE_ANNOTATION}: ${FLUX_PRUNE_DISABLED}, so Flux would never delete it: push the first step, wait until the admin Kustomization flux-system/flux-system has applied it, then run this again`,
      ExitCode.invalid,
    );
  }
  const refused = lives.map(([t, live]) => refusal(t, live)).filter((r): r is TenantryError => r !== null);
  if (refused.length > 0 && !args.force && !dryRun) throw refused[0] ?? new TenantryError("refused", ExitCode.invalid);
  const commit = dryRun ? null : await applyFinishDeletion(root, plan, { commit: args.commit });
  out(`${dryRun ? "Would finish" : "Finished"} deleting ${plan.teams.map((t) => `team ${t}`).join(", ")}: Flux deletes ${plan.teams.length === 1 ? "its Namespace" : "their Namespaces"} after the push:\n${plan.summary.map((l) => `  ${l}`).join("\n")}`);
  for (const [t, live] of lives) {
    if ("unread" in live) out(`Live namespace ${t}: not read (${live.unread})${args.force ? "; deleted unseen (--force)" : ""}`);
    else out(`Live namespace ${t} (${live.server}), lost with it:\n${lossLines(live.loss).map((l) => `  ${l}`).join("\n")}`);
  }
  if (dryRun) for (const r of refused) out(`Would refuse without --force: ${r.message}`);
  if (commit !== null) out(`Committed ${commit.slice(0, 7)}.`);
}

export const deleteTeamCommand: CommandModule<object, Args> = {
  command: "delete-team [team]",
  describe: "Remove a team from the admin repo and record its deletion; the reconciler prunes its objects after the push",
  builder: (y) =>
    hostOptions(
      y
        .positional("team", { type: "string", describe: "The team (with --finish: all teams waiting when none is named)" })
        .option("finish", { type: "boolean", default: false, describe: "Engine flux: the second step, once Flux has applied the first: drop the kept Namespace so Flux prunes it" })
        .check((a) => {
          if (a.team === undefined && !a.finish) throw new TenantryError("name the team to delete (or pass --finish)", ExitCode.invalid);
          return true;
        })
        .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
        .option("kubeconfig", { type: "string", describe: "The cluster whose namespace is read (and whose deploy-key Secret goes) (default: KUBECONFIG)" })
        .option("dry-run", { type: "boolean", default: false, describe: "Print what would change and be lost; change nothing" })
        .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" })
        .option("force", { type: "boolean", default: false, describe: "Delete even when the namespace holds PersistentVolumeClaims or the cluster cannot be read" })
        .option("keep-key", { type: "boolean", default: false, describe: "Leave the deploy key (host and Secret) alone" }),
      false,
    ),
  handler: async (args) => {
    const [{ planDeleteTeam, applyDeleteTeam }, { findAdminRepo }, { recoverRepo }, { lossLines }, { describeTombstone, TOMBSTONES_FILE }] = await Promise.all([
      import("../generate/team.js"),
      import("../repo/admin-repo.js"),
      import("../repo/changes.js"),
      import("../plan/team-loss.js"),
      import("../model/tombstones.js"),
    ]);
    const dryRun = args["dry-run"];
    const root = findAdminRepo(args["admin-repo"]);
    if (!dryRun) for (const line of recoverRepo(root)) note(line);
    const { isPendingDeletion } = await import("../generate/team.js");
    if (args.finish || (args.team !== undefined && isPendingDeletion(root, args.team))) {
      await finishDeletion(root, args);
      return;
    }
    const team = args.team ?? "";
    const plan = await planDeleteTeam(root, team);
    const live = await readLive(args.kubeconfig, team, plan.isolation);
    // The team's extra namespaces go with it: read the same way, their PVCs refuse the same.
    const extra = await readExtra(live, plan.namespaces);
    const refused = refusal(team, live) ?? extraRefusal(extra);
    if (refused !== null && !args.force && !dryRun) throw refused;

    let key = { line: "not revoked (--keep-key)", changed: false };
    let commit: string | null = null;
    if (!dryRun) {
      if (!args["keep-key"]) {
        key = "kc" in live ? await revokeKey(live.kc, root, team, args) : { line: `not revoked: the cluster could not be read; run tenantry keys revoke ${team} once it can`, changed: false };
      }
      try {
        commit = await applyDeleteTeam(root, plan, { commit: args.commit });
      } catch (e) {
        if (!key.changed || !(e instanceof TenantryError)) throw e;
        throw new TenantryError(`${e.message}; but the deploy key is gone already (${key.line}): run tenantry delete-team ${team} again to finish`, e.exitCode);
      }
    }

    const t = plan.tombstone;
    out(`${dryRun ? "Would delete" : "Deleted"} team ${team} (asked by ${t.by} at ${t.deletedAt}):\n${plan.summary.map((l) => `  ${l}`).join("\n")}`);
    out(`Tombstone: ${describeTombstone(t)} in ${TOMBSTONES_FILE}: the reconciler prunes the team only because of it`);
    if (plan.released !== null) {
      out(`Flux: Namespace ${team} stays, without its prune-disabled annotation, in ${plan.released}; once Flux has applied this push, run tenantry delete-team ${team} again (or delete-team --finish) and Flux deletes it`);
    }
    if ("unread" in live) out(`Live namespace ${team}: not read (${live.unread})${args.force ? "; deleted unseen (--force)" : ""}`);
    else out(`Live namespace ${team} (${live.server}), lost with it:\n${lossLines(live.loss).map((l) => `  ${l}`).join("\n")}`);
    for (const loss of extra) out(`Live namespace ${loss.namespace}, lost with it:\n${lossLines(loss).map((l) => `  ${l}`).join("\n")}`);
    if (dryRun && refused !== null) out(`Would refuse without --force: ${refused.message}`);
    if (!dryRun) out(`Deploy key: ${key.line}`);
    out(
      plan.isolation === "controlplane"
        ? `After the push, the reconciler will prune ${plan.pruned.length} objects; with ControlPlane ${team}, KubeFlex tears down its API server (everything in it) and namespace ${team}-system:`
        : plan.released === null
        ? `After the push, the reconciler will prune ${plan.pruned.length} objects (and everything in namespace${plan.namespaces.length === 0 ? "" : "s"} ${[team, ...plan.namespaces].join(", ")}):`
        : `After the push, Flux prunes these ${plan.pruned.length} objects but Namespace ${team} (the team's workloads stay until the second step):`,
    );
    for (const o of plan.pruned) {
      out(`  ${o.kind}/${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`);
    }
    if (commit !== null) out(`Committed ${commit.slice(0, 7)}.`);
  },
};
