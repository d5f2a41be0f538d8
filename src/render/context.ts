// Template contexts: the only values templates see. Every key a template may look up is
// present (null when unset), because the engine runs Handlebars in strict mode.

import type { ClusterConfig } from "../model/cluster-config.js";
import { teamNamespaces } from "../model/namespaces.js";
import { namespaceNames, type TeamSpec } from "../model/team-spec.js";
import { type AppCatalog, NO_APPS, teamQuotaParts } from "../model/apps.js";
import { FLUX_LOCKDOWN_FLAGS } from "./sync-engine.js";

/** Versions written into generated files (CI workflows install exactly these). */
export interface Versions {
  readonly tenantry: string;
  readonly kustomize: string;
  /** The Gatekeeper release cluster/common/gatekeeper vendors (GATOR_VERSION: gator ships with it). */
  readonly gatekeeper: string;
}

export function clusterContext(config: ClusterConfig, versions: Versions) {
  return {
    cluster: {
      name: config.name,
      engine: config.engine,
      gitUrl: config.gitUrl,
      teamRepoPattern: config.teamRepoPattern,
      platformTeam: config.platformTeam,
      policyEngine: config.policyEngine,
      podSecurityLevel: config.podSecurity.level,
      podSecurityVersion: config.podSecurity.version,
      agentImage: config.agentImage,
      requireAlwaysPull: config.requireAlwaysPull,
      allowExternalName: config.allowExternalName,
      allowPlainSecrets: config.allowPlainSecrets,
    },
    // Which sync engine's objects the templates write (src/engines/ says what each renders).
    engine: { tenantry: config.engine === "tenantry", flux: config.engine === "flux" },
    fluxLockdown: Object.entries(FLUX_LOCKDOWN_FLAGS).flatMap(([deployment, flags]) => flags.map((flag) => ({ deployment, flag }))),
    gatekeeper: config.policyEngine !== "vap",
    vap: config.policyEngine !== "gatekeeper",
    tenantryVersion: versions.tenantry,
    kustomizeVersion: versions.kustomize,
    gatekeeperVersion: versions.gatekeeper,
  };
}

/** The image repository without tag or digest: `ghcr.io/x/agent:v1` -> `ghcr.io/x/agent`. */
export function imageRepository(image: string): string {
  const at = image.indexOf("@");
  const noDigest = at === -1 ? image : image.slice(0, at);
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export const EXAMPLE_IMAGE = "ghcr.io/stefanprodan/podinfo:6.7.1";

/**
 * The image of the Job that lays a controlplane team's baseline inside its API server
 * (team-template/overlay/controlplane/baseline-hook.yaml.hbs). Its tag is the Kubernetes
 * release tools/versions.env pins (KUBERNETES_VERSION: the control planes the tests run and the
 * kubectl they use), so the client that applies the baseline is the one it was tested with;
 * render/ is pure and cannot read that file, so the tag is written here and a unit test
 * (test/unit/controlplane-render.test.ts) fails when the two disagree.
 */
export const KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.34.4";

/**
 * The extra namespace names (team.yaml's `namespaces`) of the admin repo's other teams, by
 * team: `--allow-from other` lets in every namespace of team `other`. A name not in it (a team
 * with only its home namespace, or a namespace that is no team) stands for that one namespace.
 */
export type TeamPeers = ReadonlyMap<string, readonly string[]>;

export const NO_PEERS: TeamPeers = new Map();

export function teamContext(config: ClusterConfig, team: TeamSpec, versions: Versions, peers: TeamPeers = NO_PEERS, apps: AppCatalog = NO_APPS) {
  const tier = config.tiers[team.tier];
  if (tier === undefined) throw new Error(`tier ${team.tier} is not in the cluster config`);
  // The tier is the team's total: app instances take their template's quota out of it, the
  // rest is divided among home and the extra namespaces; generate/ refuses a split that
  // leaves a namespace nothing before it renders.
  const split = teamQuotaParts(team, tier.quota, config.namespaceQuota, apps);
  if (split.problems.length > 0) throw new Error(split.problems.join("; "));
  const all = teamNamespaces(team.name, namespaceNames(team));
  const teamSelector = team.nodePool === null ? null : `${team.nodePool.key}=${team.nodePool.value}`;
  // The team's agent runs in the team namespace, so its exact image repo is always allowed;
  // under Flux no agent runs there (the controllers live in flux-system).
  const agentPrefixes = config.engine === "tenantry" ? [`${imageRepository(config.agentImage)}:`] : [];
  return {
    ...clusterContext(config, versions),
    team: {
      name: team.name,
      tier: team.tier,
      repoUrl: team.repoUrl,
      branch: team.branch,
      interval: team.interval,
      allowFrom: team.allowFrom,
      nodePool: team.nodePool,
      registries: team.registries,
      owners: team.owners,
      extensions: team.extensions,
    },
    // Whether the team's own agent runs in its namespace (its RoleBinding and egress policy):
    // under tenantry, for a namespace team; never inside a team's own control plane.
    teamAgent: config.engine === "tenantry" && team.isolation === "namespace",
    nodeSelector: team.nodePool === null ? null : `${team.nodePool.key}=${team.nodePool.value}`,
    quota: Object.entries(tier.quota).map(([key, value]) => ({ key, value })),
    // Every namespace of the team, home first, each with its part of the tier's quota; a team
    // with only its home namespace renders exactly as before namespaces existed.
    // An app instance's namespace has its template's container defaults, maxima and node pool.
    namespaces: split.parts.map((p, i) => {
      const policy = p.app?.template.policy;
      const pool = policy?.nodePool ?? null;
      return {
        name: p.namespace,
        home: i === 0,
        quota: Object.entries(p.quota).map(([key, value]) => ({ key, value })),
        defaults: policy?.containerDefaults ?? tier.containerDefaults,
        max: policy?.containerMax ?? null,
        // The team's own pool binds (its node-pool policy holds every namespace of it to it): app create refuses a template pinned elsewhere.
        nodeSelector: teamSelector ?? (pool === null ? null : `${pool.key}=${pool.value}`),
        app: p.app === null ? null : { name: p.app.instance.name, template: p.app.template.name, admin: p.app.template.delivery === "admin" },
      };
    }),
    // The instances whose objects the admin repo holds (cluster/<team>/apps/<instance>/).
    adminApps: split.parts.flatMap((p) => (p.app !== null && p.app.template.delivery === "admin" ? [p.app.instance.name] : [])),
    // SOPS: the team's GitSync (or Kustomization) decrypts with Secret <team>-sops-age.
    sops: team.ageRecipients.length > 0,
    multiNamespace: all.length > 1,
    allNamespaces: all,
    extraNamespaces: all.slice(1),
    // --allow-from: each name with every namespace it stands for (all of a team's).
    allowFromPeers: team.allowFrom.map((name) => {
      const extra = peers.get(name) ?? [];
      return { name, multi: extra.length > 0, namespaces: teamNamespaces(name, extra) };
    }),
    defaults: tier.containerDefaults,
    allowedImagePrefixes: [...new Set([...team.registries, ...agentPrefixes])].sort(),
    exampleImage: EXAMPLE_IMAGE,
  };
}
