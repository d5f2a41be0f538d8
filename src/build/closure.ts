// Which kustomization files a build reads, and which of their entries look remote: what
// `tenantry validate` notes about kustomizations no build reads (an admin's apply-once
// directory). The refusal of a remote base a build does read is the build service's
// (tools/build, with kustomize's own detection), never this module's. Shared by
// the reconciler (a GitSync builds from its own commit only: a remote base in what it builds
// refuses the revision) and `tenantry validate`. A kustomization that no build reaches —
// cluster/common/gatekeeper/, applied once by an admin — may name a remote base: nothing
// tenantry builds fetches it.

import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { parseAllDocuments } from "yaml";
import { documentValue } from "../model/yaml-value.js";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

/** Fields whose entries kustomize loads as files, directories or URLs. */
export const LOADED_FIELDS = ["resources", "bases", "components", "generators", "transformers", "validators"] as const;

/** A URL or a go-getter style host path: kustomize would fetch it. */
export function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || entry.startsWith("git@") || /^(github|gitlab|bitbucket)\.(com|org)\//.test(entry);
}

/** The kustomization file of `dir`, or undefined. */
export function kustomizationFile(dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The string entries of the loaded fields of every document in a kustomization's text. */
export function loadedEntries(text: string): { field: string; entry: string }[] {
  const out: { field: string; entry: string }[] = [];
  for (const doc of parseAllDocuments(text)) {
    // A document with no value (an alias bomb) loads nothing; the build says what is wrong.
    const read = documentValue(doc);
    const value = "problem" in read ? null : read.value;
    if (typeof value !== "object" || value === null) continue;
    for (const field of LOADED_FIELDS) {
      const list = (value as Record<string, unknown>)[field];
      if (!Array.isArray(list)) continue;
      for (const entry of list) if (typeof entry === "string") out.push({ field, entry });
    }
  }
  return out;
}

/**
 * The kustomization files a build of `unit` (a directory relative to `root`) reads: its own
 * and those of every local directory its loaded fields name, transitively; repo-relative,
 * sorted. A file that does not parse is included (the build will say what is wrong with it)
 * but not followed.
 */
export function kustomizationClosure(root: string, unit: string): string[] {
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    const file = kustomizationFile(join(root, dir));
    if (file === undefined) return;
    const rel = relative(root, file).split(sep).join("/");
    if (seen.has(rel)) return;
    seen.add(rel);
    let entries: { entry: string }[];
    try {
      entries = loadedEntries(readFileSync(file, "utf8"));
    } catch {
      return;
    }
    for (const { entry } of entries) {
      if (isRemote(entry)) continue;
      const next = relative(root, resolve(root, dir, entry)).split(sep).join("/");
      if (next.startsWith("..")) continue;
      visit(next);
    }
  };
  visit(unit);
  return [...seen].sort();
}

/** Problems with one kustomization file's text: every remote entry, named. */
export function remoteBaseProblems(file: string, text: string): string[] {
  return loadedEntries(text)
    .filter(({ entry }) => isRemote(entry))
    .map(({ field, entry }) => `${file}: ${field} entry "${entry}" is a remote base: vendor it into the repository instead`);
}
