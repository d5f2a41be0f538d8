// ClusterConfig: the admin repo's tenantry.yaml, the one place a platform team sets quota
// tiers, defaults and the policy engine. Parsed and validated here; rendered from
// cluster-template/tenantry.yaml.hbs by `tenantry init`.

import { parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import { DEFAULT_SYNC_ENGINE, POLICY_ENGINES, type PolicyEngine, SYNC_ENGINES, type SyncEngine } from "./constants.js";
import { dnsLabelProblems } from "./names.js";
import { DEFAULT_NAMESPACE_QUOTA, type NamespaceQuotaRule, namespaceQuotaProblems } from "./namespaces.js";
import { schemaProblems, tenantryDocumentSchema } from "./schema.js";
import { documentValueOf } from "./yaml-value.js";
import { gitUrlProblems, ownerProblems, quantityProblems, registryProblems } from "./values.js";

export { DEFAULT_SYNC_ENGINE, POLICY_ENGINES, type PolicyEngine, SYNC_ENGINES, type SyncEngine };

export const QUOTA_KEYS = [
  "requests.cpu",
  "limits.cpu",
  "requests.memory",
  "limits.memory",
  "requests.ephemeral-storage",
  "limits.ephemeral-storage",
  "pods",
  "services",
  "replicationcontrollers",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
] as const;

export type ResourcePair = Readonly<Record<"cpu" | "memory" | "ephemeral-storage", string>>;

export interface Tier {
  readonly quota: Readonly<Record<(typeof QUOTA_KEYS)[number], string>>;
  /** LimitRange defaults for a container that declares no resources. */
  readonly containerDefaults: { readonly requests: ResourcePair; readonly limits: ResourcePair };
}

export interface ClusterConfig {
  readonly name: string;
  /** What applies this repo and the team repos (src/engines/); `tenantry` when tenantry.yaml does not say. */
  readonly engine: SyncEngine;
  readonly gitUrl: string | null;
  /** Team repo URL with `{team}` in it, used when create-team gets no --repo-url. */
  readonly teamRepoPattern: string | null;
  readonly platformTeam: string | null;
  readonly policyEngine: PolicyEngine;
  readonly podSecurity: { readonly level: "restricted" | "baseline"; readonly version: string };
  readonly agentImage: string;
  readonly requireAlwaysPull: boolean;
  /** Services of type ExternalName in team namespaces (they can point at any DNS name). */
  readonly allowExternalName: boolean;
  /** Secrets in plain text in team repos (default: refused; a team's Secrets go into Git SOPS-encrypted). */
  readonly allowPlainSecrets: boolean;
  readonly defaultTier: string;
  readonly defaultRegistries: readonly string[];
  readonly tiers: Readonly<Record<string, Tier>>;
  /** How a team's tier quota is divided among its namespaces (model/namespaces.ts); default even. */
  readonly namespaceQuota: NamespaceQuotaRule;
}

const pair = {
  type: "object",
  additionalProperties: false,
  required: ["cpu", "memory", "ephemeral-storage"],
  properties: { cpu: { type: "string" }, memory: { type: "string" }, "ephemeral-storage": { type: "string" } },
};

const schema = tenantryDocumentSchema("ClusterConfig", {
  type: "object",
  additionalProperties: false,
  required: ["policyEngine", "podSecurity", "agent", "defaultTier", "defaultRegistries", "tiers"],
  properties: {
    engine: { enum: [...SYNC_ENGINES] },
    gitUrl: { type: "string" },
    teamRepoPattern: { type: "string" },
    platformTeam: { type: "string" },
    policyEngine: { enum: [...POLICY_ENGINES] },
    podSecurity: {
      type: "object",
      additionalProperties: false,
      required: ["level", "version"],
      properties: {
        level: { enum: ["restricted", "baseline"] },
        version: { type: "string", pattern: "^(latest|v1\\.[0-9]+)$" },
      },
    },
    agent: {
      type: "object",
      additionalProperties: false,
      required: ["image"],
      properties: { image: { type: "string", minLength: 1 } },
    },
    requireAlwaysPull: { type: "boolean" },
    namespaceQuota: {
      type: "object",
      additionalProperties: false,
      required: ["split"],
      properties: {
        split: { enum: ["even", "weighted"] },
        weights: { type: "object", additionalProperties: { type: "integer" } },
      },
    },
    allowExternalName: { type: "boolean" },
    allowPlainSecrets: { type: "boolean" },
    defaultTier: { type: "string" },
    defaultRegistries: { type: "array", items: { type: "string" } },
    tiers: {
      type: "object",
      minProperties: 1,
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        required: ["quota", "containerDefaults"],
        properties: {
          quota: {
            type: "object",
            additionalProperties: false,
            required: [...QUOTA_KEYS],
            properties: Object.fromEntries(QUOTA_KEYS.map((k) => [k, { type: "string" }])),
          },
          containerDefaults: {
            type: "object",
            additionalProperties: false,
            required: ["requests", "limits"],
            properties: { requests: pair, limits: pair },
          },
        },
      },
    },
  },
});

