// Builds kustomizations into objects, through the build service (service.ts), and splits an
// aggregating kustomization into parts where that is safe (see buildSplit).

import { readFile, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parseAllDocuments } from "yaml";
import { mapLimit } from "../concurrency.js";
import { type KubeObject, objectsOf } from "../model/object.js";
import { documentValue } from "../model/yaml-value.js";
import { KUSTOMIZATION_FILES } from "./closure.js";
import { BuildError, type BuildRequest, buildJson, LIMITS } from "./service.js";

/** The objects of one build. */
export async function buildObjects(req: BuildRequest): Promise<KubeObject[]> {
  return objectsOf((await buildJson(req)).objects, `kustomize build ${req.dir}`);
}

/** The objects of the kustomization at `dir`, which is its own checkout (nothing outside it is read). */
export function buildDir(dir: string): Promise<KubeObject[]> {
  return buildObjects({ root: dir, dir: "." });
}

/**
 * The entries of a kustomization that only aggregates directories, or undefined. Only what
 * really lies inside `root` is read (symlinks resolved); anything else is left to the build
 * service, which refuses it.
 */
async function aggregatedDirs(root: string, dir: string): Promise<string[] | undefined> {
  const inside = async (p: string): Promise<boolean> => {
    const real = await realpath(p).catch(() => undefined);
    const top = await realpath(root).catch(() => undefined);
    return real !== undefined && top !== undefined && (real === top || real.startsWith(`${top}${sep}`));
  };
  if (!(await inside(dir))) return undefined;
  for (const name of KUSTOMIZATION_FILES) {
    const file = join(dir, name);
    let text: string;
    try {
      if (!(await inside(file))) continue;
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    const doc = parseAllDocuments(text);
    if (doc.length !== 1 || (doc[0]?.errors.length ?? 1) > 0) return undefined;
    const read = doc[0] === undefined ? undefined : documentValue(doc[0]);
    // An alias bomb is no plain list of directories: kustomize reads (and refuses) it.
    if (read === undefined || "problem" in read) return undefined;
    const value = read.value;
    if (typeof value !== "object" || value === null) return undefined;
    const keys = Object.keys(value);
    if (!keys.every((k) => k === "apiVersion" || k === "kind" || k === "resources")) return undefined;
    const resources = (value as { resources?: unknown }).resources ?? [];
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string" && !r.includes("://"))) return undefined;
    const dirs = (resources as string[]).map((r) => join(dir, r));
    for (const d of dirs) {
      if (!(await inside(d)) || !(await stat(d).catch(() => undefined))?.isDirectory()) return undefined;
    }
    return dirs;
  }
  return undefined;
}

/**
 * The build of `dir` in the checkout `root`, split where it is safe: a kustomization that
 * only lists directories under `resources` (no transformers, no files) is built as the
 * concatenation of its parts. That is what kustomize would output too, but kustomize's own
 * aggregate build grows superlinearly with the number of parts (kubernetes-sigs/kustomize#5084):
 * an admin repo with hundreds of teams takes minutes as one build and seconds in parts. The
 * parts are built by the service's helpers in parallel.
 */
export async function buildSplit(root: string, dir: string, opts: Pick<BuildRequest, "timeoutMs" | "signal" | "limits" | "ageIdentities" | "refusePlainSecrets"> = {}, concurrency = 4): Promise<KubeObject[]> {
  // The render limit bounds the parts together: each is counted as it arrives (the helper bounds one part by itself), so at most `concurrency` parts over the budget are parsed before it stops.
  const limit = opts.limits?.renderBytes ?? LIMITS.renderBytes;
  return splitParts(root, dir, opts, concurrency, [], { top: dir, limit, used: 0, sized: undefined });
}

/** What the parts of one split build share: the render limit and what is used of it, and the checkout's size check. */
interface Budget {
  readonly top: string;
  readonly limit: number;
  used: number;
  /**
   * The first part's build, which alone walks the checkout against its size limit; the others
   * wait for it and skip the walk (a walk per part made a 1000-team render quadratic).
   */
  sized: Promise<unknown> | undefined;
}

async function splitParts(root: string, dir: string, opts: Pick<BuildRequest, "timeoutMs" | "signal" | "limits" | "ageIdentities" | "refusePlainSecrets">, concurrency: number, stack: readonly string[], budget: Budget): Promise<KubeObject[]> {
  const at = stack.indexOf(dir);
  if (at >= 0) throw new BuildError("BuildFailed", `kustomizations form a cycle: ${[...stack.slice(at), dir].join(" -> ")}`);
  const parts = await aggregatedDirs(root, join(root, dir));
  if (parts === undefined) {
    let built: Awaited<ReturnType<typeof buildJson>>;
    if (budget.sized === undefined) {
      const first = buildJson({ root, dir, ...opts });
      budget.sized = first;
      built = await first;
    } else {
      await budget.sized;
      built = await buildJson({ root, dir, ...opts, limits: { ...opts.limits, checkoutBytes: 0 } });
    }
    budget.used += built.bytes;
    if (budget.limit > 0 && budget.used > budget.limit) {
      throw new BuildError("RenderTooLarge", `the render of ${budget.top} is more than the limit of ${String(budget.limit)} bytes (its parts together)`);
    }
    return objectsOf(built.objects, `kustomize build ${dir}`);
  }
  const results = await mapLimit(parts, concurrency, (part) => splitParts(root, relative(root, part) || ".", opts, concurrency, [...stack, dir], budget));
  const objects = results.flat();
  const seen = new Set<string>();
  for (const o of objects) {
    const group = o.apiVersion.includes("/") ? o.apiVersion.slice(0, o.apiVersion.indexOf("/")) : "";
    const id = `${group}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(id)) throw new BuildError("BuildFailed", `kustomize build ${dir} failed: ${o.kind} ${o.metadata.name} is defined twice (ids must be unique across ${dir}'s resources)`);
    seen.add(id);
  }
  return objects;
}
