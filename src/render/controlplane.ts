// The overlay of a team on its own control plane (isolation controlplane, model/controlplane.ts):
// a KubeFlex ControlPlane, the PostCreateHook that lays the team's baseline inside it, and the
// GitSync in tenantry-system that applies the team's repo there. The baseline is what a
// namespace team gets on the host, rendered by the same templates (team-template/overlay/ and
// the team-admin ClusterRole of cluster-template/), then carried as one file in the hook. Pure.

import { parseAllDocuments } from "yaml";
import type { ClusterConfig } from "../model/cluster-config.js";
import {
  baselineHookName,
  controlPlaneNamespace,
  KFLEX_INCLUSTER_KEY,
  KFLEX_KUBECONFIG_SECRET,
} from "../model/controlplane.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import type { TeamSpec } from "../model/team-spec.js";
import { clusterContext, KUBECTL_IMAGE, teamContext, type Versions } from "./context.js";
import { renderTree, TemplateError, type TemplateSet } from "./engine.js";
import { YAML_OPTIONS } from "./yaml.js";

/** Where the controlplane overlay's templates sit inside team-template/overlay/. */
export const CONTROLPLANE_DIR = "controlplane/";

/** The namespace team's templates the baseline is made of, in the order kubectl applies them. */
const BASELINE_TEMPLATES = ["namespace.yaml.hbs", "rbac.yaml.hbs", "quota.yaml.hbs", "limitrange.yaml.hbs", "network-policies.yaml.hbs"] as const;
/** The shared ClusterRole the team's RoleBinding names; cluster/common renders it on the host. */
const TEAM_ADMIN_TEMPLATE = "cluster/common/rbac.yaml.hbs";
const TEAM_ADMIN_ROLE = "tenantry:team-admin";

/** For type external: the Secret the admin provides (KubeFlex's `kflex adopt` names it `<cp>-bootstrap`). */
export function bootstrapSecretName(team: string): string {
  return `${team}-bootstrap`;
}

const splits = new WeakMap<TemplateSet, { namespace: TemplateSet; controlplane: TemplateSet; baseline: TemplateSet }>();

/** The overlay templates split by isolation (cached per set, so compiled templates are too). */
export function overlayTemplates(overlay: TemplateSet): { namespace: TemplateSet; controlplane: TemplateSet; baseline: TemplateSet } {
  let split = splits.get(overlay);
  if (split === undefined) {
    const namespace = new Map([...overlay].filter(([p]) => !p.startsWith(CONTROLPLANE_DIR)));
    split = {
      namespace,
      controlplane: new Map([...overlay].filter(([p]) => p.startsWith(CONTROLPLANE_DIR)).map(([p, s]) => [p.slice(CONTROLPLANE_DIR.length), s])),
      baseline: new Map([...namespace].filter(([p]) => (BASELINE_TEMPLATES as readonly string[]).includes(p))),
    };
    splits.set(overlay, split);
  }
  return split;
}

const roleTemplates = new WeakMap<TemplateSet, TemplateSet>();

/** ClusterRole tenantry:team-admin as cluster/common renders it for `config`. */
function teamAdminRole(cluster: TemplateSet, partials: TemplateSet, config: ClusterConfig, versions: Versions): string {
  let set = roleTemplates.get(cluster);
  if (set === undefined) {
    const source = cluster.get(TEAM_ADMIN_TEMPLATE);
    if (source === undefined) throw new TemplateError(`template ${TEAM_ADMIN_TEMPLATE} is missing: the baseline needs ClusterRole ${TEAM_ADMIN_ROLE}`);
    set = new Map([[TEAM_ADMIN_TEMPLATE, source]]);
    roleTemplates.set(cluster, set);
  }
  const text = renderTree(set, partials, clusterContext(config, versions)).get(TEAM_ADMIN_TEMPLATE.replace(/\.hbs$/, "")) ?? "";
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (o?.kind === "ClusterRole" && o.metadata?.name === TEAM_ADMIN_ROLE) return doc.toString(YAML_OPTIONS).replace(/^---\n/, "");
  }
  throw new TemplateError(`template ${TEAM_ADMIN_TEMPLATE} renders no ClusterRole ${TEAM_ADMIN_ROLE}`);
}

/**
 * The baseline manifests (one multi-document YAML) laid inside the team's API server: what a
 * namespace team gets on the host, minus what only the host has (the team's agent, traffic
 * from the host's other namespaces: --allow-from names namespaces of this cluster).
 */
export function renderBaseline(
  t: { readonly partials: TemplateSet; readonly overlay: TemplateSet; readonly cluster: TemplateSet },
  config: ClusterConfig,
  team: TeamSpec,
  versions: Versions,
): string {
  const base = teamContext(config, team, versions);
  const context = { ...base, teamAgent: false, team: { ...base.team, allowFrom: [] }, allowFromPeers: [] };
  const files = renderTree(overlayTemplates(t.overlay).baseline, t.partials, context);
  const docs: string[] = [];
  for (const name of BASELINE_TEMPLATES) {
    const text = files.get(name.replace(/\.hbs$/, ""));
    if (text === undefined) throw new TemplateError(`template ${name} is missing: the baseline is made of ${BASELINE_TEMPLATES.join(", ")}`);
    docs.push(text);
    // The role the RoleBinding names exists before the binding is applied.
    if (name === "namespace.yaml.hbs") docs.push(teamAdminRole(t.cluster, t.partials, config, versions));
  }
  const baseline = docs.join("---\n");
  // KubeFlex renders the hook's templates with Go's text/template: the baseline must hold no action.
  if (baseline.includes("{{")) throw new TemplateError(`the baseline of team ${team.name} holds "{{", which KubeFlex's Go templates would read as an action`);
  return baseline;
}

/** What the controlplane templates see beyond the team's context. */
export function controlPlaneContext(baseline: string, team: TeamSpec) {
  const cp = team.controlPlane;
  if (cp === null) throw new TemplateError(`team ${team.name} has isolation controlplane but no control plane type`);
  return {
    type: cp.type,
    backend: cp.backend,
    external: cp.type === "external",
    bootstrapSecret: { name: bootstrapSecretName(team.name), namespace: SYSTEM_NAMESPACE, key: KFLEX_INCLUSTER_KEY },
    hostNamespace: controlPlaneNamespace(team.name),
    kubeconfigSecret: KFLEX_KUBECONFIG_SECRET,
    inClusterKey: KFLEX_INCLUSTER_KEY,
    hookName: baselineHookName(team.name),
    kubectlImage: KUBECTL_IMAGE,
    baseline,
  };
}
