// tenantry create-team <team>: add a team to the admin repo, or change one.

import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { ExitCode, TenantryError } from "../errors.js";
import type { TeamLoss } from "../plan/team-loss.js";
import { CONTROLPLANE_BACKENDS, CONTROLPLANE_TYPES, type ControlPlaneBackend, type ControlPlaneType, type Isolation, ISOLATIONS } from "../model/controlplane.js";
import { note, out } from "./output.js";

interface Args {
  team?: string;
  from?: string;
  "repo-url"?: string;
  branch?: string;
  interval?: string;
  tier?: string;
  "allow-from"?: string[];
  "node-pool"?: string;
  registry?: string[];
  owner?: string[];
  extension?: string[];
  isolation?: Isolation;
  "controlplane-type"?: ControlPlaneType;
  backend?: ControlPlaneBackend;
  namespaces?: string;
  "team-repo-dir"?: string;
  "admin-repo"?: string;
  kubeconfig?: string;
  force: boolean;
  "dry-run": boolean;
  commit: boolean;
}

/** `--namespaces api,web` as names; "" is the home namespace only; absent keeps team.yaml's. */
export function namespacesOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
}

/** What each removed namespace holds on the live cluster, or why it could not be read. */
async function readRemoved(kubeconfig: string | undefined, namespaces: readonly string[]): Promise<{ readonly losses: readonly TeamLoss[] } | { readonly unread: string }> {
  const [{ loadAccess }, { namespaceContents }, { teamLoss }] = await Promise.all([import("../cluster/access.js"), import("../cluster/namespace-contents.js"), import("../plan/team-loss.js")]);
  try {
    const kc = loadAccess(kubeconfig);
    return { losses: await Promise.all(namespaces.map(async (ns) => teamLoss(await namespaceContents(kc, ns)))) };
  } catch (e) {
    if (e instanceof TenantryError) return { unread: e.message.split("\n")[0] ?? e.message };
    throw e;
  }
}

/** delete-team's rules for a namespace that goes: unread or holding PersistentVolumeClaims, it is refused without --force. */
function removalRefusal(namespaces: readonly string[], live: { readonly losses: readonly TeamLoss[] } | { readonly unread: string }): TenantryError | null {
  if ("unread" in live) {
    return new TenantryError(`cannot read namespace ${namespaces.join(", ")} to list what removing it loses (${live.unread}): fix --kubeconfig/KUBECONFIG, or pass --force to remove it unseen`, ExitCode.external);
  }
  const held = live.losses.filter((l) => l.pvcs.length > 0);
  if (held.length === 0) return null;
  const what = held.map((l) => `namespace ${l.namespace} holds ${l.pvcs.length} PersistentVolumeClaim${l.pvcs.length === 1 ? "" : "s"} (${l.pvcs.join(", ")})`).join("; ");
  return new TenantryError(`${what}: removing it deletes their volumes' data; back it up, then pass --force`, ExitCode.invalid);
}

/** What a removal guard saw: the live read of the namespaces that go, and a refusal a dry run only reports. */
export interface RemovalSeen {
  removed: Awaited<ReturnType<typeof readRemoved>> | null;
  refusedDry: TenantryError | null;
}

/**
 * The `beforeRemoving` of a change that removes namespaces (create-team --namespaces, app
 * delete): each is read first, as delete-team reads a team's, its loss kept for printing;
 * PersistentVolumeClaims or an unreadable cluster refuse it without --force (a dry run only
 * reports the refusal).
 */
export function removalGuard(kubeconfig: string | undefined, dryRun: boolean, force: boolean): { readonly seen: RemovalSeen; readonly beforeRemoving: (namespaces: readonly string[]) => Promise<void> } {
  const seen: RemovalSeen = { removed: null, refusedDry: null };
  return {
    seen,
    beforeRemoving: async (namespaces) => {
      seen.removed = await readRemoved(kubeconfig, namespaces);
      const refused = removalRefusal(namespaces, seen.removed);
      if (refused === null) return;
      if (dryRun) seen.refusedDry = refused;
      else if (!force) throw refused;
    },
  };
}

/** The options that describe one team: with --from, the file gives them. */
const PER_TEAM = ["repo-url", "branch", "interval", "tier", "allow-from", "node-pool", "registry", "owner", "extension", "isolation", "controlplane-type", "backend", "namespaces", "team-repo-dir", "kubeconfig", "force"] as const;

