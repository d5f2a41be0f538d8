// Drift repair wins, as in Flux's server-side apply cleanup: fields that hand edits added to an
// object tenantry owns (kubectl edit, patch, label, client-side apply, `kubectl apply
// --server-side` under kubectl's name, and `before-first-apply`) belong to those managers, and
// a server-side apply never removes a field another manager owns. So their managedFields
// entries are handed to tenantry's own apply entry (one patch of metadata.managedFields, as
// fluxcd/pkg/ssa's PatchReplaceFieldsManagers does); the next apply then owns every such
// field, and removes the ones Git does not have. Pure: the patch is computed here, sent by
// apply.ts. Controllers' own managers (kube-controller-manager, the scheduler, status
// writers) are never taken over: what they set is theirs.

type Json = unknown;

export interface ManagedField {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Json;
}

/** Managers whose fields are hand edits: taken over (Flux's list, by prefix like Flux). */
const HAND_EDIT_PREFIXES = ["kubectl"] as const;
const HAND_EDIT_NAMES = ["before-first-apply"] as const;

/** Whether `m` holds fields of a hand edit on the object itself (not a status subresource). */
export function isHandEdit(m: ManagedField, fieldManager: string): boolean {
  if ((m.subresource ?? "") !== "" || m.manager === undefined) return false;
  if (m.manager === fieldManager) return m.operation === "Update"; // an Update of ours: legacy, take it back too
  return HAND_EDIT_PREFIXES.some((p) => m.manager?.startsWith(p) === true) || (HAND_EDIT_NAMES as readonly string[]).includes(m.manager);
}

function isMap(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The union of two FieldsV1 sets. */
export function unionFields(a: Json, b: Json): Json {
  if (!isMap(a)) return b;
  if (!isMap(b)) return a;
  const out: Record<string, Json> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? unionFields(out[k], v) : v;
  return out;
}

/**
 * The managedFields after handing every hand edit's fields to `fieldManager`'s Apply entry,
 * or undefined when there is nothing to take over.
 */
export function takeOver(managed: readonly ManagedField[], fieldManager: string, apiVersion: string): ManagedField[] | undefined {
  const taken = managed.filter((m) => isHandEdit(m, fieldManager));
  if (taken.length === 0) return undefined;
  const ours = managed.find((m) => m.manager === fieldManager && m.operation === "Apply" && (m.subresource ?? "") === "");
  let fields: Json = ours?.fieldsV1 ?? {};
  for (const m of taken) fields = unionFields(fields, m.fieldsV1 ?? {});
  const entry: ManagedField = { ...ours, manager: fieldManager, operation: "Apply", apiVersion: ours?.apiVersion ?? apiVersion, fieldsType: "FieldsV1", fieldsV1: fields };
  const rest = managed.filter((m) => m !== ours && !taken.includes(m));
  return [...rest, entry];
}
