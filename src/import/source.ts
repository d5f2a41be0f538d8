// The input of `tenantry import`: a Flux repo's YAML files as repo-relative path -> text,
// read once by read.ts (the only I/O of src/import/), and the pure helpers the parsers use to
// look at it and to parse what they find, naming the file in every problem.

import { parseAllDocuments, parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import { documentValue } from "../model/yaml-value.js";

/** Repo-relative path (with `/`) -> file text. */
export type SourceTree = ReadonlyMap<string, string>;

/** A plain YAML mapping. */
export type YamlMap = Record<string, unknown>;

/** One object read from a file, with the file it came from (for the report). */
export interface Located {
  readonly file: string;
  readonly obj: YamlMap;
}

export function isMap(v: unknown): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** `a/b/../c` -> `a/c`; null when it climbs out of the tree (or is absolute). */
export function normalize(path: string): string | null {
  if (path.startsWith("/")) return null;
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

export function join(dir: string, rel: string): string | null {
  return normalize(dir === "" ? rel : `${dir}/${rel}`);
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** The names of the directories directly under `dir` that hold any file. */
export function subdirs(tree: SourceTree, dir: string): string[] {
  const prefix = dir === "" ? "" : `${dir}/`;
  const names = new Set<string>();
  for (const path of tree.keys()) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash > 0) names.add(rest.slice(0, slash));
  }
  return [...names].sort();
}

/** The files directly in `dir`. */
export function filesIn(tree: SourceTree, dir: string): string[] {
  const prefix = dir === "" ? "" : `${dir}/`;
  return [...tree.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/")).sort();
}

export function hasDir(tree: SourceTree, dir: string): boolean {
  const prefix = `${dir}/`;
  return [...tree.keys()].some((p) => p.startsWith(prefix));
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? "parse error";
}

/** Every document of a YAML file that is a mapping; a malformed file is a ValidationError naming it. */
export function parseYamlObjects(text: string, file: string): YamlMap[] {
  const out: YamlMap[] = [];
  for (const doc of parseAllDocuments(text, { prettyErrors: false })) {
    const err = doc.errors[0];
    if (err !== undefined) throw new ValidationError([`${file}: malformed YAML (${firstLine(err.message)}): fix the file`]);
    const read = documentValue(doc);
    if ("problem" in read) throw new ValidationError([`${file}: ${read.problem}: fix the file`]);
    if (read.value === null || read.value === undefined) continue;
    if (!isMap(read.value)) throw new ValidationError([`${file}: a document is not a mapping (a Kubernetes object or a kustomization): fix the file`]);
    out.push(read.value);
  }
  return out;
}

/** The value of a one-document YAML text. */
export function parseYamlValue(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false });
  const err = doc.errors[0];
  if (err !== undefined) throw new ValidationError([`${file}: malformed YAML (${firstLine(err.message)}): fix the file`]);
  const read = documentValue(doc);
  if ("problem" in read) throw new ValidationError([`${file}: ${read.problem}: fix the file`]);
  return read.value;
}

/** A file holding one mapping (a kustomization.yaml). */
export function parseYamlMap(text: string, file: string): YamlMap {
  const value = parseYamlValue(text, file);
  if (value === null || value === undefined) return {};
  if (!isMap(value)) throw new ValidationError([`${file}: not a mapping: a kustomization.yaml holds resources, patches and the like`]);
  return value;
}

/** The text of `path`, or a ValidationError saying which file the layout needs. */
export function need(tree: SourceTree, path: string, why: string): string {
  const text = tree.get(path);
  if (text === undefined) throw new ValidationError([`${path} is missing: ${why}`]);
  return text;
}

export function kindOf(o: YamlMap): string {
  return str(o.kind) ?? "?";
}

export function nameOf(o: YamlMap): string {
  return str(isMap(o.metadata) ? o.metadata.name : undefined) ?? "?";
}

export function namespaceOf(o: YamlMap): string | undefined {
  return str(isMap(o.metadata) ? o.metadata.namespace : undefined);
}

/** `Kind namespace/name` or `Kind name`: how the report names an object. */
export function describe(o: YamlMap): string {
  const ns = namespaceOf(o);
  return `${kindOf(o)} ${ns === undefined ? "" : `${ns}/`}${nameOf(o)}`;
}

/** The API group of an object (`` for the core group). */
export function groupOf(o: YamlMap): string {
  const v = str(o.apiVersion) ?? "";
  return v.includes("/") ? (v.split("/")[0] ?? "") : "";
}

/** A scalar of a YAML file as text, for the report. */
export function text(v: unknown): string {
  if (typeof v === "string") return v;
  return v === undefined ? "null" : JSON.stringify(v);
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** A Go duration (1m, 1h30m, 10m0s) in seconds; 0 when it is none. */
export function durationSeconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/([0-9.]+)(ms|s|m|h)/g)) total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? ""] ?? 0);
  return total;
}

/** The shorter of two durations (`a` when `b` is none). */
export function shorterDuration(a: string, b: string): string {
  return durationSeconds(b) > 0 && durationSeconds(b) < durationSeconds(a) ? b : a;
}
