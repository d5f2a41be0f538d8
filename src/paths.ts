// Where tenantry's own files are: the package root (templates, scripts, tools/) and the
// cache of built outside programs.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the directory holding package.json (src/ and dist/ both sit below it). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Whether tenantry runs compiled (dist/, or the bundle in lib/: `.js`, `.cjs`) rather than
 * from its TypeScript sources (the tests): compiled, it reads its build id and the templates
 * and schemas compiled ahead.
 */
export function runsCompiled(): boolean {
  return /\.c?js$/.test(import.meta.url);
}

export function cacheDir(): string {
  const set = process.env.TENANTRY_CACHE;
  return set === undefined || set === "" ? join(homedir(), ".cache", "tenantry") : set;
}

let ownVersion: string | undefined;

export function tenantryVersion(): string {
  if (ownVersion === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string };
    ownVersion = pkg.version;
  }
  return ownVersion;
}

let ownBuild: string | undefined | null = null;

/**
 * The build of tenantry that is running (dist/build-id, written by scripts/precompile.mjs after
 * tsc), or undefined when it runs from its sources: what memos of parsed files are keyed by.
 */
export function tenantryBuild(): string | undefined {
  if (ownBuild === null) {
    try {
      ownBuild = runsCompiled() ? readFileSync(join(packageRoot, "dist", "build-id"), "utf8").trim() || undefined : undefined;
    } catch {
      ownBuild = undefined;
    }
  }
  return ownBuild;
}
