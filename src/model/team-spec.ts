// TeamSpec: what create-team was told about one team, kept in cluster/<team>/team.yaml so
// that a later create-team can change one option without repeating the others, and
// `tenantry list` can show it. Not a Kubernetes object: kustomize never reads it.

import { parseDocument, stringify } from "yaml";
import { ValidationError } from "../errors.js";
import type { ClusterConfig } from "./cluster-config.js";
import { namespaceProblems, teamNameProblems, yamlScalarProblems } from "./names.js";
import { schemaProblems, tenantryDocumentSchema } from "./schema.js";
import { gitUrlProblems, type NodePool, ownerProblems, parseNodePool, registryProblems } from "./values.js";
import { documentValueOf } from "./yaml-value.js";
import { extraNamespace, extraNamespaceProblems, splitQuota } from "./namespaces.js";
import { type AppInstance, instanceNameProblems } from "./apps.js";
import { CONTROLPLANE_BACKENDS, CONTROLPLANE_TYPES, type ControlPlaneOptions, controlPlaneTeamNameProblems, type Isolation, ISOLATIONS } from "./controlplane.js";

export interface TeamSpec {
  readonly name: string;
  readonly tier: string;
  readonly repoUrl: string;
  readonly branch: string;
  /** How often the team's GitSync reconciles (Go duration). */
  readonly interval: string;
  readonly allowFrom: readonly string[];
  readonly nodePool: NodePool | null;
  readonly registries: readonly string[];
  readonly owners: readonly string[];
  /**
   * Objects the team's overlay holds beyond what create-team renders (`Kind/name` or
   * `Kind/namespace/name`), declared so that `tenantry validate` accepts them; `tenantry
   * plan` still flags every change to one.
   */
  readonly extensions: readonly string[];
  /**
   * `namespace` (a namespace on the shared cluster) or `controlplane` (the team's own API
   * server, a KubeFlex ControlPlane: model/controlplane.ts). Absent in team.yaml = namespace.
   */
  readonly isolation: Isolation;
  /** For `controlplane` only: KubeFlex's type and backend; null otherwise. */
  readonly controlPlane: ControlPlaneOptions | null;
  /**
   * The team's extra namespaces by name: `api` is namespace `<team>-api` (model/namespaces.ts).
   * The home namespace `<team>` is always the team's and is not listed. Sorted; [] = home only.
   */
  readonly namespaces: readonly string[];
  /**
   * The team's app instances (`tenantry app create`): instance `shop` is namespace
   * `<team>-shop`, one of the team's namespaces (model/apps.ts). Sorted by name; [] = none.
   */
  readonly apps: readonly AppInstance[];
  /**
   * The age recipients (public keys) the team's SOPS files are encrypted for (`tenantry secrets
   * init`): with any, the team's GitSync (or Flux Kustomization) decrypts with the identities of
   * Secret `<team>-sops-age` and the overlay holds them in age.pub. Oldest first; [] = none.
   */
  readonly ageRecipients: readonly string[];
}

/**
 * The names after `<team>-` of every namespace of the team beyond its home: the extra
 * namespaces, then the app instances. What the GitSync, the policies and the views cover.
 */
export function namespaceNames(spec: Pick<TeamSpec, "namespaces" | "apps">): string[] {
  return [...spec.namespaces, ...spec.apps.map((a) => a.name)];
}

/** Options as given on the command line; undefined means "keep what the team has". */
export interface TeamOptions {
  readonly tier?: string | undefined;
  readonly repoUrl?: string | undefined;
  readonly branch?: string | undefined;
  readonly interval?: string | undefined;
  readonly allowFrom?: readonly string[] | undefined;
  readonly nodePool?: string | undefined;
  readonly registries?: readonly string[] | undefined;
  readonly owners?: readonly string[] | undefined;
  readonly extensions?: readonly string[] | undefined;
  readonly isolation?: string | undefined;
  readonly controlPlaneType?: string | undefined;
  readonly backend?: string | undefined;
  readonly namespaces?: readonly string[] | undefined;
  readonly apps?: readonly AppInstance[] | undefined;
  readonly ageRecipients?: readonly string[] | undefined;
}

