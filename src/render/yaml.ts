// Deterministic YAML: every manifest is parsed and written back with apiVersion, kind and
// metadata first (name, namespace, labels, annotations within it), the rest in template
// order, and fixed formatting, so the same input always gives byte-identical output.
// Parsing also proves that a template produced valid YAML.

import { isMap, isScalar, parseAllDocuments, type Document, YAMLMap } from "yaml";

const TOP_ORDER = ["apiVersion", "kind", "metadata"];
const METADATA_ORDER = ["name", "namespace", "labels", "annotations"];

function keyName(item: { key: unknown }): string {
  return isScalar(item.key) ? String(item.key.value) : "";
}

function reorder(map: YAMLMap, first: readonly string[]): void {
  const rank = (k: string): number => {
    const i = first.indexOf(k);
    return i === -1 ? first.length : i;
  };
  // Array.prototype.sort is stable: keys not in `first` keep their template order.
  map.items.sort((a, b) => rank(keyName(a)) - rank(keyName(b)));
}

function normalizeDocument(doc: Document.Parsed): void {
  if (!isMap(doc.contents)) return;
  reorder(doc.contents, TOP_ORDER);
  const metadata = doc.contents.get("metadata");
  if (isMap(metadata)) reorder(metadata, METADATA_ORDER);
}

/** The one set of formatting options for every YAML file tenantry writes. */
export const YAML_OPTIONS = { lineWidth: 0, indent: 2, indentSeq: true, flowCollectionPadding: false } as const;

export class YamlSyntaxError extends Error {
  override readonly name = "YamlSyntaxError";
}

/** Parses a (multi-document) YAML text and writes it back deterministically. */
export function normalizeYaml(text: string, source: string): string {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  if (!Array.isArray(docs)) return "";
  const out: string[] = [];
  for (const doc of docs) {
    const first = doc.errors[0];
    if (first !== undefined) throw new YamlSyntaxError(`${source}: ${first.message.split("\n")[0] ?? "invalid YAML"}`);
    if (doc.contents === null && doc.commentBefore == null) continue;
    normalizeDocument(doc);
    // The separator is ours to write: drop the one a document may carry from the source.
    out.push(doc.toString(YAML_OPTIONS).replace(/^---\n/, ""));
  }
  return out.join("---\n");
}
