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

/** The words a key or scalar that starts with a team's name could complete to and normalizeYaml reads apart: its ordered keys, and YAML 1.2's null and booleans. */
const SPECIAL_WORDS = [...TOP_ORDER, ...METADATA_ORDER, "null", "true", "false"];

/**
 * Characters after which the name may stand: where a scalar or key begins (start, space, line
 * break, flow indicators, quotes) or inside one that YAML reads as text whatever follows
 * (after / : =). Anything else (a letter, digit, dot, hyphen, backslash, &, *, !) and the text
 * is normalised whole.
 */
const SAFE_BEFORE = new Set(["", " ", "\n", "[", "{", ",", '"', "'", "/", ":", "="]);

/**
 * Texts the shortcut takes: printable ASCII, tabs and line breaks, no backslash. An escape
 * (`"\x71"`, `"\u0071"`) or a control character the printer writes as one could spell the
 * stand-in, or the name, where the text has neither.
 */
const PLAIN_TEXT = /^[\t\n\x20-\x5b\x5d-\x7e]*$/;

/**
 * A stand-in for a team name: the same length, x then q's. No special word starts with x, and
 * no proper prefix of it is a suffix of it, so in the masked text (which held no stand-in before)
 * it occurs exactly where the name was, and putting the name back is exact.
 */
function standIn(length: number): string {
  return `x${"q".repeat(length - 1)}`;
}

/** Texts with the name masked, normalised: most of a team's overlay is the same text for every team. */
const masked = new Map<string, string>();
const MASKED_LIMIT = 1024;

/** A lasting memo of masked texts (repo/spec-cache.ts, kind team-yaml): parse gives a text's normalisation, from it or from `parse`. */
export interface TextMemo {
  parse(text: string, parse: (text: string) => string): string;
}

let lasting: TextMemo | undefined;

/**
 * Runs `f` with `memo` behind this process's cache of masked texts (create-team: the texts of
 * the teams before it, normalised by earlier runs). The memo's answers are normalizeYaml's of
 * the same text, written by the same build of tenantry.
 */
export function withTeamYamlMemo<T>(memo: TextMemo, f: () => T): T {
  const before = lasting;
  lasting = memo;
  try {
    return f();
  } finally {
    lasting = before;
  }
}

/**
 * normalizeYaml for a text rendered for team `name`, from a cache keyed by the text with the
 * name masked by a stand-in of the same length: 1000 teams' overlays are nine distinct texts so
 * masked. Both the name and the stand-in are runs of [a-z0-9-] that begin with a letter, end
 * with a letter or digit and read as text in YAML (team names are checked for that), so swapping
 * one for the other cannot move a token boundary, change a scalar's type or quoting, a key's
 * place in the order, or a column. That holds where every occurrence of the name stands after
 * a SAFE_BEFORE character, where the name does not begin one of SPECIAL_WORDS, where the text is
 * PLAIN_TEXT and where the stand-in is not in it already; otherwise the text is normalised whole. Errors are
 * always those of the whole text.
 */
export function normalizeTeamYaml(name: string, text: string, source: string): string {
  const mask = standIn(name.length);
  if (!/^[a-z][a-z0-9-]*$/.test(name) || SPECIAL_WORDS.some((w) => w.startsWith(name)) || !PLAIN_TEXT.test(text) || text.includes(mask)) return normalizeYaml(text, source);
  for (let i = text.indexOf(name); i !== -1; i = text.indexOf(name, i + name.length)) {
    if (!SAFE_BEFORE.has(text.slice(Math.max(0, i - 1), i))) return normalizeYaml(text, source);
  }
  const key = text.replaceAll(name, mask);
  let done = masked.get(key);
  if (done === undefined) {
    try {
      const kept = lasting?.parse(key, (k) => normalizeYaml(k, source));
      // A memo file is only read back as JSON: anything but a text is normalised again.
      done = typeof kept === "string" ? kept : normalizeYaml(key, source);
    } catch {
      return normalizeYaml(text, source);
    }
    if (masked.size >= MASKED_LIMIT) masked.clear();
    masked.set(key, done);
  }
  // Every stand-in in the output is one from the input (PLAIN_TEXT leaves the printer no escape to spell one with).
  if (done.split(mask).length !== key.split(mask).length) return normalizeYaml(text, source);
  return done.replaceAll(mask, name);
}
