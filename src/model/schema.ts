// Validates a parsed YAML document against a JSON schema and turns ajv's errors into
// one readable line each: "<file>: <path>: <message>".

import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from "ajv";

const ajv = new Ajv({ allErrors: true, strict: true });
const compiled = new WeakMap<SchemaObject, ValidateFunction>();

function describe(file: string, error: ErrorObject): string {
  const path = error.instancePath === "" ? "(top level)" : error.instancePath.slice(1).replaceAll("/", ".");
  const params = error.params as Record<string, unknown>;
  let detail = error.message ?? "is invalid";
  if (error.keyword === "additionalProperties") detail = `unknown field "${String(params.additionalProperty)}"`;
  if (error.keyword === "required") detail = `missing field "${String(params.missingProperty)}"`;
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
