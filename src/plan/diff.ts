// Canonical YAML of an object and a unified line diff between two texts. Pure.
//
// Objects are compared and shown canonically: apiVersion, kind and metadata first (name,
// namespace, labels, annotations within it), every other map's keys sorted, so a change in
// the order of fields in a file is no change at all.

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

type Op = readonly [" " | "-" | "+", string];

/** The edit script from `a` to `b`: common prefix and suffix, and an LCS of the middle. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = a.slice(0, start).map((l) => [" ", l] as const);
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > 4_000_000) {
    // Too large for the table: show it as replaced, which is still a correct diff.
    ops.push(...midA.map((l) => ["-", l] as const), ...midB.map((l) => ["+", l] as const));
  } else {
    // lcs[i][j]: the LCS length of midA[i..] and midB[j..], in one flat array.
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          midA[i] === midB[j] ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push([" ", midA[i] ?? ""]);
        i++;
        j++;
      } else if (i < n && (j === m || (lcs[(i + 1) * (m + 1) + j] ?? 0) >= (lcs[i * (m + 1) + j + 1] ?? 0))) {
        // Deletions before insertions, as diff(1) shows them.
        ops.push(["-", midA[i] ?? ""]);
        i++;
      } else {
        ops.push(["+", midB[j] ?? ""]);
        j++;
      }
    }
  }
  ops.push(...a.slice(endA).map((l) => [" ", l] as const));
  return ops;
}

function lines(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/** A unified diff of two texts (hunks only, no file headers); "" when they are equal. */
export function unifiedDiff(before: string, after: string, context = 3): string {
  const ops = editScript(lines(before), lines(after));
  const changed = ops.map((op, i) => (op[0] === " " ? -1 : i)).filter((i) => i >= 0);
  if (changed.length === 0) return "";
  // Group changes whose context would touch into one hunk.
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const last = hunks[hunks.length - 1];
    const from = Math.max(0, i - context);
    const to = Math.min(ops.length - 1, i + context);
    if (last !== undefined && from <= last[1] + 1) last[1] = to;
    else hunks.push([from, to]);
  }
  const out: string[] = [];
  // Line numbers before each op, on both sides.
  const posA: number[] = [];
  const posB: number[] = [];
  let la = 1;
  let lb = 1;
  for (const [kind] of ops) {
    posA.push(la);
    posB.push(lb);
    if (kind !== "+") la++;
    if (kind !== "-") lb++;
  }
  for (const [from, to] of hunks) {
    const slice = ops.slice(from, to + 1);
    const countA = slice.filter(([k]) => k !== "+").length;
    const countB = slice.filter(([k]) => k !== "-").length;
    const startA = countA === 0 ? (posA[from] ?? 1) - 1 : (posA[from] ?? 1);
    const startB = countB === 0 ? (posB[from] ?? 1) - 1 : (posB[from] ?? 1);
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const [kind, line] of slice) out.push(`${kind}${line}`);
  }
  return `${out.join("\n")}\n`;
}
