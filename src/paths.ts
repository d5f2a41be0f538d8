// Where tenantry's own files are: the package root (templates, scripts, tools/versions.env)
// and the cache of built outside programs.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the directory holding package.json (src/ and dist/ both sit below it). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function cacheDir(): string {
  return process.env.TENANTRY_CACHE ?? join(homedir(), ".cache", "tenantry");
}

let versions: Readonly<Record<string, string>> | undefined;

/** The pinned versions in tools/versions.env (KEY=VALUE lines). */
export function pinnedVersions(): Readonly<Record<string, string>> {
  if (versions === undefined) {
    const text = readFileSync(join(packageRoot, "tools", "versions.env"), "utf8");
    const entries = text
      .split("\n")
      .map((l) => /^([A-Z_]+)=(\S+)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] ?? "", m[2] ?? ""] as const);
    versions = Object.fromEntries(entries);
  }
  return versions;
}

export type PinnedTool = "KUBERNETES_VERSION" | "ETCD_VERSION" | "KUSTOMIZE_VERSION" | "GATOR_VERSION";

export function pinnedVersion(key: PinnedTool): string {
  const v = pinnedVersions()[key];
  if (v === undefined) throw new Error(`tools/versions.env has no ${key}`);
  return v;
}

let ownVersion: string | undefined;

export function tenantryVersion(): string {
  if (ownVersion === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string };
    ownVersion = pkg.version;
  }
  return ownVersion;
}
