// ClusterConfig: the admin repo's tenantry.yaml, the one place a platform team sets quota
// tiers, defaults and the policy engine. Parsed and validated here; rendered from
// cluster-template/tenantry.yaml.hbs by `tenantry init`.

import { parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import { POLICY_ENGINES, type PolicyEngine } from "./constants.js";
import { dnsLabelProblems } from "./names.js";
import { schemaProblems, tenantryDocumentSchema } from "./schema.js";
import { documentValueOf } from "./yaml-value.js";
import { gitUrlProblems, ownerProblems, quantityProblems, registryProblems } from "./values.js";

export { POLICY_ENGINES, type PolicyEngine };

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
  readonly defaultTier: string;
  readonly defaultRegistries: readonly string[];
  readonly tiers: Readonly<Record<string, Tier>>;
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
    allowExternalName: { type: "boolean" },
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
    gitUrl?: string;
    teamRepoPattern?: string;
    platformTeam?: string;
    policyEngine: PolicyEngine;
    podSecurity: ClusterConfig["podSecurity"];
    agent: { image: string };
    requireAlwaysPull?: boolean;
    allowExternalName?: boolean;
    defaultTier: string;
    defaultRegistries: string[];
    tiers: Record<string, Tier>;
  };
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
  if (s.gitUrl !== undefined) problems.push(...gitUrlProblems(`${file}: spec.gitUrl`, s.gitUrl));
  if (s.teamRepoPattern !== undefined) {
    if (!s.teamRepoPattern.includes("{team}")) {
      problems.push(`${file}: spec.teamRepoPattern must contain "{team}", e.g. "git@github.com:acme/{team}.git"`);
    } else {
      problems.push(...gitUrlProblems(`${file}: spec.teamRepoPattern`, s.teamRepoPattern.replaceAll("{team}", "team")));
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
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    name: raw.metadata.name,
    gitUrl: s.gitUrl ?? null,
    teamRepoPattern: s.teamRepoPattern ?? null,
    platformTeam: s.platformTeam ?? null,
    policyEngine: s.policyEngine,
    podSecurity: s.podSecurity,
    agentImage: s.agent.image,
    requireAlwaysPull: s.requireAlwaysPull ?? false,
    allowExternalName: s.allowExternalName ?? false,
    defaultTier: s.defaultTier,
    defaultRegistries: s.defaultRegistries,
    tiers: s.tiers,
  };
}