/** create-team --from FILE: every team of the list in one change. */
async function createFromList(file: string, args: Pick<Args, "admin-repo" | "dry-run" | "commit">): Promise<void> {
  const [{ createTeams }, { findAdminRepo }, { templates }, { parseTeamList }] = await Promise.all([
    import("../generate/teams.js"),
    import("../repo/admin-repo.js"),
    import("../repo/templates.js"),
    import("../model/team-list.js"),
  ]);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new TenantryError(`cannot read --from ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give the path of a TeamList file`, ExitCode.invalid);
  }
  const entries = parseTeamList(text, file);
  const root = findAdminRepo(args["admin-repo"]);
  const result = await createTeams(templates, root, entries, { dryRun: args["dry-run"], commit: args.commit, progress: (line) => {
      note(line);
    } });
  for (const line of result.recovered) note(line);
  const created = result.teams.filter((t) => t.created).length;
  const what = `${String(created)} new team${created === 1 ? "" : "s"}, ${String(result.teams.length - created)} changed or unchanged, ${String(result.teams.reduce((n, t) => n + t.objects, 0))} objects`;
  if (result.summary.length === 0) {
    out(`every team of ${file} is up to date; nothing ${args["dry-run"] ? "would change" : "changed"}.`);
    return;
  }
  out(`${args["dry-run"] ? "Would change (dry run)" : "Changed"}: ${what}; ${String(result.summary.length)} files.`);
  if (result.commit !== null) out(`Committed ${result.commit.slice(0, 7)}.`);
  if (!args["dry-run"] && created > 0) note(`Next: tenantry keys create <team> for each new team (deploy keys), then push the admin repo.`);
}

