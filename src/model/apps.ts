// App templates (issue 20, the KubePlus ResourceComposition in Git form): the admin repo's
// `apps/<template>/` holds a Kustomize base and `template.yaml`, which declares the template's
// parameters (a JSON schema of scalars), where each lands in the base (JSON-pointer targets,
// rendered as typed JSON patches) and its per-instance policy (quota, container defaults and
// maxima, node pool). `tenantry app create <team> <template> <instance>` records an instance
// in the team's team.yaml; the instance is namespace `<team>-<instance>`, one of the team's.
// Pure: parsing, problems and the instance's kustomization text.

import { createHash } from "node:crypto";
import { Ajv, type ErrorObject, type SchemaObject } from "ajv";
import { parseDocument, stringify } from "yaml";
import { ValidationError } from "../errors.js";
import { QUOTA_KEYS, type ResourcePair } from "./cluster-config.js";
import { pointerKeys, schemaProblems, showKey, tenantryDocumentSchema } from "./schema.js";
import { type NodePool } from "./values.js";
import { documentValueOf } from "./yaml-value.js";
import { quantityValue } from "./quantity.js";
import { dnsLabelProblems, isReservedNamespace, TEAM_NAME_SUFFIXES } from "./names.js";
import { extraNamespace, type NamespaceQuotaRule, remainingQuota, splitQuota } from "./namespaces.js";

/** The admin repo's directory of app templates. */
export const APPS_DIR = "apps";
export const TEMPLATE_FILE = "template.yaml";
/** On an instance's namespace and every object of it: the instance's name. */
export const APP_LABEL = "tenantry.dev/app";
/** On an instance's namespace and every object of it: the template it was made from. */
export const APP_TEMPLATE_LABEL = "tenantry.dev/app-template";

export const DELIVERIES = ["admin", "team"] as const;
/**
 * Who applies an instance's objects: `admin`, the admin repo's sync (rendered under
 * cluster/<team>/apps/<instance>/, owned by the platform: the team may not change them);
 * `team`, the team's own repo (app create hands the rendered objects to it once).
 */
export type Delivery = (typeof DELIVERIES)[number];

export interface ParamTarget {
  readonly kind: string;
  readonly name: string;
  /** A JSON pointer into the object: /data/GREETING, /spec/replicas. */
  readonly path: string;
}

export interface AppPolicy {
  readonly quota: Readonly<Record<string, string>>;
  readonly containerDefaults: { readonly requests: ResourcePair; readonly limits: ResourcePair };
  /** The most a container of the instance may ask (LimitRange max); null: the quota alone. */
  readonly containerMax: ResourcePair | null;
  readonly nodePool: NodePool | null;
}

export type ParamValue = string | number | boolean;

export interface AppTemplate {
  readonly name: string;
  readonly description: string;
  readonly delivery: Delivery;
  /** The JSON schema of the parameters: an object of scalar properties. */
  readonly parameters: { readonly properties: Readonly<Record<string, SchemaObject>>; readonly required: readonly string[] };
  readonly targets: Readonly<Record<string, readonly ParamTarget[]>>;
  readonly policy: AppPolicy;
  /** sha256 of template.yaml's text, 12 hex digits: which version an instance was rendered from. */
  readonly digest: string;
}

/** One instance as team.yaml records it. */
export interface AppInstance {
  readonly name: string;
  readonly template: string;
  /** The values given with --set (defaults are the template's, applied when rendering). */
  readonly values: Readonly<Record<string, ParamValue>>;
  /** The digest of the template.yaml it was last rendered from (app upgrade renders it again). */
  readonly templateDigest: string;
}

export function templateDir(template: string): string {
  return `${APPS_DIR}/${template}`;
}

export function templateFile(template: string): string {
  return `${templateDir(template)}/${TEMPLATE_FILE}`;
}

/** An instance's directory in the team's overlay (admin delivery). */
export function instanceDir(team: string, instance: string): string {
  return `cluster/${team}/apps/${instance}`;
}

const pair = {
  type: "object",
  additionalProperties: false,
  required: ["cpu", "memory", "ephemeral-storage"],
  properties: { cpu: { type: "string" }, memory: { type: "string" }, "ephemeral-storage": { type: "string" } },
};

const SCALAR_TYPES = ["string", "integer", "number", "boolean"] as const;