const schema = tenantryDocumentSchema("Team", {
  type: "object",
  additionalProperties: false,
  required: ["tier", "repoUrl", "branch", "allowFrom", "registries", "owners"],
  properties: {
    tier: { type: "string" },
    repoUrl: { type: "string" },
    branch: { type: "string", minLength: 1 },
    interval: { type: "string" },
    allowFrom: { type: "array", items: { type: "string" } },
    nodePool: {
      type: "object",
      additionalProperties: false,
      required: ["key", "value"],
      properties: { key: { type: "string" }, value: { type: "string" } },
    },
    registries: { type: "array", items: { type: "string" } },
    owners: { type: "array", items: { type: "string" } },
    extensions: { type: "array", items: { type: "string" } },
    namespaces: { type: "array", items: { type: "string" } },
    apps: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "template", "values", "templateDigest"],
        properties: {
          name: { type: "string" },
          template: { type: "string" },
          values: { type: "object", additionalProperties: { anyOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }] } },
          templateDigest: { type: "string" },
        },
      },
    },
    ageRecipients: { type: "array", items: { type: "string" } },
    isolation: { type: "string", enum: [...ISOLATIONS] },
    controlPlane: {
      type: "object",
      additionalProperties: false,
      required: ["type", "backend"],
      properties: { type: { type: "string", enum: [...CONTROLPLANE_TYPES] }, backend: { type: "string", enum: [...CONTROLPLANE_BACKENDS] } },
    },
  },
});