export const createTeamCommand: CommandModule<object, Args> = {
  command: "create-team [team]",
  describe: "Add a team (namespace, RBAC, quota, network policies, constraints, sync agent; or its own control plane) or change one",
  builder: (y) =>
    y
      .positional("team", { type: "string", describe: "Team name: becomes its namespace" })
      .option("from", { type: "string", describe: "Create or change every team of a TeamList file (docs/cli.md) in one change, instead of one <team>" })
      .option("repo-url", { type: "string", describe: "The team's Git repo (default: tenantry.yaml teamRepoPattern)" })
      .option("branch", { type: "string", describe: "Branch of the team repo to apply (default main)" })
      .option("interval", { type: "string", describe: "How often the team's GitSync reconciles (default 1m)" })
      .option("tier", { type: "string", describe: "Quota tier from tenantry.yaml (default: its defaultTier)" })
      .option("allow-from", { type: "string", array: true, describe: "Team or namespace allowed to send traffic in (repeatable)" })
      .option("node-pool", { type: "string", describe: "Hold the team's pods to nodes with this label=value" })
      .option("registry", { type: "string", array: true, describe: "Allowed image registry prefix (repeatable)" })
      .option("owner", { type: "string", array: true, describe: "The team's owners: asked in `tenantry plan` reviews of its overlay, never code owners of it (repeatable)" })
      .option("extension", { type: "string", array: true, describe: "An object (Kind/name or Kind/namespace/name) the overlay may hold beyond what create-team renders; plan flags it (repeatable)" })
      .option("isolation", { choices: ISOLATIONS, describe: "namespace: a namespace of this cluster (default); controlplane: the team's own API server (KubeFlex)" })
      .option("controlplane-type", { choices: CONTROLPLANE_TYPES, describe: "--isolation controlplane: KubeFlex's type (default k8s; external adopts a cluster you provide)" })
      .option("backend", { choices: CONTROLPLANE_BACKENDS, describe: "--isolation controlplane: the control plane's storage, the host's shared database or its own etcd (default shared)" })
      .option("namespaces", { type: "string", describe: "The team's extra namespaces <team>-<name>, comma-separated (\"\" = the home namespace <team> only; default: team.yaml's)" })
      .option("team-repo-dir", { type: "string", describe: "Also scaffold the team's own repo in this directory" })
      .option("admin-repo", { type: "string", describe: "The admin repo (default: the one containing the current directory)" })
      .option("kubeconfig", { type: "string", describe: "When --namespaces removes a namespace: the cluster where what it holds is read (default: KUBECONFIG)" })
      .option("force", { type: "boolean", default: false, describe: "Remove a namespace even when it holds PersistentVolumeClaims or the cluster cannot be read; take a namespace name another team's deletion still holds, once that namespace is gone" })
      .option("dry-run", { type: "boolean", default: false, describe: "Print what would change; change nothing" })
      .option("commit", { type: "boolean", default: false, describe: "Commit the change in the admin repo" })
      .check((a) => {
        if (a.from === undefined) return a.team !== undefined ? true : "create-team needs a team name, or --from FILE";
        if (a.team !== undefined) return `give a team name or --from ${a.from}, not both`;
        const single = PER_TEAM.filter((o) => (o === "force" ? a.force : a[o] !== undefined));
        return single.length === 0 ? true : `--from takes each team's options from the file: leave out ${single.map((o) => `--${o}`).join(", ")}`;
      }),
  handler: async (args) => {
    if (args.from !== undefined) {
      await createFromList(args.from, args);
      return;
    }
    const team = args.team ?? "";
    const [{ createTeam }, { findAdminRepo }, { templates }] = await Promise.all([
      import("../generate/team.js"),
      import("../repo/admin-repo.js"),
      import("../repo/templates.js"),
    ]);
    const root = findAdminRepo(args["admin-repo"]);
    const { lossLines } = await import("../plan/team-loss.js");
    // Filled in by beforeRemoving, which createTeam calls only when a namespace goes.
    const guard = removalGuard(args.kubeconfig, args["dry-run"], args.force);
    const result = await createTeam(
      templates,
      root,
      team,
      {
        tier: args.tier,
        repoUrl: args["repo-url"],
        branch: args.branch,
        interval: args.interval,
        allowFrom: args["allow-from"],
        nodePool: args["node-pool"],
        registries: args.registry,
        owners: args.owner,
        extensions: args.extension,
        isolation: args.isolation,
        controlPlaneType: args["controlplane-type"],
        backend: args.backend,
        namespaces: namespacesOption(args.namespaces),
      },
      {
        dryRun: args["dry-run"],
        takeOver: args.force,
        commit: args.commit,
        teamRepoDir: args["team-repo-dir"],
        beforeRemoving: guard.beforeRemoving,
      },
    );
    const { removed, refusedDry } = guard.seen;
    if (removed !== null) {
      const names = result.removedNamespaces.map((t) => t.name);
      out(`${args["dry-run"] ? "Would remove" : "Removed"} namespace${names.length === 1 ? "" : "s"} ${names.join(", ")} of team ${team}: tombstone${names.length === 1 ? "" : "s"} ${result.removedNamespaces.map((t) => `Namespace ${t.name}`).join(", ")}; after the push the reconciler deletes ${names.length === 1 ? "it" : "them"} and everything in ${names.length === 1 ? "it" : "them"}`);
      if ("unread" in removed) out(`Live namespace ${names.join(", ")}: not read (${removed.unread})${args.force ? "; removed unseen (--force)" : ""}`);
      else for (const loss of removed.losses) out(`Live namespace ${loss.namespace}, lost with it:\n${lossLines(loss).map((l) => `  ${l}`).join("\n")}`);
      if (refusedDry !== null) out(`Would refuse without --force: ${refusedDry.message}`);
    }
    if (result.addedNamespaces.length > 0 && !result.created) {
      note(`New namespace${result.addedNamespaces.length === 1 ? "" : "s"} ${result.addedNamespaces.join(", ")}: the tier's quota is divided among all of team ${team}'s namespaces again (tenantry.yaml spec.namespaceQuota), so the others' parts shrink`);
    }
    for (const line of result.recovered) note(line);
    const changed = result.summary.map((l) => `  ${l}`);
    if (result.moved !== null) {
      const cp = result.moved.from === "namespace";
      note(
        cp
          ? `Team ${team} moves onto its own control plane: after the push, namespace ${team} of this cluster and everything in it (workloads, Secrets, volumes) is deleted (tombstone Namespace ${team}); the new control plane starts with the baseline only: the team's repo is applied there afresh, data is not moved. Its deploy key moves too: tenantry keys create ${team}.`
          : `Team ${team} moves back to namespace ${team} of this cluster: after the push, ControlPlane ${team} is deleted (tombstone ControlPlane ${team}) and KubeFlex tears its API server down with everything in it; the namespace starts with the baseline only. Its deploy key moves too: tenantry keys create ${team}.`,
      );
    }
    if (result.spec.isolation === "controlplane" && result.spec.allowFrom.length > 0) {
      note(`--allow-from ${result.spec.allowFrom.join(", ")}: kept in team.yaml but not rendered: it names namespaces of this cluster, and team ${team}'s namespace is in its own API server`);
    }
    if (args["dry-run"]) {
      out(changed.length === 0 ? `team ${team} is up to date; nothing would change.` : `Would change (dry run):\n${changed.join("\n")}`);
      for (const [path, content] of result.changes.writes) out(`--- ${path}\n${content}`);
      return;
    }
    if (changed.length === 0) {
      out(`team ${team} is up to date; nothing changed.`);
    } else {
      out(`${result.created ? "Created" : "Updated"} team ${team} (${result.objects} objects, tier ${result.spec.tier}):\n${changed.join("\n")}`);
    }
    if (result.commit !== null) out(`Committed ${result.commit.slice(0, 7)}.`);
    if (result.teamRepo !== null) out(`Scaffolded the team repo in ${result.teamRepo}; push it to ${result.spec.repoUrl}.`);
    if (result.created) {
      note(`Next: tenantry keys create ${team} (deploy key), then push the admin repo.`);
    }
  },
};
