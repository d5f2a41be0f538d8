// The overlays of an admin repo and how to build them. Shared by `validate` and `plan`.
//
// The admin repo's root kustomization is cluster/common + cluster/teams, and cluster/teams
// lists one `../<team>` per team. While both are plain resource lists like that, the root
// build is exactly the concatenation of the overlay builds, so each overlay is built on its
// own: kustomize's root build grows quadratically with the number of objects (a 100-team
// repo takes seconds, a 1000-team repo many minutes), one build per overlay grows linearly,
// and `plan` can skip the overlays a change does not touch. Duplicate objects across
// overlays, which the root build would refuse, are checked by the callers. A root with
// anything more (transformers, other resources) is built as the root.
//
// Builds go through the build service with origin annotations (added to the kustomization in
// the service's memory, never on disk), so every object says which file it came from.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { parse } from "yaml";
import { PathError } from "../errors.js";
import type { KubeObject } from "../model/object.js";
import { clusterDirOf } from "../model/names.js";
import { KUSTOMIZATION_FILES, kustomizationFile } from "./closure.js";
import { buildObjects } from "./kustomize.js";
import type { BuildRequest } from "./service.js";
export const COMMON = "cluster/common";
export const TEAMS = "cluster/teams";
const ORIGIN = "config.kubernetes.io/origin";

/** An object and the repo-relative file it came from (null when kustomize generated it from nothing). */
export interface SourcedObject {
  readonly object: KubeObject;
  readonly file: string | null;
}

function parseKustomization(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function readKustomizationText(dir: string): string | undefined {
  const file = kustomizationFile(dir);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    // Node names no path for a read of a directory: name the file here.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EISDIR") throw new PathError(`${file} is a directory where a file was expected: move it away, or restore the file (git checkout -- <path> in a repo)`, file);
    if (code === "ENOTDIR") throw new PathError(`a file is in the way of ${file}: a parent of it should be a directory; move it away, or restore it (git checkout -- <path> in a repo)`, file);
    throw e;
  }
}

/** cluster/teams' entry for the tombstones directory. */
const TOMBSTONES_ENTRY = "tombstones";

