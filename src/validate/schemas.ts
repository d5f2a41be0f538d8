// The schemas objects are checked against: the built-in kinds of the pinned Kubernetes
// release (a snapshot of its API server's OpenAPI, scripts/snapshot-openapi.sh), the CRDs a
// repo brings (GitSync) or tenantry vendors (Flux's, flux-schemas.ts), and the Gatekeeper
// constraints its ConstraintTemplates define.
// Also the static answer to "is this kind namespaced?" that an offline check needs.

import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { groupOf, type KubeObject } from "../model/object.js";
import { pointerKeys, showKey } from "../model/schema.js";
import snapshotJson from "./schemas/kubernetes.json" with { type: "json" };
import { type JsonSchema, type Snapshot, toJsonSchema } from "./openapi.js";

const snapshot = snapshotJson as unknown as Snapshot;

/** The Kubernetes release the built-in schemas come from. */
export const SCHEMA_KUBERNETES_VERSION = snapshot.kubernetes;

const K8S = "k8s";
const OBJECT_META = `${K8S}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`;
const CONSTRAINT_GROUP = "constraints.gatekeeper.sh";
const CONSTRAINT_VERSIONS = ["v1", "v1beta1", "v1alpha1"];
const TEMPLATE_GROUP = "templates.gatekeeper.sh";

export type Scope = "namespaced" | "cluster" | "unknown";

/** Where a kind's schema comes from, for messages. */
export type SchemaSource = "kubernetes" | "crd" | "constraint-template";

interface KindEntry {
  readonly scope: Exclude<Scope, "unknown">;
  readonly source: SchemaSource;
  /** The schema, or a reference into the built-in definitions. */
  readonly schema: JsonSchema;
  /** The object that defined it (CRD or ConstraintTemplate), for messages. */
  readonly definedBy?: string;
}

function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A CR's schema from its CRD's openAPIV3Schema: metadata is checked as ObjectMeta. */
function customResourceSchema(openAPIV3Schema: unknown): JsonSchema {
  const schema = toJsonSchema(openAPIV3Schema);
  const properties = isRecord(schema.properties) ? { ...schema.properties } : {};
  properties.apiVersion = { type: "string" };
  properties.kind = { type: "string" };
  properties.metadata = { $ref: OBJECT_META };
  return { ...schema, type: "object", properties };
}

/**
 * Gatekeeper generates a constraint's CRD from its template: spec.parameters is the
 * template's schema, the rest of spec is Gatekeeper's fixed envelope.
 */
function constraintSchema(parameters: unknown): JsonSchema {
  return {
    type: "object",
    required: ["apiVersion", "kind", "metadata"],
    additionalProperties: false,
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { $ref: OBJECT_META },
      spec: {
        type: "object",
        additionalProperties: false,
        properties: {
          enforcementAction: { type: "string" },
          scopedEnforcementActions: { type: "array" },
          match: { type: "object" },
          parameters: parameters === undefined ? {} : toJsonSchema(parameters),
        },
      },
      status: { type: "object" },
    },
  };
}