const schema = tenantryDocumentSchema("AppTemplate", {
  type: "object",
  additionalProperties: false,
  required: ["description", "parameters", "targets", "policy"],
  properties: {
    description: { type: "string" },
    delivery: { type: "string", enum: [...DELIVERIES] },
    parameters: {
      type: "object",
      additionalProperties: false,
      required: ["type", "properties"],
      properties: {
        type: { const: "object" },
        properties: { type: "object", additionalProperties: { type: "object", required: ["type"], properties: { type: { type: "string", enum: [...SCALAR_TYPES] } } } },
        required: { type: "array", items: { type: "string" } },
      },
    },
    targets: {
      type: "object",
      additionalProperties: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["kind", "name", "path"],
          properties: { kind: { type: "string", pattern: "^[A-Z][A-Za-z0-9]*$" }, name: { type: "string", minLength: 1 }, path: { type: "string", pattern: "^(/[^/]+)+$" } },
        },
      },
    },
    policy: {
      type: "object",
      additionalProperties: false,
      required: ["quota", "containerDefaults"],
      properties: {
        quota: { type: "object", additionalProperties: false, required: [...QUOTA_KEYS], properties: Object.fromEntries(QUOTA_KEYS.map((k) => [k, { type: "string" }])) },
        containerDefaults: { type: "object", additionalProperties: false, required: ["requests", "limits"], properties: { requests: pair, limits: pair } },
        containerMax: pair,
        nodePool: { type: "object", additionalProperties: false, required: ["key", "value"], properties: { key: { type: "string" }, value: { type: "string" } } },
      },
    },
  },
});

// The parameters' own schema: strict (an unknown keyword is the template author's typo), every
// problem at once, defaults filled in.
const params = new Ajv({ allErrors: true, strict: true, useDefaults: true });

/** The longest instance name: `<team>-<instance>` must be a namespace, and the team's derived names fit. */
export function maxInstanceLength(team: string): number {
  return 63 - team.length - 1;
}

/** Problems with an instance name on its own (not against the team's other namespaces). */
export function instanceNameProblems(team: string, instance: string): string[] {
  const problems = dnsLabelProblems("app instance", instance, maxInstanceLength(team));
  if (problems.length > 0) return problems;
  if (instance === "system" || instance.endsWith("-system")) problems.push(`app instance "${instance}": ${team}-${instance} ends in -system, which is reserved; pick another name`);
  // Team `kube` with instance `public` would be kube-public.
  else if (isReservedNamespace(`${team}-${instance}`)) problems.push(`app instance "${instance}": ${team}-${instance} is a reserved namespace (default, tenantry, kube-*, *-system); pick another name`);
  if ((TEAM_NAME_SUFFIXES as readonly string[]).some((s) => `-${instance}` === s)) problems.push(`app instance "${instance}": ${team}-${instance} is the name of one of team ${team}'s own objects; pick another name`);
  return problems;
}

/** Problems with a template name (its directory under apps/). */
export function templateNameProblems(template: string): string[] {
  return dnsLabelProblems("app template", template);
}

function quantityIn(at: string, value: string): string[] {
  return quantityValue(value) === undefined ? [`${at}: "${value}" is not a quantity (e.g. 500m, 1, 256Mi)`] : [];
}

