// Reads a kustomization the way kustomize would, far enough to know which objects a Flux
// layout declares and where each came from: resources and bases (local only), the
// namespace, strategic-merge and JSON 6902 patches. Pure: it works on the SourceTree, never
// runs kustomize (the source need not build with tenantry's confined build), and reports
// what it does not read (remote bases, generators, other fields) as not mapped.

import { ValidationError } from "../errors.js";
import type { ReportItem } from "./report.js";
import { dirOf, isMap, join, kindOf, type Located, nameOf, namespaceOf, parseYamlMap, parseYamlObjects, parseYamlValue, type SourceTree, str, type YamlMap } from "./source.js";

export interface Loaded {
  readonly objects: Located[];
  readonly items: ReportItem[];
  /** A configMapGenerator/secretGenerator entry, for the caller to judge. */
  readonly generators: { readonly file: string; readonly field: string; readonly name: string }[];
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** Fields read below, and those that change nothing the importer looks at. */
const READ = new Set(["resources", "bases", "namespace", "patches", "patchesStrategicMerge", "patchesJson6902", "configMapGenerator", "secretGenerator"]);
const HARMLESS = new Set(["apiVersion", "kind", "images", "commonLabels", "labels", "commonAnnotations", "sortOptions", "buildMetadata", "generatorOptions"]);

/** Kinds kustomize's namespace transformer leaves alone (the cluster-scoped ones a Flux repo holds). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PodSecurityPolicy",
  "PriorityClass",
  "StorageClass",
  "PersistentVolume",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "ClusterPolicy",
  "ConstraintTemplate",
]);

export function isClusterScoped(o: YamlMap): boolean {
  return CLUSTER_SCOPED.has(kindOf(o));
}

export function kustomizationFile(tree: SourceTree, dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((f) => (dir === "" ? f : `${dir}/${f}`)).find((p) => tree.has(p));
}

function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry) || /^git@/.test(entry) || entry.includes("?ref=");
}

function stringList(k: YamlMap, field: string, file: string): string[] {
  const v = k[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((e) => typeof e !== "string")) throw new ValidationError([`${file}: ${field} is not a list of strings: fix the file`]);
  return v as string[];
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** A strategic merge, as kustomize does it for the shapes Flux repos use: maps merged, `null` deletes, lists of named items merged by name, other lists replaced. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    const out: YamlMap = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (k === "$patch") continue;
      if (v === null) Reflect.deleteProperty(out, k);
      else out[k] = strategicMerge(base[k], v);
    }
    return out;
  }
  const named = (l: unknown[]): boolean => l.every((e) => isMap(e) && typeof e.name === "string");
  if (Array.isArray(base) && Array.isArray(patch) && base.length > 0 && named(base) && named(patch)) {
    const out = (base as unknown[]).map((b): unknown => {
      const p = (patch as unknown[]).find((e) => (e as YamlMap).name === (b as YamlMap).name);
      return p === undefined ? b : strategicMerge(b, p);
    });
    for (const p of patch as unknown[]) if (!base.some((b) => (b as YamlMap).name === (p as YamlMap).name)) out.push(p);
    return out;
  }
  return clone(patch);
}

interface Target {
  kind?: string;
  name?: string;
  namespace?: string;
  group?: string;
}

function nameMatches(pattern: string, name: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(name);
  } catch {
    return pattern === name;
  }
}

function matches(o: YamlMap, t: Target): boolean {
  if (t.kind !== undefined && t.kind !== kindOf(o)) return false;
  if (t.name !== undefined && !nameMatches(t.name, nameOf(o))) return false;
  if (t.namespace !== undefined && t.namespace !== (namespaceOf(o) ?? "")) return false;
  if (t.group !== undefined) {
    const v = str(o.apiVersion) ?? "";
    if ((v.includes("/") ? v.split("/")[0] : "") !== t.group) return false;
  }
  return true;
}

function unescape(token: string): string {
  return token.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** One JSON 6902 operation on `doc` (add, replace, remove); false when it cannot be applied. */
export function applyJsonOp(doc: YamlMap, op: YamlMap): boolean {
  const kind = str(op.op);
  const path = str(op.path);
  if (path === undefined || !path.startsWith("/") || (kind !== "add" && kind !== "replace" && kind !== "remove")) return false;
  const tokens = path.slice(1).split("/").map(unescape);
  const last = tokens.pop();
  if (last === undefined) return false;
  let cur: unknown = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isMap(cur)) {
      if (cur[t] === undefined && kind === "add") cur[t] = {};
      cur = cur[t];
    } else return false;
  }
  if (Array.isArray(cur)) {
    if (kind === "add") {
      if (last === "-") cur.push(clone(op.value));
      else cur.splice(Number(last), 0, clone(op.value));
    } else if (kind === "replace") cur[Number(last)] = clone(op.value);
    else cur.splice(Number(last), 1);
    return true;
  }
  if (!isMap(cur)) return false;
  if (kind === "remove") Reflect.deleteProperty(cur, last);
  else cur[last] = clone(op.value);
  return true;
}

