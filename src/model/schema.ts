// Validates a parsed YAML document against a JSON schema and turns ajv's errors into
// one readable line each: "<file>: <path>: <message>".

import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from "ajv";

const ajv = new Ajv({ allErrors: true, strict: true });
const compiled = new WeakMap<SchemaObject, ValidateFunction>();

const PLAIN_KEY = /^[A-Za-z0-9_./-]+$/;

/**
 * The keys of a JSON pointer (ajv's instancePath), unescaped: a key is what the file holds,
 * so any text (quotes, dots, line breaks, a slash).
 */
export function pointerKeys(pointer: string): string[] {
  return pointer === "" ? [] : pointer.slice(1).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** A key as a message shows it: bare when plain (`spec`, `limits.cpu`), else as a JSON string. */
export function showKey(key: string): string {
  return PLAIN_KEY.test(key) ? key : JSON.stringify(key);
}

function describe(file: string, error: ErrorObject): string {
  const keys = pointerKeys(error.instancePath);
  const path = keys.length === 0 ? "(top level)" : keys.map(showKey).join(".");
  const params = error.params as Record<string, unknown>;
  let detail = error.message ?? "is invalid";
  if (error.keyword === "additionalProperties") detail = `unknown field ${JSON.stringify(String(params.additionalProperty))}`;
  if (error.keyword === "required") detail = `missing field ${JSON.stringify(String(params.missingProperty))}`;
  if (error.keyword === "enum") detail = `must be one of ${(params.allowedValues as unknown[]).join(", ")}`;
  return `${file}: ${path}: ${detail}`;
}

/** Problems with `value` against `schema`; [] when valid. */
export function schemaProblems(file: string, schema: SchemaObject, value: unknown): string[] {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => describe(file, e));
}

/** The schema of a tenantry file: apiVersion tenantry.dev/v1alpha1, `kind`, metadata.name, `spec`. */
export function tenantryDocumentSchema(kind: string, spec: SchemaObject): SchemaObject {
  return {
    type: "object",
    additionalProperties: false,
    required: ["apiVersion", "kind", "metadata", "spec"],
    properties: {
      apiVersion: { const: "tenantry.dev/v1alpha1" },
      kind: { const: kind },
      metadata: { type: "object", additionalProperties: false, required: ["name"], properties: { name: { type: "string" } } },
      spec,
    },
  };
}