/** Parses apps/<template>/template.yaml; throws a ValidationError naming every problem. */
export function parseAppTemplate(text: string, template: string): AppTemplate {
  const file = templateFile(template);
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new ValidationError([`${file}: malformed YAML: fix the file or restore it with git`]);
  const value = documentValueOf(doc, file);
  const found = schemaProblems(file, schema, value);
  if (found.length > 0) throw new ValidationError(found);
  const raw = value as { metadata: { name: string }; spec: { description: string; delivery?: Delivery; parameters: { properties: Record<string, SchemaObject>; required?: string[] }; targets: Record<string, ParamTarget[]>; policy: Omit<AppPolicy, "containerMax" | "nodePool"> & { containerMax?: ResourcePair; nodePool?: NodePool } } };
  const problems: string[] = [];
  if (raw.metadata.name !== template) problems.push(`${file}: metadata.name is "${raw.metadata.name}": it must be the directory's name, ${template}`);
  const props = raw.spec.parameters.properties;
  const required = raw.spec.parameters.required ?? [];
  for (const name of Object.keys(props)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) problems.push(`${file}: spec.parameters.properties.${showKey(name)}: a parameter name is letters, digits and _, starting with a letter (it is given as --set ${name}=...)`);
    if (!Object.hasOwn(raw.spec.targets, name)) problems.push(`${file}: spec.targets has no entry for parameter ${showKey(name)}: say where its value goes in the base`);
  }
  for (const name of Object.keys(raw.spec.targets)) if (!Object.hasOwn(props, name)) problems.push(`${file}: spec.targets.${showKey(name)}: no such parameter in spec.parameters.properties`);
  for (const name of required) if (!Object.hasOwn(props, name)) problems.push(`${file}: spec.parameters.required names ${showKey(name)}, which is not a parameter`);
  try {
    params.compile({ type: "object", additionalProperties: false, required, properties: props });
  } catch (e) {
    problems.push(`${file}: spec.parameters is not a JSON schema tenantry can use: ${(e as Error).message.split("\n")[0] ?? ""}`);
  }
  const policy = raw.spec.policy;
  for (const [k, v] of Object.entries(policy.quota)) problems.push(...quantityIn(`${file}: spec.policy.quota.${k}`, v));
  for (const side of ["requests", "limits"] as const) for (const [k, v] of Object.entries(policy.containerDefaults[side])) problems.push(...quantityIn(`${file}: spec.policy.containerDefaults.${side}.${k}`, v));
  for (const [k, v] of Object.entries(policy.containerMax ?? {})) problems.push(...quantityIn(`${file}: spec.policy.containerMax.${k}`, v));
  if (policy.containerMax !== undefined) {
    for (const k of ["cpu", "memory", "ephemeral-storage"] as const) {
      const max = quantityValue(policy.containerMax[k]);
      const lim = quantityValue(policy.containerDefaults.limits[k]);
      if (max !== undefined && lim !== undefined && lim > max) problems.push(`${file}: spec.policy.containerDefaults.limits.${k} ${policy.containerDefaults.limits[k]} is above containerMax.${k} ${policy.containerMax[k]}: a container without resources would be refused`);
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    name: template,
    description: raw.spec.description,
    delivery: raw.spec.delivery ?? "admin",
    parameters: { properties: props, required },
    targets: raw.spec.targets,
    policy: { quota: policy.quota, containerDefaults: policy.containerDefaults, containerMax: policy.containerMax ?? null, nodePool: policy.nodePool ?? null },
    digest: templateDigest(text),
  };
}

export function templateDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** `--set key=value` pairs as given (the value is text; app values coerce it by the parameter's type). */
export function parseSets(sets: readonly string[]): { readonly pairs: readonly [string, string][]; readonly problems: readonly string[] } {
  const pairs: [string, string][] = [];
  const problems: string[] = [];
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) problems.push(`--set "${s}" is not key=value: e.g. --set greeting=Hello`);
    else pairs.push([s.slice(0, eq), s.slice(eq + 1)]);
  }
  const seen = new Set<string>();
  for (const [k] of pairs) {
    if (seen.has(k)) problems.push(`--set ${k} is given twice: give it once`);
    seen.add(k);
  }
  return { pairs, problems };
}

function coerce(key: string, text: string, type: unknown): { value?: ParamValue; problem?: string } {
  if (type === "integer") return /^-?\d{1,15}$/.test(text) ? { value: Number(text) } : { problem: `--set ${key}=${text}: ${key} is a whole number` };
  if (type === "number") return text.trim() !== "" && Number.isFinite(Number(text)) ? { value: Number(text) } : { problem: `--set ${key}=${text}: ${key} is a number` };
  if (type === "boolean") return text === "true" || text === "false" ? { value: text === "true" } : { problem: `--set ${key}=${text}: ${key} is true or false` };
  return { value: text };
}

function describeValueError(e: ErrorObject, given: Readonly<Record<string, ParamValue>>, template: string): string {
  const key = pointerKeys(e.instancePath)[0];
  const p = e.params as Record<string, unknown>;
  if (e.keyword === "required") return `--set ${String(p.missingProperty)}=...: template ${template} requires it (it has no default)`;
  if (key === undefined) return `values of template ${template}: ${e.message ?? "are invalid"}`;
  const shown = Object.hasOwn(given, key) ? `--set ${key}=${String(given[key])}` : `${key} (its default)`;
  if (e.keyword === "enum") return `${shown}: ${key} must be one of ${(p.allowedValues as unknown[]).join(", ")}`;
  return `${shown}: ${key} ${e.message ?? "is invalid"}`;
}

