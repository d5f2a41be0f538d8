// Tombstones: the deletions someone asked for, kept in the admin repo
// (`cluster/teams/tombstones/tombstones.yaml`). The reconciler prunes a team's namespace and its admin
// objects only when the team's deletion is recorded here: a team that merely vanished from Git
// (a deleted line, a bad merge) keeps everything. Generic, so that later deletions of a
// namespace or an app use the same list: each entry names what was deleted by kind,
// namespace (none for cluster-level things) and name, with when and by whom.
//
//   - kind: Team            a whole team (`tenantry delete-team`): its Namespace, everything in
//     name: team2           it, and its admin objects outside it (constraints, bindings, policy
//     deletedAt: "…"        parameters). Kind Team, not Namespace: a team is more than its
//     by: alice@acme.dev    namespace, and team.yaml already calls it a Team.
//   - kind: Namespace       one namespace (and what is in it), not a team; also what
//     name: scratch         create-team records when a team moves onto its own control plane
//                           (its host namespace goes, the team stays)
//   - kind: ControlPlane    a team's KubeFlex control plane (its API server and everything
//     name: web             in it), when the team moves back to a namespace; a deleted
//                           controlplane team's ControlPlane goes with its Team tombstone
//
// The file is rendered as ConfigMap tenantry-system/tenantry-tombstones (key tombstones.yaml,
// by the configMapGenerator of cluster/teams/tombstones/kustomization.yaml, a directory listed
// in cluster/teams/kustomization.yaml), so the reconciler reads exactly the tombstones of the
// revision it applies. Pure.

import { parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import { CONTROLPLANE_KIND } from "./controlplane.js";
import { dnsLabelProblems, dnsSubdomainProblems, SYSTEM_NAMESPACE, teamNameProblems } from "./names.js";
import type { KubeObject } from "./object.js";
import { documentValue } from "./yaml-value.js";

export const TOMBSTONES_DIR = "cluster/teams/tombstones";
export const TOMBSTONES_FILE = `${TOMBSTONES_DIR}/tombstones.yaml`;
/** The ConfigMap the admin repo renders the file into, in tenantry-system, under the key TOMBSTONES_KEY. */
export const TOMBSTONES_CONFIGMAP = "tenantry-tombstones";
export const TOMBSTONES_KEY = "tombstones.yaml";
/** The kind of a whole team's tombstone. */
export const TEAM_KIND = "Team";

export interface Tombstone {
  readonly kind: string;
  /** Absent for cluster-level things (a Team, a Namespace). */
  readonly namespace?: string;
  readonly name: string;
  /** RFC 3339, UTC, whole seconds. */
  readonly deletedAt: string;
  /** Who asked: a git user.email, or a user name. */
  readonly by: string;
}

const KEYS = ["kind", "namespace", "name", "deletedAt", "by"] as const;
const KIND = /^[A-Z][A-Za-z0-9]*$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** Kinds that are never inside a namespace. */
const CLUSTER_LEVEL = new Set([TEAM_KIND, "Namespace", CONTROLPLANE_KIND]);

const HEADER = [
  "# Deletions that were asked for. `tenantry delete-team` records a team here, and the",
  "# reconciler prunes a team's namespace and admin objects only when its deletion is listed:",
  "# a team that vanished from cluster/teams/kustomization.yaml without one keeps everything.",
  "# Written by tenantry; `tenantry create-team` removes a team's entry when it comes back.",
];

/** `timestamp` as a tombstone's deletedAt: UTC, whole seconds. */
export function deletedAt(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, "Z");
}

export function teamTombstone(team: string, now: Date, by: string): Tombstone {
  return { kind: TEAM_KIND, name: team, deletedAt: deletedAt(now), by };
}

/** Same thing deleted: kind, namespace and name. */
export function sameTarget(a: Pick<Tombstone, "kind" | "namespace" | "name">, b: Pick<Tombstone, "kind" | "namespace" | "name">): boolean {
  return a.kind === b.kind && (a.namespace ?? "") === (b.namespace ?? "") && a.name === b.name;
}

