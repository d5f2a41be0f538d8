// Edits the resources list of a kustomization.yaml that a person may also edit: through
// the yaml Document API, so their comments, order and formatting survive.
//
// cluster/teams/kustomization.yaml grows by one line per team, and parsing a 1000-line
// document on every create-team is most of its cost. A file made only of comments, blank
// lines, `apiVersion`, `kind: Kustomization` and one block list under `resources:` (what
// tenantry writes) is edited line by line instead; that grammar is strict enough that the
// result is the same as the Document API's. Anything else takes the Document API path.

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

interface SimpleList {
  readonly lines: string[];
  readonly entries: string[];
  /** Line index of each entry. */
  readonly at: number[];
  /** Where a new entry goes: after the last entry, or right after `resources:`. */
  readonly insertAt: number;
  readonly indent: string;
}

const ENTRY = /^(\s+)- ([A-Za-z0-9._/-]+)\s*$/;

function simpleList(text: string): SimpleList | undefined {
  const lines = text.split("\n");
  let kind = false;
  let inList = false;
  let sawResources = false;
  const entries: string[] = [];
  const at: number[] = [];
  let insertAt = -1;
  let indent = "  ";
  for (const [i, line] of lines.entries()) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const entry = ENTRY.exec(line);
    if (inList && entry !== null) {
      indent = entry[1] ?? indent;
      entries.push(entry[2] ?? "");
      at.push(i);
      insertAt = i + 1;
      continue;
    }
    inList = false;
    if (/^kind: Kustomization\s*$/.test(line)) kind = true;
    else if (/^apiVersion: [A-Za-z0-9./-]+\s*$/.test(line)) continue;
    else if (/^resources:\s*$/.test(line) && !sawResources) {
      sawResources = inList = true;
      insertAt = i + 1;
    } else return undefined;
  }
  return kind && sawResources ? { lines, entries, at, insertAt, indent } : undefined;
}

function entries(resources: YAMLSeq): string[] {
  return resources.items.map((i) => String(isScalar(i) ? i.value : ""));
}

/** The paths listed under `resources`. */
export function listResources(text: string, file: string): string[] {
  return simpleList(text)?.entries ?? entries(load(text, file).resources);
}

function format(doc: Document.Parsed, resources: YAMLSeq): string {
  // An empty list is written `[]`; a list with entries as a block, one path a line.
  resources.flow = resources.items.length === 0;
  return doc.toString(YAML_OPTIONS);
}

/** Adds `entry` to resources (at the end) unless it is there already. */
export function addResource(text: string, file: string, entry: string): string {
  const simple = simpleList(text);
  if (simple !== undefined && ENTRY.test(`  - ${entry}`)) {
    if (simple.entries.includes(entry)) return text;
    const lines = [...simple.lines];
    lines.splice(simple.insertAt, 0, `${simple.indent}- ${entry}`);
    return lines.join("\n");
  }
  const { doc, resources } = load(text, file);
  if (entries(resources).includes(entry)) return text;
  resources.add(doc.createNode(entry));
  return format(doc, resources);
}

/** Removes `entry` from resources; the text is unchanged when it is not there. */
export function removeResource(text: string, file: string, entry: string): string {
  const simple = simpleList(text);
  if (simple !== undefined) {
    const index = simple.entries.indexOf(entry);
    if (index === -1) return text;
    const lines = [...simple.lines];
    lines.splice(simple.at[index] ?? -1, 1);
    // The last entry gone: `resources:` with nothing under it is null; write the empty list.
    if (simple.entries.length === 1) return lines.join("\n").replace(/^resources:\s*$/m, "resources: []");
    return lines.join("\n");
  }
  const { doc, resources } = load(text, file);
  const index = entries(resources).indexOf(entry);
  if (index === -1) return text;
  resources.delete(index);
  return format(doc, resources);
}

/** Removes the top-level `field` (e.g. `namespace`); the text is unchanged when it is not there. */
export function removeField(text: string, file: string, field: string): string {
  const { doc, resources } = load(text, file);
  if (!doc.has(field)) return text;
  doc.delete(field);
  return format(doc, resources);
}