/**
 * The values of an instance after `sets` over `previous` (app upgrade keeps what was set), every
 * problem at once: unknown keys, values not of the parameter's type, and the schema's verdict.
 * Returns the values as given (to record) and as rendered (defaults filled in).
 */
export function resolveValues(template: AppTemplate, previous: Readonly<Record<string, ParamValue>>, sets: readonly string[]): { readonly given: Record<string, ParamValue>; readonly rendered: Record<string, ParamValue>; readonly problems: string[] } {
  const parsed = parseSets(sets);
  const problems = [...parsed.problems];
  const given: Record<string, ParamValue> = { ...previous };
  const props = template.parameters.properties;
  for (const [key, text] of parsed.pairs) {
    if (!Object.hasOwn(props, key)) {
      const known = Object.keys(props);
      problems.push(`--set ${key}: template ${template.name} has no parameter ${key}${known.length > 0 ? ` (it has ${known.join(", ")})` : ""}`);
      continue;
    }
    const c = coerce(key, text, props[key]?.type);
    if (c.problem !== undefined) problems.push(c.problem);
    else if (c.value !== undefined) given[key] = c.value;
  }
  const rendered = valuesWithDefaults(template, given, problems);
  return { given, rendered, problems };
}

/** `given` with the template's defaults, checked against its schema (problems appended). */
export function valuesWithDefaults(template: AppTemplate, given: Readonly<Record<string, ParamValue>>, problems: string[]): Record<string, ParamValue> {
  const rendered: Record<string, ParamValue> = { ...given };
  for (const k of Object.keys(rendered)) if (!Object.hasOwn(template.parameters.properties, k)) problems.push(`value ${k}: template ${template.name} has no such parameter any more: remove it with tenantry app upgrade --unset ${k}`);
  const validate = params.compile({ type: "object", required: [...template.parameters.required], properties: template.parameters.properties });
  if (!validate(rendered)) for (const e of validate.errors ?? []) problems.push(describeValueError(e, given, template.name));
  return rendered;
}

/**
 * cluster/<team>/apps/<instance>/kustomization.yaml: the template's base in namespace
 * `<team>-<instance>`, every object labelled as the team's and the instance's, each value
 * patched in at its targets with its JSON type. `values`: defaults filled in.
 */
