// Kubernetes OpenAPI v3 to JSON Schema, for ajv. Pure. Used twice: by the snapshot of the
// pinned release's built-in kinds (scripts/snapshot-openapi.sh writes it once), and at run
// time for the structural schemas of the CRDs and Gatekeeper templates a repo brings.
//
// What is kept is what the API server validates by type: types, required fields, enums,
// formats of numbers and strings as far as JSON Schema can say them. Objects with declared
// properties refuse unknown fields (the API server's strict field validation does too),
// unless they say x-kubernetes-preserve-unknown-fields. Descriptions, defaults and the
// x-kubernetes-* annotations are dropped: they are most of the size and validate nothing.

export type JsonSchema = { [key: string]: unknown };

/** One built-in kind: the definition its objects follow and whether it is namespaced. */
export interface SnapshotKind {
  readonly def: string;
  readonly namespaced: boolean;
}

/** The built-in kinds of one Kubernetes release, as served by its API server. */
export interface Snapshot {
  readonly kubernetes: string;
  /** By `<apiVersion>/<kind>`, e.g. `apps/v1/Deployment`, `v1/ConfigMap`. */
  readonly kinds: Readonly<Record<string, SnapshotKind>>;
  /** JSON Schemas by OpenAPI definition name; `$ref`s point at `#/$defs/<name>`. */
  readonly defs: Readonly<Record<string, JsonSchema>>;
}

const OPENAPI_REF = "#/components/schemas/";

/** Validation keywords JSON Schema and structural schemas share, copied as they are. */
const KEPT = new Set([
  "type",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "required",
]);

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface ConvertOptions {
  /** Where an OpenAPI `$ref` goes: the name after `#/components/schemas/` in, a `$ref` out. */
  readonly ref?: (name: string) => string;
}

/**
 * A JSON Schema for one OpenAPI v3 schema node. `closed` adds additionalProperties: false to
 * objects that declare properties; it is off inside allOf/anyOf/oneOf/not (and below), where
 * a branch restates only some properties of the object it constrains.
 */
export function toJsonSchema(node: unknown, opts: ConvertOptions = {}, closed = true): JsonSchema {
  if (!isNode(node)) return {};
  const ref = node.$ref;
  if (typeof ref === "string") return { $ref: (opts.ref ?? defaultRef)(ref.startsWith(OPENAPI_REF) ? ref.slice(OPENAPI_REF.length) : ref) };
  const allOf = node.allOf;
  // `allOf: [{$ref}]` is how OpenAPI v3 attaches a default or description to a reference.
  if (Array.isArray(allOf) && allOf.length === 1 && isNode(allOf[0]) && typeof allOf[0].$ref === "string" && node.properties === undefined) {
    return toJsonSchema(allOf[0], opts, closed);
  }
  if (node["x-kubernetes-int-or-string"] === true) return { type: ["integer", "string"] };
  const oneOf = node.oneOf;
  // Quantity and IntOrString: `oneOf: [{type: string}, {type: number}]`.
  if (Array.isArray(oneOf) && oneOf.length > 0 && oneOf.every((o) => isNode(o) && typeof o.type === "string" && Object.keys(o).length === 1)) {
    return { type: oneOf.map((o) => (o as Node).type) };
  }
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (KEPT.has(k)) out[k] = v;
  }
  // OpenAPI 3.0 (and structural schemas) say exclusiveMinimum as a flag beside minimum.
  if (node.exclusiveMinimum === true && typeof node.minimum === "number") {
    out.exclusiveMinimum = node.minimum;
    delete out.minimum;
  }
  if (node.exclusiveMaximum === true && typeof node.maximum === "number") {
    out.exclusiveMaximum = node.maximum;
    delete out.maximum;
  }
  if (isNode(node.properties)) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([name, s]) => [name, toJsonSchema(s, opts, closed)]));
  }
  if (node.items !== undefined) out.items = toJsonSchema(node.items, opts, closed);
  if (isNode(node.additionalProperties)) out.additionalProperties = toJsonSchema(node.additionalProperties, opts, closed);
  else if (typeof node.additionalProperties === "boolean") out.additionalProperties = node.additionalProperties;
  for (const combinator of ["allOf", "anyOf", "oneOf"] as const) {
    const list = node[combinator];
    if (Array.isArray(list)) out[combinator] = list.map((s) => toJsonSchema(s, opts, false));
  }
  if (node.not !== undefined) out.not = toJsonSchema(node.not, opts, false);
  const open = node["x-kubernetes-preserve-unknown-fields"] === true || node["x-kubernetes-embedded-resource"] === true;
  if (closed && !open && out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function defaultRef(name: string): string {
  return `#/$defs/${name}`;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

function apiVersionOf(g: Gvk): string {
  return g.group === "" ? g.version : `${g.group}/${g.version}`;
}

/**
 * The snapshot of the built-in kinds in `docs` (the API server's /openapi/v3/<group-version>
 * documents). A kind is kept when the server has a REST path for it; it is namespaced when
 * one of those paths has a {namespace} segment. Only definitions a kept kind reaches stay.
 */
export function snapshotOf(kubernetes: string, docs: readonly unknown[]): Snapshot {
  const raw: Record<string, Node> = {};
  const kinds: Record<string, { def: string; namespaced?: boolean }> = {};
  const parsed = docs as readonly OpenApiDocument[];
  for (const doc of parsed) {
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      if (!isNode(schema)) continue;
      raw[name] = schema;
      const gvks = schema["x-kubernetes-group-version-kind"];
      if (!Array.isArray(gvks)) continue;
      for (const g of gvks as Gvk[]) kinds[`${apiVersionOf(g)}/${g.kind}`] ??= { def: name };
    }
  }
  for (const doc of parsed) {
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const op of Object.values(item)) {
        const g = isNode(op) ? (op["x-kubernetes-group-version-kind"] as Gvk | undefined) : undefined;
        if (g === undefined) continue;
        const k = kinds[`${apiVersionOf(g)}/${g.kind}`];
        if (k === undefined) continue;
        k.namespaced = (k.namespaced ?? false) || path.includes("{namespace}");
      }
    }
  }
  const kept: Record<string, SnapshotKind> = {};
  for (const key of Object.keys(kinds).sort()) {
    const k = kinds[key];
    if (k?.namespaced !== undefined) kept[key] = { def: k.def, namespaced: k.namespaced };
  }
  const defs: Record<string, JsonSchema> = {};
  const queue = [...new Set(Object.values(kept).map((k) => k.def))];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (defs[name] !== undefined) continue;
    const schema = raw[name];
    if (schema === undefined) throw new Error(`OpenAPI definition ${name} is referenced but missing`);
    const refs: string[] = [];
    defs[name] = toJsonSchema(schema, {
      ref: (n) => {
        refs.push(n);
        return defaultRef(n);
      },
    });
    queue.push(...refs.filter((r) => defs[r] === undefined));
  }
  const sortedDefs = Object.fromEntries(Object.keys(defs).sort().map((n) => [n, defs[n] as JsonSchema]));
  return { kubernetes, kinds: kept, defs: sortedDefs };
}

/** The snapshot as committed: one kind and one definition a line, so a new release diffs well. */
export function formatSnapshot(s: Snapshot): string {
  const block = (entries: Record<string, unknown>): string =>
    Object.entries(entries)
      .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(",\n");
  return `{\n  "kubernetes": ${JSON.stringify(s.kubernetes)},\n  "kinds": {\n${block(s.kinds)}\n  },\n  "defs": {\n${block(s.defs)}\n  }\n}\n`;
}
