// Loads tenantry's template directories from the package into memory for render/.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { TemplateSet } from "../render/engine.js";
import type { Templates } from "../render/repos.js";
import { packageRoot } from "../paths.js";

function walk(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

export function loadTemplateDir(dir: string, onlyHbs = false): TemplateSet {
  const files = walk(dir, []).filter((f) => !onlyHbs || f.endsWith(".hbs"));
  return new Map(files.sort().map((f) => [relative(dir, f).split(sep).join("/"), readFileSync(f, "utf8")]));
}

const cache = new Map<string, TemplateSet>();

function cached(name: string, dir: string, onlyHbs = false): TemplateSet {
  let set = cache.get(name);
  if (set === undefined) {
    set = loadTemplateDir(dir, onlyHbs);
    cache.set(name, set);
  }
  return set;
}

/** The package's templates; each directory is read on first use only. */
export const templates: Templates = {
  get partials() {
    return cached("partials", join(packageRoot, "templates"), true);
  },
  get cluster() {
    return cached("cluster", join(packageRoot, "cluster-template"));
  },
  get overlay() {
    return cached("overlay", join(packageRoot, "team-template", "overlay"));
  },
  get teamRepo() {
    return cached("teamRepo", join(packageRoot, "team-template", "repo"));
  },
};