/**
 * The objects of the kustomization in `dir` (it must exist), each with the file it came from,
 * and what of the kustomization could not be read. `tenant` tags the report items.
 */
export function loadKustomization(tree: SourceTree, dir: string, tenant: string | null, depth = 0): Loaded {
  const file = kustomizationFile(tree, dir);
  if (file === undefined) throw new ValidationError([`${dir}/kustomization.yaml is missing: the layout needs it`]);
  if (depth > 16) throw new ValidationError([`${file}: resources nest more than 16 deep (a loop?): fix the kustomizations`]);
  const k = parseYamlMap(tree.get(file) ?? "", file);
  const result: Loaded = { objects: [], items: [], generators: [] };
  const unmapped = (subject: string, detail: string): void => {
    result.items.push({ verdict: "unmapped", tenant, file, subject, detail });
  };
  for (const field of Object.keys(k)) {
    if (!READ.has(field) && !HARMLESS.has(field)) unmapped(`kustomization field ${field}`, "not read by the importer: check by hand what it changed");
  }

  for (const entry of [...stringList(k, "resources", file), ...stringList(k, "bases", file)]) {
    if (isRemote(entry)) {
      unmapped(`remote base ${entry}`, "tenantry's build refuses remote bases: vendor it into the repo by hand");
      continue;
    }
    const path = join(dir, entry);
    if (path === null) throw new ValidationError([`${file}: resource ${entry} points outside the repo: fix the file`]);
    if (kustomizationFile(tree, path) !== undefined) {
      const sub = loadKustomization(tree, path, tenant, depth + 1);
      result.objects.push(...sub.objects);
      result.items.push(...sub.items);
      result.generators.push(...sub.generators);
    } else if (tree.has(path)) {
      for (const obj of parseYamlObjects(tree.get(path) ?? "", path)) result.objects.push({ file: path, obj });
    } else {
      throw new ValidationError([`${file}: resource ${entry} does not exist (${path}): fix the file or restore it`]);
    }
  }

  for (const field of ["configMapGenerator", "secretGenerator"]) {
    const gens = k[field];
    if (gens === undefined || gens === null) continue;
    if (!Array.isArray(gens)) throw new ValidationError([`${file}: ${field} is not a list: fix the file`]);
    for (const g of gens) result.generators.push({ file, field, name: isMap(g) ? (str(g.name) ?? "?") : "?" });
  }

  const patchText = (ref: YamlMap | string, field: string): { text: string; from: string } => {
    if (typeof ref === "string") {
      const p = join(dir, ref);
      // patchesStrategicMerge takes a file or an inline patch.
      if (p !== null && tree.has(p)) return { text: tree.get(p) ?? "", from: p };
      if (ref.includes("\n")) return { text: ref, from: file };
      throw new ValidationError([`${file}: ${field} names ${ref}, which does not exist: fix the file`]);
    }
    const path = str(ref.path);
    if (path !== undefined) {
      const p = join(dir, path);
      if (p === null || !tree.has(p)) throw new ValidationError([`${file}: ${field} names ${path}, which does not exist: fix the file`]);
      return { text: tree.get(p) ?? "", from: p };
    }
    const inline = str(ref.patch);
    if (inline === undefined) throw new ValidationError([`${file}: a ${field} entry has neither path nor patch: fix the file`]);
    return { text: inline, from: file };
  };

  const smp = (patch: YamlMap, from: string, target: Target | undefined): void => {
    const t: Target = target ?? { kind: kindOf(patch), name: nameOf(patch), ...(namespaceOf(patch) === undefined ? {} : { namespace: namespaceOf(patch) }) };
    const hits = result.objects.filter((l) => matches(l.obj, t));
    if (hits.length === 0) throw new ValidationError([`${from}: the patch of ${t.kind ?? "?"} ${t.name ?? "?"} matches no object of ${file}: fix the patch`]);
    for (const h of hits) {
      const m = h as { obj: YamlMap; file: string };
      m.obj = strategicMerge(h.obj, patch) as YamlMap;
      // What a patch file sets is what the report names (a team's flux-patch.yaml, not the shared base).
      if (from !== file) m.file = from;
    }
  };
  const json = (ops: unknown[], from: string, target: Target): void => {
    for (const h of result.objects.filter((l) => matches(l.obj, target))) {
      const obj = clone(h.obj);
      const ok = ops.every((op) => isMap(op) && applyJsonOp(obj, op));
      if (ok) (h as { obj: YamlMap }).obj = obj;
      else unmapped(`patch of ${kindOf(h.obj)} ${nameOf(h.obj)} (from ${from})`, "a JSON 6902 operation other than add, replace or remove on an existing path: not applied");
    }
  };
  const targetOf = (v: unknown): Target | undefined => {
    if (!isMap(v)) return undefined;
    const t: Target = {};
    for (const key of ["kind", "name", "namespace", "group"] as const) {
      const s = str(v[key]);
      if (s !== undefined) t[key] = s;
    }
    if (v.labelSelector !== undefined || v.annotationSelector !== undefined) unmapped("patch target selector", "label and annotation selectors are not read: the patch was applied to every object of the kind and name");
    return t;
  };

  const listOf = (field: string): unknown[] => {
    const v = k[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new ValidationError([`${file}: ${field} is not a list: fix the file`]);
    return v;
  };
  // kustomize's order: strategic-merge patches, patches, the namespace, JSON 6902 patches.
  for (const ref of listOf("patchesStrategicMerge")) {
    if (typeof ref !== "string") throw new ValidationError([`${file}: patchesStrategicMerge holds a non-string: fix the file`]);
    const { text, from } = patchText(ref, "patchesStrategicMerge");
    for (const p of parseYamlObjects(text, from)) smp(p, from, undefined);
  }
  for (const ref of listOf("patches")) {
    if (!isMap(ref)) throw new ValidationError([`${file}: a patches entry is not a mapping: fix the file`]);
    const { text, from } = patchText(ref, "patches");
    const target = targetOf(ref.target);
    const parsed = parseJsonOrSmp(text, from);
    if (Array.isArray(parsed)) {
      if (target === undefined) throw new ValidationError([`${from}: a JSON 6902 patch needs a target: fix the file`]);
      json(parsed, from, target);
    } else for (const p of parsed.maps) smp(p, from, target);
  }
  const ns = str(k.namespace);
  if (ns !== undefined) {
    for (const l of result.objects) {
      if (isClusterScoped(l.obj)) continue;
      const meta = isMap(l.obj.metadata) ? l.obj.metadata : {};
      (l as { obj: YamlMap }).obj = { ...l.obj, metadata: { ...meta, namespace: ns } };
    }
  }
  for (const ref of listOf("patchesJson6902")) {
    if (!isMap(ref)) throw new ValidationError([`${file}: a patchesJson6902 entry is not a mapping: fix the file`]);
    const { text, from } = patchText(ref, "patchesJson6902");
    const target = targetOf(ref.target);
    const parsed = parseJsonOrSmp(text, from);
    if (!Array.isArray(parsed) || target === undefined) throw new ValidationError([`${from}: a patchesJson6902 entry needs a target and a list of operations: fix the file`]);
    json(parsed, from, target);
  }
  return result;
}

/** A patch's text: a list of JSON 6902 operations, or strategic-merge documents. */
function parseJsonOrSmp(text: string, from: string): unknown[] | { maps: YamlMap[] } {
  if (/^\s*[-[]/.test(text.replace(/^(\s*#.*\n|\s*---\s*\n)*/, ""))) return parseYamlListDoc(text, from);
  return { maps: parseYamlObjects(text, from) };
}

function parseYamlListDoc(text: string, from: string): unknown[] {
  // A JSON 6902 patch is one YAML (or JSON) list.
  const value = parseYamlValue(text, from);
  if (!Array.isArray(value)) throw new ValidationError([`${from}: a JSON 6902 patch is not a list of operations: fix the file`]);
  return value;
}

/** The directory a located object's file is in. */
export function dirOfLocated(l: Located): string {
  return dirOf(l.file);
}
