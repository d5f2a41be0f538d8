// `tenantry ctx`, the pure part: edits of a kubeconfig as a YAML Document, so comments,
// key order and every entry tenantry does not own survive byte for byte. tenantry adds or
// updates only its own user and context `tenantry-<team>` (and a cluster entry when the
// admin's is not in this file), sets current-context, and remembers the context it left in
// a top-level extension named `tenantry.dev/ctx` (kubectl keeps extensions it does not know):
//
//   extensions:
//   - name: tenantry.dev/ctx
//     extension:
//       previous-context: admin@prod
//       contexts: [tenantry-team1]

import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";
import { TenantryError, ExitCode } from "../errors.js";

export const CTX_EXTENSION = "tenantry.dev/ctx";

type Section = "clusters" | "users" | "contexts";

export interface CtxState {
  /** The context `tenantry ctx -` switches to. */
  readonly previous?: string | undefined;
  /** Contexts tenantry made: never used as the admin identity for a TokenRequest. */
  readonly contexts: readonly string[];
}

/** Parses a kubeconfig; refuses one that is not a YAML mapping. */
export function parseKubeconfig(text: string, file: string): Document {
  const doc = parseDocument(text.trim() === "" ? "apiVersion: v1\nkind: Config\n" : text);
  const first = doc.errors[0];
  if (first !== undefined) throw new TenantryError(`${file}: malformed YAML: ${first.message.split("\n")[0] ?? ""}`, ExitCode.invalid);
  if (!isMap(doc.contents)) throw new TenantryError(`${file} is not a kubeconfig (not a YAML mapping)`, ExitCode.invalid);
  return doc;
}

/** Sequences as the file writes them: kubectl writes `- name:` flush with its key. */
export function serializeKubeconfig(doc: Document, original: string): string {
  const m = /^(?:clusters|contexts|users|extensions):[ \t]*\r?\n([ \t]*)-/m.exec(original);
  const indentSeq = m === null ? false : (m[1] ?? "").length > 0;
  return doc.toString({ indentSeq, lineWidth: 0 });
}

function seqOf(doc: Document, section: Section | "extensions"): YAMLSeq | undefined {
  const node = doc.get(section, true);
  return isSeq(node) ? node : undefined;
}

function entry(doc: Document, section: Section | "extensions", name: string): YAMLMap | undefined {
  for (const item of seqOf(doc, section)?.items ?? []) {
    if (isMap(item) && item.get("name") === name) return item;
  }
  return undefined;
}

export function hasEntry(doc: Document, section: Section, name: string): boolean {
  return entry(doc, section, name) !== undefined;
}

export function currentContext(doc: Document): string | undefined {
  const v: unknown = doc.get("current-context");
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Adds `{name, [field]: value}` to `section`, or replaces `field` of the entry named `name`. */
function upsert(doc: Document, section: Section | "extensions", field: string, name: string, value: unknown): void {
  const existing = entry(doc, section, name);
  if (existing !== undefined) {
    existing.set(field, doc.createNode(value));
    return;
  }
  const node = doc.createNode({ name, [field]: value });
  const seq = seqOf(doc, section);
  if (seq === undefined) doc.set(section, doc.createNode([{ name, [field]: value }]));
  else seq.add(node);
}

export function readCtxState(doc: Document): CtxState {
  const ext = entry(doc, "extensions", CTX_EXTENSION)?.toJSON() as { extension?: { "previous-context"?: unknown; contexts?: unknown } } | undefined;
  const previous = ext?.extension?.["previous-context"];
  const contexts = ext?.extension?.contexts;
  return {
    previous: typeof previous === "string" && previous !== "" ? previous : undefined,
    contexts: Array.isArray(contexts) ? contexts.filter((c): c is string => typeof c === "string") : [],
  };
}

function writeCtxState(doc: Document, state: CtxState): void {
  upsert(doc, "extensions", "extension", CTX_EXTENSION, {
    ...(state.previous === undefined ? {} : { "previous-context": state.previous }),
    contexts: [...new Set(state.contexts)].sort(),
  });
}

/** Sets current-context, keeping the scalar's quoting style when there is one. */
function setCurrent(doc: Document, name: string): void {
  const node = doc.get("current-context", true);
  if (isScalar(node)) node.value = name;
  else doc.set("current-context", name);
}

export interface TeamContext {
  readonly team: string;
  /** Context and user name: `tenantry-<team>`. */
  readonly name: string;
  readonly token: string;
  /** The cluster entry the context points at; `entry` is set when it must be added. */
  readonly cluster: { readonly name: string; readonly entry?: Record<string, string> | undefined };
}

/** Adds or updates the team's user and context, switches to it; returns the context left. */
export function useTeamContext(doc: Document, t: TeamContext): { previous: string | undefined } {
  const before = currentContext(doc);
  const state = readCtxState(doc);
  upsert(doc, "users", "user", t.name, { token: t.token });
  if (t.cluster.entry !== undefined) upsert(doc, "clusters", "cluster", t.cluster.name, t.cluster.entry);
  upsert(doc, "contexts", "context", t.name, { cluster: t.cluster.name, user: t.name, namespace: t.team });
  setCurrent(doc, t.name);
  // Refreshing the context you are on keeps the context to go back to.
  const previous = before === t.name ? state.previous : before;
  writeCtxState(doc, { previous, contexts: [...state.contexts, t.name] });
  return { previous };
}

/** `tenantry ctx -`: back to the remembered context, remembering the one left (like `cd -`). */
export function useContextBack(doc: Document, exists: (name: string) => boolean): { from: string | undefined; to: string } {
  const state = readCtxState(doc);
  if (state.previous === undefined) throw new TenantryError("no previous context to go back to: tenantry ctx <team> remembers the one it leaves", ExitCode.invalid);
  if (!exists(state.previous)) throw new TenantryError(`the previous context ${state.previous} no longer exists in the kubeconfig: kubectl config get-contexts lists them`, ExitCode.invalid);
  const from = currentContext(doc);
  setCurrent(doc, state.previous);
  writeCtxState(doc, { previous: from, contexts: state.contexts });
  return { from, to: state.previous };
}
