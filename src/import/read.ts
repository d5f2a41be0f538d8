// The only I/O of src/import/: reads a Flux repo's YAML files (and .flux.yaml) into a
// SourceTree. Symbolic links are not followed (a link could point anywhere on this machine),
// .git is skipped, and the walk is bounded so a wrong directory fails quickly.

import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PathError, ValidationError } from "../errors.js";
import type { SourceTree } from "./source.js";

const MAX_FILES = 5000;
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const SKIPPED_DIRS = new Set([".git", "node_modules"]);

export function readSourceTree(dirArg: string): SourceTree {
  const root = resolve(dirArg);
  let st;
  try {
    st = lstatSync(root);
  } catch {
    throw new PathError(`${root} does not exist: give the checkout of the Flux repo to import`, root);
  }
  if (!st.isDirectory()) throw new PathError(`${root} is not a directory: give the checkout of the Flux repo to import`, root);
  const tree = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name)) walk(join(dir, e.name), path);
        continue;
      }
      if (!e.isFile() || !(/\.ya?ml$/.test(e.name) || e.name === "Kustomization")) continue;
      if (tree.size >= MAX_FILES) throw new ValidationError([`${root} holds more than ${MAX_FILES} YAML files: is it the right directory?`]);
      const file = join(dir, e.name);
      if (lstatSync(file).size > MAX_FILE_BYTES) throw new ValidationError([`${path} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB: not a file the importer reads`]);
      tree.set(path, readFileSync(file, "utf8"));
    }
  };
  walk(root, "");
  return tree;
}