function normalizeEntry(entry: string): string {
  return entry.replace(/^\.\//, "").replace(/\/+$/, "");
}

const PLAIN_FIELDS = new Set(["apiVersion", "kind", "resources"]);

function onlyResources(k: Record<string, unknown>): string[] | undefined {
  if (Object.keys(k).some((f) => !PLAIN_FIELDS.has(f))) return undefined;
  const resources = k.resources ?? [];
  if (!Array.isArray(resources) || resources.some((r) => typeof r !== "string")) return undefined;
  return (resources as string[]).map(normalizeEntry);
}

export interface AdminLayout {
  /** Teams listed in cluster/teams, in the file's order. */
  readonly teams: readonly string[];
  /** Whether the root build is the concatenation of the overlay builds (see the top). */
  readonly plain: boolean;
  /** What to build: cluster/common and cluster/<team> when plain, else "." (the root). */
  readonly units: readonly string[];
}

/** The unit of a plain layout that `path` (relative to the admin repo's root) belongs to, if any. */
export function unitOfPath(path: string): string | undefined {
  if (path.startsWith(`${TEAMS}/${TOMBSTONES_ENTRY}/`)) return `${TEAMS}/${TOMBSTONES_ENTRY}`;
  const dir = clusterDirOf(path);
  return dir === undefined ? undefined : `cluster/${dir}`;
}

/** The admin repo's overlays as its two top kustomizations say them (their texts). */
export function layoutOf(rootText: string | undefined, teamsText: string | undefined): AdminLayout {
  const top = parseKustomization(rootText);
  const teamsK = parseKustomization(teamsText);
  const teamEntries = teamsK === undefined ? undefined : onlyResources(teamsK);
  const teams = (Array.isArray(teamsK?.resources) ? (teamsK.resources as unknown[]) : [])
    .filter((e): e is string => typeof e === "string")
    .map((e) => /^\.\.\/([^/]+)\/?$/.exec(normalizeEntry(e))?.[1])
    .filter((t): t is string => t !== undefined);
  const rootEntries = top === undefined ? undefined : onlyResources(top);
  // delete-team's tombstones (model/tombstones.ts) are one more part of cluster/teams.
  const tombstones = teamEntries?.includes(TOMBSTONES_ENTRY) === true;
  const plain =
    rootEntries !== undefined &&
    rootEntries.every((e) => e === COMMON || e === TEAMS) &&
    (!rootEntries.includes(TEAMS) || (teamEntries !== undefined && teamEntries.length === teams.length + (tombstones ? 1 : 0)));
  if (!plain) return { teams, plain, units: ["."] };
  const units = [
    ...(rootEntries.includes(COMMON) ? [COMMON] : []),
    ...(rootEntries.includes(TEAMS) ? teams.map((t) => `cluster/${t}`) : []),
    ...(rootEntries.includes(TEAMS) && tombstones ? [`${TEAMS}/${TOMBSTONES_ENTRY}`] : []),
  ];
  return { teams: rootEntries.includes(TEAMS) ? teams : [], plain, units };
}

/** The layout of the admin repo at `root`. */
export function readLayout(root: string): AdminLayout {
  return layoutOf(readKustomizationText(root), readKustomizationText(join(root, TEAMS)));
}

/** The team an overlay directory belongs to: `cluster/<team>` -> team; else null. */
export function teamOfUnit(unit: string): string | null {
  const m = /^cluster\/([^/]+)$/.exec(unit);
  return m?.[1] === undefined || unit === COMMON || unit === TEAMS ? null : m[1];
}

/**
 * The file named by kustomize's origin annotation (`path: <file>`, or `configuredIn: <file>`
 * for generated objects, relative to the built directory), repo-relative. Read with a
 * pattern, not a YAML parser: it is kustomize's own two-line output, and objects come by the
 * thousand.
 */
function originFile(o: KubeObject, built: string, root: string): string | null {
  const text = o.metadata.annotations?.[ORIGIN];
  if (text === undefined) return null;
  // `(.*)` and a trim, not a lazy group between spaces: the annotation can be written by the
  // overlay itself, and a lazy match over a long run of spaces is quadratic.
  const raw = /^(?:path|configuredIn):(.*)$/m.exec(text)?.[1]?.trim();
  if (raw === undefined || raw === "") return null;
  let path = raw;
  if (raw.startsWith('"')) {
    try {
      path = JSON.parse(raw) as string;
    } catch {
      return null;
    }
  } else if (raw.startsWith("'")) {
    path = raw.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[a-z]+:\/\//i.test(path)) return null;
  return relative(root, resolve(built, path)).split(sep).join("/");
}

function withoutOrigin(o: KubeObject): KubeObject {
  const { annotations = {}, ...rest } = o.metadata;
  const kept = Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== ORIGIN));
  return { ...o, metadata: Object.keys(kept).length === 0 ? rest : { ...rest, annotations: kept } };
}

/** The build of `<root>/<unit>` (the build service, confined to `root`) with each object's file. */
export async function buildUnit(root: string, unit: string, opts: Pick<BuildRequest, "sopsPassthrough" | "refusePlainSecrets"> = {}): Promise<SourcedObject[]> {
  const objects = await buildObjects({ root, dir: unit, origin: true, ...opts });
  const built = resolve(root, unit);
  // The origin annotation is the overlay's to rewrite (a patch, commonAnnotations): an object
  // built from a unit is that unit's whatever it says. One naming a file outside the unit is
  // attributed to the unit's kustomization.
  const within = unit === "." ? null : `${unit}/`;
  return objects.map((o) => {
    const file = originFile(o, built, root);
    return { object: withoutOrigin(o), file: within === null || file?.startsWith(within) === true ? file : `${within}kustomization.yaml` };
  });
}

/** Every kustomization file below `root` (not .git, not node_modules), repo-relative. */
export function kustomizationFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === ".git" || e.name === "node_modules") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if ((KUSTOMIZATION_FILES as readonly string[]).includes(e.name)) found.push(relative(root, p).split(sep).join("/"));
    }
  };
  walk(root);
  return found.sort();
}