function describeError(e: ErrorObject): string {
  // Keys are the object's own text: one that is not plain is quoted, so it cannot pass for a path or a message.
  const path = pointerKeys(e.instancePath).reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === "" ? showKey(p) : `${acc}.${showKey(p)}`), "");
  const params = e.params as Record<string, unknown>;
  const at = path === "" ? "" : `${path}: `;
  switch (e.keyword) {
    case "additionalProperties":
      return `${at}unknown field ${JSON.stringify(String(params.additionalProperty))}`;
    case "required":
      return `${at}missing field ${JSON.stringify(String(params.missingProperty))}`;
    case "type":
      return `${at}must be ${String(params.type).split(",").join(" or ")}`;
    case "enum":
      return `${at}must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "pattern":
      return `${at}must match ${String(params.pattern)}`;
    default:
      return `${at}${e.message ?? "is invalid"}`;
  }
}

/** Object fields the API server treats as absent when null; YAML writes them often. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

export class SchemaSet {
  private readonly ajv: Ajv;
  private readonly kinds = new Map<string, KindEntry>();
  /** By schema: the versions of one constraint kind share one schema and one function. */
  private readonly compiled = new WeakMap<JsonSchema, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv({
      allErrors: true,
      strictSchema: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
      validateFormats: false,
      // Each definition becomes one function, shared by every kind that reaches it.
      inlineRefs: false,
    });
    // Generated by snapshotOf, which only writes keywords ajv knows: checking it against the
    // meta-schema on every run would cost more than the validation itself.
    this.ajv.addSchema({ $id: K8S, $defs: snapshot.defs }, undefined, undefined, false);
    for (const [key, k] of Object.entries(snapshot.kinds)) {
      this.kinds.set(key, { scope: k.namespaced ? "namespaced" : "cluster", source: "kubernetes", schema: { $ref: `${K8S}#/$defs/${k.def}` } });
    }
  }

  /**
   * Learns the kinds that CRDs and Gatekeeper ConstraintTemplates among `objects` define.
   * Returns problems with the definitions themselves (a schema ajv cannot compile).
   */
  addDefinitions(objects: readonly KubeObject[], where: (o: KubeObject) => string): string[] {
    const problems: string[] = [];
    for (const o of objects) {
      const spec = isRecord(o.spec) ? o.spec : {};
      if (o.kind === "CustomResourceDefinition" && groupOf(o.apiVersion) === "apiextensions.k8s.io") {
        const names = isRecord(spec.names) ? spec.names : {};
        const versions = Array.isArray(spec.versions) ? spec.versions : [];
        if (typeof spec.group !== "string" || typeof names.kind !== "string") continue;
        for (const v of versions) {
          if (!isRecord(v) || typeof v.name !== "string" || v.served === false) continue;
          const schema = isRecord(v.schema) ? v.schema.openAPIV3Schema : undefined;
          this.kinds.set(kindKey(`${spec.group}/${v.name}`, names.kind), {
            scope: spec.scope === "Cluster" ? "cluster" : "namespaced",
            source: "crd",
            schema: schema === undefined ? {} : customResourceSchema(schema),
            definedBy: where(o),
          });
        }
      } else if (o.kind === "ConstraintTemplate" && groupOf(o.apiVersion) === TEMPLATE_GROUP) {
        const crd = isRecord(spec.crd) && isRecord(spec.crd.spec) ? spec.crd.spec : {};
        const kind = isRecord(crd.names) ? crd.names.kind : undefined;
        if (typeof kind !== "string") continue;
        const parameters = isRecord(crd.validation) ? crd.validation.openAPIV3Schema : undefined;
        const schema = constraintSchema(parameters);
        for (const v of CONSTRAINT_VERSIONS) {
          this.kinds.set(kindKey(`${CONSTRAINT_GROUP}/${v}`, kind), { scope: "cluster", source: "constraint-template", schema, definedBy: where(o) });
        }
      }
    }
    for (const [key, entry] of this.kinds) {
      if (entry.source === "kubernetes") continue;
      try {
        this.validator(entry);
      } catch (e) {
        problems.push(`${entry.definedBy ?? key}: its schema cannot be used: ${(e as Error).message}`);
        this.kinds.delete(key);
      }
    }
    return problems;
  }

  private validator(entry: KindEntry): ValidateFunction {
    let fn = this.compiled.get(entry.schema);
    if (fn === undefined) {
      fn = this.ajv.compile(entry.schema);
      this.compiled.set(entry.schema, fn);
    }
    return fn;
  }

  /** Whether a schema for the object's kind is known. */
  knows(o: Pick<KubeObject, "apiVersion" | "kind">): boolean {
    return this.kinds.has(kindKey(o.apiVersion, o.kind));
  }

  scopeOf(o: Pick<KubeObject, "apiVersion" | "kind">): Scope {
    return this.kinds.get(kindKey(o.apiVersion, o.kind))?.scope ?? "unknown";
  }

  /** Problems of `o` against its kind's schema, one line each; [] when valid or unknown. */
  problems(o: KubeObject): string[] {
    const key = kindKey(o.apiVersion, o.kind);
    const entry = this.kinds.get(key);
    if (entry === undefined) return [];
    const validate = this.validator(entry);
    if (validate(withoutNulls(o))) return [];
    return [...new Set((validate.errors ?? []).map(describeError))];
  }
}