interface RawConfig {
  metadata: { name: string };
  spec: {
    engine?: SyncEngine;
    gitUrl?: string;
    teamRepoPattern?: string;
    platformTeam?: string;
    policyEngine: PolicyEngine;
    podSecurity: ClusterConfig["podSecurity"];
    agent: { image: string };
    requireAlwaysPull?: boolean;
    allowExternalName?: boolean;
    allowPlainSecrets?: boolean;
    defaultTier: string;
    defaultRegistries: string[];
    tiers: Record<string, Tier>;
    namespaceQuota?: { split: "even" | "weighted"; weights?: Record<string, number> };
  };
}

const SCP_LIKE_URL = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(.+)$/;

/**
 * Flux's GitRepository fetches ssh:// and http(s):// URLs only: it refuses the scp-like
 * `git@host:path` git itself takes (and file://). The fix names the ssh:// spelling of an
 * scp-like URL. (The path of an scp-like URL is relative to the login's home directory, the
 * ssh:// one absolute: the same repo on GitHub, GitLab and Gitea, which serve both alike.)
 */
export function fluxUrlProblems(what: string, url: string): string[] {
  if (/^(ssh|https?):\/\//.test(url)) return [];
  const scp = url.includes("://") ? null : SCP_LIKE_URL.exec(url);
  const fix = scp === null ? "ssh://git@host/path or https://host/path" : `ssh://${scp[1] ?? "git"}@${scp[2] ?? "host"}/${(scp[3] ?? "").replace(/^\/+/, "")}`;
  return [`${what} "${url}": Flux fetches only ssh:// and http(s):// URLs; write it as ${fix}`];
}

/** Parses and validates tenantry.yaml; throws a ValidationError listing every problem. */
export function parseClusterConfig(text: string, file = "tenantry.yaml"): ClusterConfig {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new ValidationError([
      `${file}: malformed YAML (${first?.message.split("\n")[0] ?? "parse error"}): fix the file or restore it with git`,
    ]);
  }
  const value = documentValueOf(doc, file);
  const problems = schemaProblems(file, schema, value);
  if (problems.length > 0) throw new ValidationError(problems);
  const raw = value as RawConfig;
  const s = raw.spec;
  problems.push(...dnsLabelProblems(`${file}: metadata.name`, raw.metadata.name));
  const engine = s.engine ?? DEFAULT_SYNC_ENGINE;
  if (s.gitUrl !== undefined) {
    const urlProblems = gitUrlProblems(`${file}: spec.gitUrl`, s.gitUrl);
    problems.push(...urlProblems);
    if (urlProblems.length === 0 && engine === "flux") problems.push(...fluxUrlProblems(`${file}: spec.gitUrl`, s.gitUrl));
  }
  if (s.teamRepoPattern !== undefined) {
    if (!s.teamRepoPattern.includes("{team}")) {
      problems.push(`${file}: spec.teamRepoPattern must contain "{team}", e.g. "git@github.com:acme/{team}.git"`);
    } else {
      const urlProblems = gitUrlProblems(`${file}: spec.teamRepoPattern`, s.teamRepoPattern.replaceAll("{team}", "team"));
      problems.push(...urlProblems);
      if (urlProblems.length === 0 && engine === "flux") problems.push(...fluxUrlProblems(`${file}: spec.teamRepoPattern`, s.teamRepoPattern));
    }
  }
  if (s.platformTeam !== undefined) problems.push(...ownerProblems(`${file}: spec.platformTeam`, s.platformTeam));
  for (const r of s.defaultRegistries) problems.push(...registryProblems(`${file}: spec.defaultRegistries`, r));
  if (!(s.defaultTier in s.tiers)) {
    problems.push(`${file}: spec.defaultTier "${s.defaultTier}" is not a tier: use one of ${Object.keys(s.tiers).join(", ")}`);
  }
  for (const [tierName, tier] of Object.entries(s.tiers)) {
    problems.push(...dnsLabelProblems(`${file}: tier name`, tierName));
    const at = `${file}: spec.tiers.${tierName}`;
    for (const [k, v] of Object.entries(tier.quota)) problems.push(...quantityProblems(`${at}.quota.${k}`, v));
    for (const side of ["requests", "limits"] as const) {
      for (const [k, v] of Object.entries(tier.containerDefaults[side])) {
        problems.push(...quantityProblems(`${at}.containerDefaults.${side}.${k}`, v));
      }
    }
  }
  const namespaceQuota: NamespaceQuotaRule =
    s.namespaceQuota === undefined || s.namespaceQuota.split === "even" ? DEFAULT_NAMESPACE_QUOTA : { split: "weighted", weights: s.namespaceQuota.weights ?? {} };
  if (s.namespaceQuota?.split === "even" && s.namespaceQuota.weights !== undefined) problems.push(`${file}: spec.namespaceQuota.weights is read only with split: weighted`);
  problems.push(...namespaceQuotaProblems(`${file}: spec.namespaceQuota`, namespaceQuota));
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    name: raw.metadata.name,
    engine,
    gitUrl: s.gitUrl ?? null,
    teamRepoPattern: s.teamRepoPattern ?? null,
    platformTeam: s.platformTeam ?? null,
    policyEngine: s.policyEngine,
    podSecurity: s.podSecurity,
    agentImage: s.agent.image,
    requireAlwaysPull: s.requireAlwaysPull ?? false,
    allowExternalName: s.allowExternalName ?? false,
    allowPlainSecrets: s.allowPlainSecrets ?? false,
    defaultTier: s.defaultTier,
    defaultRegistries: s.defaultRegistries,
    tiers: s.tiers,
    namespaceQuota,
  };
}
