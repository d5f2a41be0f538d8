// Validates a parsed YAML document against a JSON schema and turns ajv's errors into
// one readable line each: "<file>: <path>: <message>".

//
// The schemas of tenantry's own files are compiled when tenantry is built (scripts/precompile.mjs
// writes ajv's standalone code to dist/model/schemas.compiled.cjs): a command that reads a
// team.yaml then loads neither ajv nor its compiler. A schema with no compiled validator (run
// from the sources, or made at run time) is compiled here, as before.

import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { Ajv, ErrorObject, SchemaObject } from "ajv";
import { runsCompiled } from "../paths.js";

const require = createRequire(import.meta.url);

/** A validator, compiled here or when tenantry was built. */
type Validate = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The options every schema of a tenantry file is compiled with (here and in scripts/precompile.mjs). */
export const AJV_OPTIONS = { allErrors: true, strict: true } as const;

/** The schemas of tenantry's files (tenantryDocumentSchema), which the build compiles ahead. */
export const documentSchemas: SchemaObject[] = [];

/** A schema's name among the compiled validators: the digest of its JSON. */
export function schemaKey(schema: SchemaObject): string {
  return `v${createHash("sha256").update(JSON.stringify(schema)).digest("hex").slice(0, 24)}`;
}

let ahead: Readonly<Record<string, Validate>> | undefined;
let ajv: Ajv | undefined;
const compiled = new WeakMap<SchemaObject, Validate>();

function validatorOf(schema: SchemaObject): Validate {
  let validate = compiled.get(schema);
  if (validate !== undefined) return validate;
  if (ahead === undefined) {
    try {
      ahead = runsCompiled() ? (require("./schemas.compiled.cjs") as Record<string, Validate>) : {};
    } catch {
      ahead = {};
    }
  }
  validate = ahead[schemaKey(schema)];
  if (validate === undefined) {
    ajv ??= new (require("ajv") as typeof import("ajv")).Ajv(AJV_OPTIONS);
    validate = ajv.compile(schema);
  }
  compiled.set(schema, validate);
  return validate;
}

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
  const validate = validatorOf(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => describe(file, e));
}

/** The schema of a tenantry file: apiVersion tenantry.dev/v1alpha1, `kind`, metadata.name, `spec`. */
export function tenantryDocumentSchema(kind: string, spec: SchemaObject): SchemaObject {
  const schema: SchemaObject = {
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
  documentSchemas.push(schema);
  return schema;
}
