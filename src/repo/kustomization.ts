// Edits the resources list of a kustomization.yaml that a person may also edit: through
// the yaml Document API, so their comments, order and formatting survive.

import { isSeq, parseDocument, type Document, YAMLSeq, isScalar } from "yaml";
import { ValidationError } from "../errors.js";
import { YAML_OPTIONS } from "../render/yaml.js";

function load(text: string, file: string): { doc: Document.Parsed; resources: YAMLSeq } {
  const doc = parseDocument(text, { prettyErrors: false });
  const fix = "fix it by hand or restore it with git";
  if (doc.errors.length > 0) {
    throw new ValidationError([`${file}: malformed YAML (${doc.errors[0]?.message.split("\n")[0] ?? ""}): ${fix}`]);
  }
  const kind: unknown = doc.get("kind");
  if (kind !== "Kustomization") throw new ValidationError([`${file}: not a Kustomization (kind is ${JSON.stringify(kind)}): ${fix}`]);
  let resources = doc.get("resources", true);
  if (resources === undefined || resources === null) {
    resources = new YAMLSeq();
    doc.set("resources", resources);
  }
  if (!isSeq(resources)) throw new ValidationError([`${file}: resources is not a list: ${fix}`]);
  if (resources.items.some((i) => !isScalar(i) || typeof i.value !== "string")) {
    throw new ValidationError([`${file}: resources holds something other than paths: ${fix}`]);
  }
  return { doc, resources };
}

function entries(resources: YAMLSeq): string[] {
  return resources.items.map((i) => String(isScalar(i) ? i.value : ""));
}

/** The paths listed under `resources`. */
export function listResources(text: string, file: string): string[] {
  return entries(load(text, file).resources);
}

function format(doc: Document.Parsed, resources: YAMLSeq): string {
  // An empty list is written `[]`; a list with entries as a block, one path a line.
  resources.flow = resources.items.length === 0;
  return doc.toString(YAML_OPTIONS);
}

/** Adds `entry` to resources (at the end) unless it is there already. */
export function addResource(text: string, file: string, entry: string): string {
  const { doc, resources } = load(text, file);
  if (entries(resources).includes(entry)) return text;
  resources.add(doc.createNode(entry));
  return format(doc, resources);
}

/** Removes `entry` from resources; the text is unchanged when it is not there. */
export function removeResource(text: string, file: string, entry: string): string {
  const { doc, resources } = load(text, file);
  const index = entries(resources).indexOf(entry);
  if (index === -1) return text;
  resources.delete(index);
  return format(doc, resources);
}
