// Runs `kustomize build` on a directory and parses the object stream.

import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { mapLimit } from "../concurrency.js";
import { ToolError } from "../errors.js";
import { type KubeObject, parseObjects } from "../model/object.js";
import { findBinary } from "../toolchain.js";
import { KUSTOMIZATION_FILES } from "./closure.js";

const run = promisify(execFile);

/** `kustomize build DIR`: the rendered YAML stream. Throws a ToolError with kustomize's message. */
export async function kustomizeBuildText(dir: string): Promise<string> {
  const k = findBinary("kustomize");
  try {
    const { stdout } = await run(k.file, ["build", dir], { maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const detail = (err.stderr ?? err.message).trim().split("\n").filter(Boolean).slice(-1)[0] ?? "failed";
    throw new ToolError(`kustomize build ${dir} failed: ${detail}`);
  }
}

export async function kustomizeBuild(dir: string): Promise<KubeObject[]> {
  return parseObjects(await kustomizeBuildText(dir), `kustomize build ${dir}`);
}


/** The entries of a kustomization that only aggregates directories, or undefined. */
async function aggregatedDirs(dir: string): Promise<string[] | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    let text: string;
    try {
      text = await readFile(join(dir, name), "utf8");
    } catch {
      continue;
    }
    const doc = parseAllDocuments(text);
    if (doc.length !== 1 || (doc[0]?.errors.length ?? 1) > 0) return undefined;
    const value: unknown = doc[0]?.toJS();
    if (typeof value !== "object" || value === null) return undefined;
    const keys = Object.keys(value);
    if (!keys.every((k) => k === "apiVersion" || k === "kind" || k === "resources")) return undefined;
    const resources = (value as { resources?: unknown }).resources ?? [];
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string" && !r.includes("://"))) return undefined;
    const dirs = (resources as string[]).map((r) => join(dir, r));
    for (const d of dirs) {
      if (!(await stat(d).catch(() => undefined))?.isDirectory()) return undefined;
    }
    return dirs;
  }
  return undefined;
}

/**
 * `kustomize build dir`, split where it is safe: a kustomization that only lists
 * directories under `resources` (no transformers, no files) is built as the concatenation of
 * its parts. That is what kustomize would output too, but kustomize's own aggregate build
 * grows superlinearly with the number of parts (kubernetes-sigs/kustomize#5084): an admin
 * repo with hundreds of teams takes minutes as one build and seconds in parts.
 */
export async function kustomizeBuildSplit(dir: string, concurrency = 2): Promise<KubeObject[]> {
  const parts = await aggregatedDirs(dir);
  if (parts === undefined) return kustomizeBuild(dir);
  const results = await mapLimit(parts, concurrency, (part) => kustomizeBuildSplit(part, concurrency));
  const objects = results.flat();
  const seen = new Set<string>();
  for (const o of objects) {
    const group = o.apiVersion.includes("/") ? o.apiVersion.slice(0, o.apiVersion.indexOf("/")) : "";
    const id = `${group}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(id)) throw new ToolError(`kustomize build ${dir} failed: ${o.kind} ${o.metadata.name} is defined twice (ids must be unique across ${dir}'s resources)`);
    seen.add(id);
  }
  return objects;
}