export function instanceKustomization(team: string, instance: AppInstance, template: AppTemplate, values: Readonly<Record<string, ParamValue>>): string {
  const byTarget = new Map<string, { target: { kind: string; name: string }; ops: { op: "add"; path: string; value: ParamValue }[] }>();
  for (const [param, targets] of Object.entries(template.targets).sort(([a], [b]) => a.localeCompare(b))) {
    const value = values[param];
    if (value === undefined) continue; // an optional parameter without value or default: the base's own
    for (const t of targets) {
      const key = `${t.kind}/${t.name}`;
      const entry = byTarget.get(key) ?? { target: { kind: t.kind, name: t.name }, ops: [] };
      entry.ops.push({ op: "add", path: t.path, value });
      byTarget.set(key, entry);
    }
  }
  const body = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    namespace: `${team}-${instance.name}`,
    resources: [`../../../../${templateDir(template.name)}`],
    labels: [{ pairs: { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": team, [APP_LABEL]: instance.name, [APP_TEMPLATE_LABEL]: template.name } }],
    ...(byTarget.size === 0 ? {} : { patches: [...byTarget.values()].map((e) => ({ target: e.target, patch: JSON.stringify(e.ops) })) }),
  };
  return (
    `# App instance ${instance.name} of team ${team}, template ${template.name} (template.yaml ${template.digest}):\n` +
    "# written by `tenantry app create`; change it with `tenantry app upgrade`, not by hand.\n" +
    stringify(body, { lineWidth: 0 })
  );
}

/** The instance's rendered objects must all land in its namespace: a cluster-scoped object in a template is refused. */
export function instanceObjectProblems(team: string, instance: string, template: string, objects: readonly { kind: string; metadata: { name: string; namespace?: string } }[]): string[] {
  const ns = `${team}-${instance}`;
  return objects
    // The instance's Namespace itself (the overlay renders it, labelled as the instance) is the one object outside it.
    .filter((o) => o.metadata.namespace !== ns && !(o.kind === "Namespace" && o.metadata.name === ns))
    .map((o) => `${templateDir(template)}: ${o.kind} ${o.metadata.name} is not namespaced (or names another namespace): an instance holds objects of its own namespace ${ns} only; remove it from the template`);
}

/** What the quota and problems of a team's instances depend on (a TeamSpec has it). */
export interface TeamWithApps {
  readonly name: string;
  readonly tier: string;
  readonly namespaces: readonly string[];
  readonly apps: readonly AppInstance[];
  readonly nodePool: NodePool | null;
}

/** The admin repo's templates by name (apps/<name>/template.yaml), as far as they parse. */
export type AppCatalog = ReadonlyMap<string, AppTemplate>;

export const NO_APPS: AppCatalog = new Map();

/** One namespace of a team with its quota: home, an extra one, or an app instance's. */
export interface NamespacePart {
  readonly namespace: string;
  readonly quota: Readonly<Record<string, string>>;
  /** Set for an app instance's namespace. */
  readonly app: { readonly instance: AppInstance; readonly template: AppTemplate } | null;
}

/**
 * The team's namespaces, home first, then the extra ones, then the app instances, each with
 * its quota: an instance gets its template's policy quota, taken out of the tier (the team's
 * total); what is left is split among home and the extra namespaces by `rule`. Every problem
 * at once (a template the catalog lacks, instances taking all of a key, a split leaving a
 * namespace none).
 */
export function teamQuotaParts(
  spec: Omit<TeamWithApps, "nodePool">,
  tierQuota: Readonly<Record<string, string>>,
  rule: NamespaceQuotaRule,
  catalog: AppCatalog,
): { readonly parts: readonly NamespacePart[]; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const apps: NamespacePart[] = [];
  for (const instance of spec.apps) {
    const template = catalog.get(instance.template);
    if (template === undefined) {
      problems.push(`app instance ${instance.name} of team ${spec.name}: template ${instance.template} is not in the admin repo (${templateFile(instance.template)}): restore it, or tenantry app delete ${spec.name} ${instance.name}`);
      continue;
    }
    apps.push({ namespace: extraNamespace(spec.name, instance.name), quota: { ...template.policy.quota }, app: { instance, template } });
  }
  const fix = `pick a bigger tier for team ${spec.name} than ${spec.tier}, or fewer or smaller app instances`;
  const left = remainingQuota(tierQuota, apps.map((a) => ({ what: `app instance ${a.namespace}`, quota: a.quota })), fix);
  problems.push(...left.problems);
  const split = splitQuota(spec.name, spec.namespaces, left.rest, rule);
  problems.push(...split.problems);
  return { parts: [...split.parts.map((p) => ({ ...p, app: null })), ...apps], problems };
}

/**
 * Every problem with a team's app instances against the templates: a template missing or
 * broken (`broken`: its parse problems), values the template refuses, a node pool other than
 * the team's, and the tier's quota (instances may not take all of a key). [] when none.
 */
export function teamAppProblems(
  spec: TeamWithApps,
  tierQuota: Readonly<Record<string, string>>,
  rule: NamespaceQuotaRule,
  catalog: AppCatalog,
  broken: ReadonlyMap<string, readonly string[]>,
): string[] {
  const problems: string[] = [];
  for (const instance of spec.apps) {
    const template = catalog.get(instance.template);
    const at = `app instance ${instance.name} of team ${spec.name}`;
    if (template === undefined) {
      const why = broken.get(instance.template);
      if (why !== undefined) problems.push(...why.map((p) => `${at}: template ${instance.template} is broken: ${p}`));
      continue;
    }
    valuesWithDefaults(template, instance.values, problems);
    const pool = template.policy.nodePool;
    if (pool !== null && spec.nodePool !== null && (pool.key !== spec.nodePool.key || pool.value !== spec.nodePool.value)) {
      problems.push(`${at}: template ${template.name} pins its pods to nodes ${pool.key}=${pool.value}, but team ${spec.name} is held to ${spec.nodePool.key}=${spec.nodePool.value}: change the template's policy.nodePool or the team's --node-pool`);
    }
  }
  problems.push(...teamQuotaParts(spec, tierQuota, rule, catalog).problems);
  return [...new Set(problems)];
}
