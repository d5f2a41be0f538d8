// Pure: whether applying `desired` again would change nothing, judged from the live object.
// Two checks, both conservative (anything uncertain answers "apply", and a needless apply
// is only a no-op server-side apply):
//   1. the live object contains every field of the desired one with the same value (maps
//      recursively; lists of the same length, element by element). A hand edit of a field
//      we set, or another manager taking it over with another value, fails this check.
//      Values the server normalises (a quantity `1000m` stored as `1`) fail it too.
//   2. every field tenantry's Apply entry in managedFields owns is still in the desired
//      object: a field removed from Git must be removed from the cluster, which only an
//      apply does.
//   3. no hand edit (kubectl edit/patch/apply, before-first-apply) owns fields of it: what it
//      added beside Git's fields must go, which takes an apply after the takeover.

import type { KubeObject } from "../model/object.js";
import { isHandEdit, type ManagedField } from "./takeover.js";

type Json = unknown;

function isMap(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every field of `desired` is in `live` with the same value. */
export function containsAll(live: Json, desired: Json): boolean {
  if (desired === null) return false; // `null` in an apply removes a field: let the server decide
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => containsAll(live[i], d));
  }
  if (isMap(desired)) {
    return isMap(live) && Object.entries(desired).every(([k, d]) => k in live && containsAll(live[k], d));
  }
  return live === desired;
}

function sameValue(a: Json, b: Json): boolean {
  return containsAll(a, b) && containsAll(b, a);
}

/** The element of `list` an associative key `k:{...}` names (a key field absent in Git, e.g. a defaulted protocol, matches). */
function keyed(list: readonly Json[], key: Record<string, Json>): Json {
  return list.find((e) => isMap(e) && Object.entries(key).every(([k, v]) => !(k in e) || sameValue(e[k], v)) && Object.keys(key).some((k) => k in e));
}

/** Every field named in `fields` (managedFields' FieldsV1 format) exists in `desired`. */
export function ownsOnly(fields: Json, desired: Json): boolean {
  if (!isMap(fields)) return false;
  for (const [k, sub] of Object.entries(fields)) {
    if (k === ".") continue;
    let next: Json;
    if (k.startsWith("f:")) {
      if (!isMap(desired) || !(k.slice(2) in desired)) return false;
      next = desired[k.slice(2)];
    } else if (k.startsWith("k:") || k.startsWith("v:")) {
      if (!Array.isArray(desired)) return false;
      let parsed: Json;
      try {
        parsed = JSON.parse(k.slice(2));
      } catch {
        return false;
      }
      next = k.startsWith("k:") ? (isMap(parsed) ? keyed(desired, parsed) : undefined) : desired.find((e) => sameValue(e, parsed));
      if (next === undefined) return false;
    } else if (k.startsWith("i:")) {
      const i = Number(k.slice(2));
      if (!Array.isArray(desired) || !(i < desired.length)) return false;
      next = desired[i];
    } else {
      return false;
    }
    if (isMap(sub) && Object.keys(sub).length > 0 && !ownsOnly(sub, next)) return false;
  }
  return true;
}

/** Whether a server-side apply of `desired` by `fieldManager` would leave `live` as it is. */
export function isUnchanged(live: KubeObject, desired: KubeObject, fieldManager: string): boolean {
  const all = (live.metadata.managedFields ?? []) as ManagedField[];
  // A hand edit's fields are drift even when they add to what Git says: take them over (takeover.ts).
  if (all.some((m) => isHandEdit(m, fieldManager))) return false;
  const managed = all.filter((m) => m.manager === fieldManager && m.operation === "Apply" && (m.subresource ?? "") === "");
  const entry = managed[0];
  if (managed.length !== 1 || entry === undefined || entry.apiVersion !== desired.apiVersion || entry.fieldsType !== "FieldsV1") return false;
  return containsAll(live, desired) && ownsOnly(entry.fieldsV1, desired);
}
