// Canonical YAML of an object and a unified line diff between two texts (jsdiff). Pure.
//
// Objects are compared and shown canonically: apiVersion, kind and metadata first (name,
// namespace, labels, annotations within it), every other map's keys sorted, so a change in
// the order of fields in a file is no change at all.

import { structuredPatch } from "diff";
import { stringify } from "yaml";
import type { KubeObject } from "../model/object.js";

const TOP = ["apiVersion", "kind", "metadata"];
const METADATA = ["name", "namespace", "labels", "annotations"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ordered(value: unknown, first: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => ordered(v));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value).sort((a, b) => {
    const ra = first.indexOf(a);
    const rb = first.indexOf(b);
    if (ra !== -1 || rb !== -1) return (ra === -1 ? first.length : ra) - (rb === -1 ? first.length : rb);
    return byKey(a, b);
  });
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = k === "metadata" && first === TOP ? ordered(value[k], METADATA) : ordered(value[k]);
  return out;
}

/** The object as canonical YAML (see the top). */
export function canonicalYaml(o: KubeObject): string {
  return stringify(ordered(o, TOP), { lineWidth: 0, indent: 2, indentSeq: true });
}

/** Canonical JSON of any value (sorted keys): equal strings mean equal values. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(ordered(value));
}

function lines(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/**
 * A unified diff of two texts (hunks only, no file headers); "" when they are equal. A hunk
 * that removes or adds everything starts at line 0 of the empty side, as diff(1) writes it.
 */
export function unifiedDiff(before: string, after: string, context = 3): string {
  if (before === after) return "";
  // jsdiff compares lines with their newline; give both texts one, as the hunks carry none.
  const a = lines(before);
  const b = lines(after);
  const patch = structuredPatch("", "", a.length === 0 ? "" : `${a.join("\n")}\n`, b.length === 0 ? "" : `${b.join("\n")}\n`, "", "", { context });
  const out: string[] = [];
  for (const h of patch.hunks) {
    const startA = h.oldLines === 0 ? h.oldStart - 1 : h.oldStart;
    const startB = h.newLines === 0 ? h.newStart - 1 : h.newStart;
    out.push(`@@ -${String(startA)},${String(h.oldLines)} +${String(startB)},${String(h.newLines)} @@`, ...h.lines.filter((l) => !l.startsWith("\\")));
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