function entryProblems(value: unknown, at: string): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${at}: is not a mapping of ${KEYS.join(", ")}`];
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(o)) if (!(KEYS as readonly string[]).includes(k)) problems.push(`${at}: unknown field ${JSON.stringify(k)} (fields: ${KEYS.join(", ")})`);
  const str = (k: (typeof KEYS)[number]): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") {
      problems.push(`${at}: ${k} is not a string`);
      return undefined;
    }
    return v;
  };
  const kind = str("kind");
  const namespace = str("namespace");
  const name = str("name");
  const when = str("deletedAt");
  const by = str("by");
  if (kind === undefined) problems.push(`${at}: kind is missing`);
  else if (!KIND.test(kind)) problems.push(`${at}: kind "${kind}" is not a Kubernetes kind (like Team, Namespace, Deployment)`);
  if (name === undefined) problems.push(`${at}: name is missing`);
  else if (kind === TEAM_KIND) problems.push(...teamNameProblems(name).map((p) => `${at}: ${p}`));
  else if (kind === "Namespace" || kind === CONTROLPLANE_KIND) problems.push(...dnsLabelProblems("name", name).map((p) => `${at}: ${p}`));
  else problems.push(...dnsSubdomainProblems("name", name).map((p) => `${at}: ${p}`));
  if (namespace !== undefined && namespace !== "") {
    if (kind !== undefined && CLUSTER_LEVEL.has(kind)) problems.push(`${at}: a ${kind} has no namespace: remove namespace`);
    else problems.push(...dnsLabelProblems("namespace", namespace).map((p) => `${at}: ${p}`));
  }
  if (when === undefined) problems.push(`${at}: deletedAt is missing`);
  else if (!TIMESTAMP.test(when) || Number.isNaN(Date.parse(when))) problems.push(`${at}: deletedAt "${when}" is not a UTC time like 2024-05-01T12:00:00Z`);
  if (by === undefined || by.trim() === "") problems.push(`${at}: by is missing (who asked for the deletion)`);
  return problems;
}

/** The tombstones of `text` (the file `file`), and every problem with it; tombstones only when there is none. */
export function readTombstones(text: string, file = TOMBSTONES_FILE): { readonly tombstones: Tombstone[]; readonly problems: string[] } {
  const doc = parseDocument(text, { prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) return { tombstones: [], problems: [`${file}: malformed YAML (${first.message.split("\n")[0] ?? ""}): fix it or restore it with git`] };
  const read = documentValue(doc);
  if ("problem" in read) return { tombstones: [], problems: [`${file}: ${read.problem}: fix it or restore it with git`] };
  const value = read.value;
  if (value === null || value === undefined) return { tombstones: [], problems: [] };
  if (!Array.isArray(value)) return { tombstones: [], problems: [`${file}: is not a list of tombstones (- kind: Team, name: …, deletedAt: …, by: …)`] };
  const problems = value.flatMap((v, i) => entryProblems(v, `${file}: entry ${i + 1}`));
  if (problems.length > 0) return { tombstones: [], problems };
  const tombstones = (value as Record<string, string | null | undefined>[]).map((o): Tombstone => ({
    kind: o.kind ?? "",
    ...(o.namespace === undefined || o.namespace === null || o.namespace === "" ? {} : { namespace: o.namespace }),
    name: o.name ?? "",
    deletedAt: o.deletedAt ?? "",
    by: o.by ?? "",
  }));
  for (const [i, t] of tombstones.entries()) {
    const j = tombstones.findIndex((u) => sameTarget(t, u));
    if (j < i) problems.push(`${file}: entries ${j + 1} and ${i + 1} both record ${describeTombstone(t)}: keep one`);
  }
  return problems.length > 0 ? { tombstones: [], problems } : { tombstones, problems };
}

/** The tombstones of `text`; throws a ValidationError listing every problem. */
export function parseTombstones(text: string, file = TOMBSTONES_FILE): Tombstone[] {
  const r = readTombstones(text, file);
  if (r.problems.length > 0) throw new ValidationError(r.problems);
  return r.tombstones;
}

const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._@/+-]*$/;
const SPECIAL = /^(true|false|yes|no|on|off|null|y|n|~|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)$/i;

function scalar(v: string): string {
  return PLAIN.test(v) && !SPECIAL.test(v) ? v : JSON.stringify(v);
}

function order(a: Tombstone, b: Tombstone): number {
  const key = (t: Tombstone): string => `${t.kind}\u0000${t.namespace ?? ""}\u0000${t.name}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** The file's text: a header, then the tombstones sorted by kind, namespace, name; the same list always gives the same bytes. */
export function formatTombstones(tombstones: readonly Tombstone[]): string {
  const lines = [...HEADER];
  const sorted = [...tombstones].sort(order);
  if (sorted.length === 0) lines.push("[]");
  for (const t of sorted) {
    lines.push(`- kind: ${scalar(t.kind)}`);
    if (t.namespace !== undefined && t.namespace !== "") lines.push(`  namespace: ${scalar(t.namespace)}`);
    lines.push(`  name: ${scalar(t.name)}`, `  deletedAt: ${scalar(t.deletedAt)}`, `  by: ${scalar(t.by)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** `list` with `t` recorded (replacing an older record of the same target). */
export function withTombstone(list: readonly Tombstone[], t: Tombstone): Tombstone[] {
  return [...list.filter((u) => !sameTarget(u, t)), t];
}

/** `list` without the record of `target`. */
export function withoutTombstone(list: readonly Tombstone[], target: Pick<Tombstone, "kind" | "namespace" | "name">): Tombstone[] {
  return list.filter((u) => !sameTarget(u, target));
}

/** `Team team2`, `Deployment shop/web`. */
export function describeTombstone(t: Pick<Tombstone, "kind" | "namespace" | "name">): string {
  return `${t.kind} ${t.namespace === undefined || t.namespace === "" ? "" : `${t.namespace}/`}${t.name}`;
}

/** Whether `o` is the rendered tombstones ConfigMap. */
export function isTombstonesConfigMap(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): boolean {
  return o.apiVersion === "v1" && o.kind === "ConfigMap" && o.metadata.name === TOMBSTONES_CONFIGMAP && o.metadata.namespace === SYSTEM_NAMESPACE;
}

/**
 * The tombstones a render carries (ConfigMap tenantry-system/tenantry-tombstones), and the
 * problems with them. A render without the ConfigMap has none; a malformed one gives none and
 * its problems (the safe side: nothing of a vanished team is pruned).
 */
export function tombstonesOfRender(objects: readonly KubeObject[]): { readonly tombstones: Tombstone[]; readonly problems: string[] } {
  const cm = objects.find(isTombstonesConfigMap);
  if (cm === undefined) return { tombstones: [], problems: [] };
  const data = (cm as { data?: unknown }).data;
  const text = typeof data === "object" && data !== null ? (data as Record<string, unknown>)[TOMBSTONES_KEY] : undefined;
  if (typeof text !== "string") return { tombstones: [], problems: [`ConfigMap ${SYSTEM_NAMESPACE}/${TOMBSTONES_CONFIGMAP} has no ${TOMBSTONES_KEY}`] };
  return readTombstones(text, `ConfigMap ${SYSTEM_NAMESPACE}/${TOMBSTONES_CONFIGMAP}`);
}