/** An extension names one object: `Kind/name` or `Kind/namespace/name`. */
const EXTENSION = /^[A-Z][A-Za-z0-9]*\/([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/;

const BRANCH = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$/;
/** An age recipient: X25519 (age1 and 58 bech32 characters) or post-quantum (age1pq1..., longer). */
export const AGE_RECIPIENT = /^age1[0-9a-z]{58,8000}$/;
// The GitSync CRD's pattern, at least one second and at most a day.
const INTERVAL = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

function uniqueSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** Every problem with a team spec against the cluster config (names, tier, URLs, lists). */
export function teamSpecProblems(spec: TeamSpec, config: ClusterConfig): string[] {
  const problems = [...teamNameProblems(spec.name)];
  if (!(spec.tier in config.tiers)) {
    problems.push(`unknown tier "${spec.tier}": use one of ${Object.keys(config.tiers).join(", ")} (tiers are defined in tenantry.yaml)`);
  }
  problems.push(...gitUrlProblems("repo URL", spec.repoUrl));
  if (!BRANCH.test(spec.branch)) problems.push(`branch "${spec.branch}" is not a valid Git branch name`);
  if (!INTERVAL.test(spec.interval)) problems.push(`--interval "${spec.interval}" is not a duration: use e.g. 30s, 1m or 1h`);
  for (const source of spec.allowFrom) {
    // network-policies.yaml.hbs writes it bare, as a label value: 010 would select namespace 10.
    problems.push(...namespaceProblems("--allow-from", source), ...yamlScalarProblems("--allow-from", source, "tenantry cannot write it into a NetworkPolicy yet: leave it out of --allow-from"));
    if (source === spec.name) problems.push(`--allow-from "${source}" is the team itself: traffic within a namespace is always allowed`);
  }
  for (const r of spec.registries) problems.push(...registryProblems("--registry", r));
  for (const o of spec.owners) problems.push(...ownerProblems("--owner", o));
  for (const e of spec.extensions) {
    if (!EXTENSION.test(e)) problems.push(`--extension "${e}" does not name one object: use Kind/name or Kind/namespace/name, e.g. ConfigMap/${spec.name}/settings`);
  }
  const nameProblems = extraNamespaceProblems(spec.name, spec.namespaces);
  problems.push(...nameProblems);
  for (const source of spec.allowFrom) {
    if (spec.namespaces.some((n) => extraNamespace(spec.name, n) === source)) problems.push(`--allow-from "${source}" is the team's own namespace: traffic among a team's namespaces is always allowed`);
  }
  // The tier is the team's total: a split that leaves a namespace none of a resource is refused.
  const tier = config.tiers[spec.tier];
  // With app instances the split is of what they leave (model/apps.ts teamQuotaParts, which needs the templates).
  if (tier !== undefined && nameProblems.length === 0 && spec.isolation === "namespace" && spec.apps.length === 0) {
    problems.push(...splitQuota(spec.name, spec.namespaces, tier.quota, config.namespaceQuota).problems.map((p) => `--namespaces: ${p}`));
  }
  for (const app of spec.apps) {
    problems.push(...instanceNameProblems(spec.name, app.name));
    if (spec.namespaces.includes(app.name)) problems.push(`app instance "${app.name}": ${extraNamespace(spec.name, app.name)} is already an extra namespace of team ${spec.name}: pick another instance name`);
  }
  if (new Set(spec.apps.map((a) => a.name)).size !== spec.apps.length) problems.push(`team ${spec.name} has two app instances of one name: ${spec.apps.map((a) => a.name).join(", ")}`);
  if (spec.isolation === "controlplane" && spec.apps.length > 0) problems.push(`app instances are not yet supported with --isolation controlplane: an instance is a namespace of this cluster`);
  if (spec.isolation === "controlplane" && spec.namespaces.length > 0) problems.push(`--namespaces is not yet supported with --isolation controlplane: the team's own API server holds one namespace, ${spec.name}`);
  if (spec.isolation === "controlplane") problems.push(...controlPlaneTeamNameProblems(spec.name));
  for (const r of spec.ageRecipients) if (!AGE_RECIPIENT.test(r)) problems.push(`age recipient "${r.slice(0, 80)}" is not an age public key (age1...)`);
  if (new Set(spec.ageRecipients).size !== spec.ageRecipients.length) problems.push(`team ${spec.name} lists an age recipient twice`);
  if (spec.isolation === "controlplane" && spec.ageRecipients.length > 0) problems.push(`SOPS decryption is not yet supported with --isolation controlplane: the team's GitSync applies into its own API server, where the age Secret is not read`);
  if (spec.isolation === "controlplane" && spec.controlPlane === null) problems.push(`team "${spec.name}" has isolation controlplane but no control plane type: pass --controlplane-type k8s|vcluster|external`);
  if (spec.isolation === "namespace" && spec.controlPlane !== null) problems.push(`--controlplane-type and --backend apply to --isolation controlplane only: pass --isolation controlplane, or leave them out`);
  return problems;
}

/** The isolation and control plane options after `options` over `existing`, with their problems. */
function resolveIsolation(options: TeamOptions, existing: TeamSpec | null): { isolation: Isolation; controlPlane: ControlPlaneOptions | null; problems: string[] } {
  const problems: string[] = [];
  const isolationText = options.isolation ?? existing?.isolation ?? "namespace";
  if (!(ISOLATIONS as readonly string[]).includes(isolationText)) problems.push(`--isolation "${isolationText}" is not one of ${ISOLATIONS.join(", ")}`);
  const isolation: Isolation = isolationText === "controlplane" ? "controlplane" : "namespace";
  const wantsCp = options.controlPlaneType !== undefined || options.backend !== undefined;
  if (isolation === "namespace") {
    if (wantsCp) problems.push("--controlplane-type and --backend apply to --isolation controlplane only: pass --isolation controlplane, or leave them out");
    return { isolation, controlPlane: null, problems };
  }
  const type = options.controlPlaneType ?? existing?.controlPlane?.type ?? "k8s";
  const backend = options.backend ?? existing?.controlPlane?.backend ?? "shared";
  if (!(CONTROLPLANE_TYPES as readonly string[]).includes(type)) problems.push(`--controlplane-type "${type}" is not one of ${CONTROLPLANE_TYPES.join(", ")}`);
  if (!(CONTROLPLANE_BACKENDS as readonly string[]).includes(backend)) problems.push(`--backend "${backend}" is not one of ${CONTROLPLANE_BACKENDS.join(", ")}`);
  return { isolation, controlPlane: { type: type as ControlPlaneOptions["type"], backend: backend as ControlPlaneOptions["backend"] }, problems };
}

/**
 * The team's spec after applying `options` over `existing` (or over the cluster defaults for
 * a new team). Throws a ValidationError listing every problem.
 */
export function resolveTeamSpec(
  name: string,
  options: TeamOptions,
  existing: TeamSpec | null,
  config: ClusterConfig,
): TeamSpec {
  const problems: string[] = [];
  let nodePool = existing?.nodePool ?? null;
  if (options.nodePool !== undefined) {
    const parsed = parseNodePool("--node-pool", options.nodePool);
    problems.push(...parsed.problems);
    nodePool = parsed.pool ?? null;
  }
  const repoUrl =
    options.repoUrl ?? existing?.repoUrl ?? config.teamRepoPattern?.replaceAll("{team}", name) ?? null;
  if (repoUrl === null) {
    problems.push(
      `team "${name}" has no repo URL: pass --repo-url URL, or set spec.teamRepoPattern in tenantry.yaml (e.g. "git@github.com:acme/{team}.git")`,
    );
  }
  const tenancy = resolveIsolation(options, existing);
  problems.push(...tenancy.problems);
  const spec: TeamSpec = {
    name,
    tier: options.tier ?? existing?.tier ?? config.defaultTier,
    repoUrl: repoUrl ?? "",
    branch: options.branch ?? existing?.branch ?? "main",
    interval: options.interval ?? existing?.interval ?? "1m",
    allowFrom: uniqueSorted(options.allowFrom ?? existing?.allowFrom ?? []),
    nodePool,
    registries: uniqueSorted(options.registries ?? existing?.registries ?? config.defaultRegistries),
    owners: uniqueSorted(options.owners ?? existing?.owners ?? []),
    extensions: uniqueSorted(options.extensions ?? existing?.extensions ?? []),
    isolation: tenancy.isolation,
    controlPlane: tenancy.controlPlane,
    namespaces: options.namespaces === undefined ? (existing?.namespaces ?? []) : [...options.namespaces].sort(),
    apps: [...(options.apps ?? existing?.apps ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
    ageRecipients: [...(options.ageRecipients ?? existing?.ageRecipients ?? [])],
  };
  problems.push(...teamSpecProblems(spec, config).filter((p) => repoUrl !== null || !p.startsWith("repo URL")));
  if (problems.length > 0) throw new ValidationError([...new Set(problems)]);
  return spec;
}

interface RawTeam {
  metadata: { name: string };
  spec: Omit<TeamSpec, "name" | "nodePool" | "interval" | "extensions" | "isolation" | "controlPlane" | "namespaces" | "apps" | "ageRecipients"> & {
    ageRecipients?: string[];
    namespaces?: string[];
    apps?: AppInstance[];
    nodePool?: NodePool;
    interval?: string;
    extensions?: string[];
    isolation?: Isolation;
    controlPlane?: ControlPlaneOptions;
  };
}

/** Parses cluster/<team>/team.yaml. */
export function parseTeamSpec(text: string, file: string): TeamSpec {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ValidationError([`${file}: malformed YAML: fix the file or restore it with git`]);
  }
  const value = documentValueOf(doc, file);
  const problems = schemaProblems(file, schema, value);
  if (problems.length > 0) throw new ValidationError(problems);
  const raw = value as RawTeam;
  const spec: TeamSpec = {
    name: raw.metadata.name,
    ...raw.spec,
    interval: raw.spec.interval ?? "1m",
    nodePool: raw.spec.nodePool ?? null,
    extensions: raw.spec.extensions ?? [],
    isolation: raw.spec.isolation ?? "namespace",
    controlPlane: raw.spec.controlPlane ?? null,
    namespaces: raw.spec.namespaces ?? [],
    apps: raw.spec.apps ?? [],
    ageRecipients: raw.spec.ageRecipients ?? [],
  };
  if (spec.isolation === "controlplane" && spec.controlPlane === null) {
    throw new ValidationError([`${file}: isolation controlplane needs spec.controlPlane (type, backend): set it with \`tenantry create-team ${spec.name} --isolation controlplane --controlplane-type k8s\``]);
  }
  return spec;
}

/** Serialises a team spec for cluster/<team>/team.yaml. */
export function formatTeamSpec(spec: TeamSpec): string {
  const { name, nodePool, extensions, isolation, controlPlane, namespaces, apps, ageRecipients, ...rest } = spec;
  // A namespace team's file stays as it was before the keys existed (byte for byte).
  const body = {
    apiVersion: "tenantry.dev/v1alpha1",
    kind: "Team",
    metadata: { name },
    spec: {
      ...rest,
      ...(nodePool === null ? {} : { nodePool }),
      ...(extensions.length === 0 ? {} : { extensions }),
      ...(isolation === "namespace" ? {} : { isolation }),
      ...(controlPlane === null ? {} : { controlPlane }),
      ...(namespaces.length === 0 ? {} : { namespaces }),
      ...(apps.length === 0 ? {} : { apps }),
      ...(ageRecipients.length === 0 ? {} : { ageRecipients }),
    },
  };
  return (
    "# Written by `tenantry create-team`; change it with create-team, not by hand.\n" +
    "# Not a Kubernetes object: kustomize does not read this file.\n" +
    stringify(body, { lineWidth: 0 })
  );
}
