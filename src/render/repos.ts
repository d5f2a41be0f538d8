// Pure renderers for the three trees tenantry generates: the admin repo (init), one
// team's overlay (cluster/<team>/) and one team's own repo.

import type { ClusterConfig } from "../model/cluster-config.js";
import type { SyncEngine } from "../model/constants.js";
import { formatTeamSpec, type TeamSpec } from "../model/team-spec.js";
import { clusterContext, NO_PEERS, teamContext, type TeamPeers, type Versions } from "./context.js";
import { type FileTree, renderTree, type TemplateSet } from "./engine.js";
import { rendersFor } from "./sync-engine.js";
import { normalizeTeamYaml } from "./yaml.js";
import { controlPlaneContext, overlayTemplates, renderBaseline } from "./controlplane.js";
import { type AppCatalog, instanceDir, instanceKustomization, NO_APPS, valuesWithDefaults } from "../model/apps.js";

export interface Templates {
  /** templates/: shared partials. */
  readonly partials: TemplateSet;
  /** cluster-template/: the admin repo. */
  readonly cluster: TemplateSet;
  /**
   * team-template/overlay/: cluster/<team>/ in the admin repo; its controlplane/ directory is
   * the overlay of a team on its own control plane instead (render/controlplane.ts).
   */
  readonly overlay: TemplateSet;
  /** team-template/repo/: the team's own repo. */
  readonly teamRepo: TemplateSet;
}

/**
 * The admin repo's templated files for `config` (its engine's only: render/sync-engine.ts).
 * Under Flux the vendored components (cluster/common/flux-system/gotk-components.yaml) are not
 * a template: src/engines/ adds them (generate/ reads them from vendor/flux/).
 */
export function renderAdminRepo(t: Pick<Templates, "partials" | "cluster">, config: ClusterConfig, versions: Versions): FileTree {
  return renderTree(engineTemplates(t.cluster, config.engine), t.partials, clusterContext(config, versions));
}

// One filtered set per template set and engine, so the engine's compiled templates are cached too.
const byEngine = new WeakMap<TemplateSet, Map<SyncEngine, TemplateSet>>();

function engineTemplates(cluster: TemplateSet, engine: SyncEngine): TemplateSet {
  let sets = byEngine.get(cluster);
  if (sets === undefined) {
    sets = new Map();
    byEngine.set(cluster, sets);
  }
  let set = sets.get(engine);
  if (set === undefined) {
    set = new Map([...cluster].filter(([path]) => rendersFor(engine, path.replace(/\.hbs$/, ""))));
    sets.set(engine, set);
  }
  return set;
}

export function teamDir(team: string): string {
  return `cluster/${team}`;
}

/**
 * cluster/<team>/extensions.yaml: what the overlay holds beyond create-team's render. The
 * admin writes it; create-team lists it (while team.yaml declares extensions), creates it
 * empty when missing, and never rewrites or deletes it.
 */
export function extensionsFile(team: string): string {
  return `${teamDir(team)}/extensions.yaml`;
}

export function extensionsStub(team: TeamSpec): string {
  return [
    `# Team ${team.name}: objects beyond what \`tenantry create-team\` renders, written by hand.`,
    "# Each must be declared in team.yaml (create-team --extension Kind/name); validate refuses",
    "# any other, and `tenantry plan` flags every change to one for review.",
    "",
  ].join("\n");
}

/**
 * cluster/<team>/ including team.yaml, paths relative to the admin repo: a namespace team's
 * overlay, or for isolation controlplane the ControlPlane, its baseline hook and the GitSync
 * (the baseline made of the namespace team's templates and cluster/common's team-admin role).
 * `peers`: the other teams' extra namespaces, for --allow-from (render/context.ts); `apps`: the
 * admin repo's app templates, for the team's app instances (each admin-delivered one gets
 * cluster/<team>/apps/<instance>/kustomization.yaml).
 */
/** cluster/<team>/age.pub: the team's age recipients, one a line (age's recipients file). */
export function ageRecipientsFile(team: string): string {
  return `${teamDir(team)}/age.pub`;
}

/** The text of age.pub: not read by kustomize; `sops --age` and `age -R` take it as it is. */
export function formatAgeRecipients(team: Pick<TeamSpec, "name" | "ageRecipients">): string {
  return `# Team ${team.name}'s age recipients (public keys; written by \`tenantry secrets\`, from team.yaml).\n# Its SOPS files are encrypted for these; the identities live only in Secret ${team.name}/${team.name}-sops-age.\n${team.ageRecipients.join("\n")}\n`;
}

export function renderTeamOverlay(
  t: Pick<Templates, "partials" | "overlay" | "cluster">,
  config: ClusterConfig,
  team: TeamSpec,
  versions: Versions,
  peers: TeamPeers = NO_PEERS,
  apps: AppCatalog = NO_APPS,
): FileTree {
  const sets = overlayTemplates(t.overlay);
  const context = teamContext(config, team, versions, peers, apps);
  const prefix = `${teamDir(team.name)}/`;
  const normalize = (text: string, source: string): string => normalizeTeamYaml(team.name, text, source);
  let tree: FileTree;
  if (team.isolation === "namespace") {
    tree = renderTree(sets.namespace, t.partials, context, prefix, normalize);
    for (const instance of team.apps) {
      const template = apps.get(instance.template);
      if (template === undefined || template.delivery !== "admin") continue;
      // Values the template no longer accepts are validate's and app upgrade's to name.
      const values = valuesWithDefaults(template, instance.values, []);
      tree.set(`${instanceDir(team.name, instance.name)}/kustomization.yaml`, instanceKustomization(team.name, instance, template, values));
    }
  }
  // A set filtered to some namespace templates (plan's network model) has none of these: nothing of the team on the host's network.
  else if (sets.controlplane.size === 0) tree = new Map();
  else tree = renderTree(sets.controlplane, t.partials, { ...context, controlPlane: controlPlaneContext(renderBaseline(t, config, team, versions), team) }, prefix, normalize);
  tree.set(`${teamDir(team.name)}/team.yaml`, formatTeamSpec(team));
  if (team.ageRecipients.length > 0) tree.set(ageRecipientsFile(team.name), formatAgeRecipients(team));
  return new Map([...tree].sort(([a], [b]) => a.localeCompare(b)));
}

export function renderTeamRepo(
  t: Pick<Templates, "partials" | "teamRepo">,
  config: ClusterConfig,
  team: TeamSpec,
  versions: Versions,
): FileTree {
  return renderTree(t.teamRepo, t.partials, teamContext(config, team, versions));
}
