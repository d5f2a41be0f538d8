// The team repo as `secrets reencrypt` and `secrets list` see it: its top, and the files Git tracks.

import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ExitCode, TenantryError } from "../errors.js";

/** The top of the Git checkout holding `dir`, or a one-line error. */
export function repoTop(dir: string): string {
  try {
    return execFileSync("git", ["-C", dir, "rev-parse", "--show-toplevel"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    throw new TenantryError(`${dir} is not inside a Git checkout: run this in a clone of the team's repo`, ExitCode.invalid);
  }
}

/** The files Git tracks in the checkout at `top` (relative paths), sorted. */
export function gitTrackedFiles(top: string): string[] {
  const out = execFileSync("git", ["-C", top, "ls-files", "-z"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return out.split("\0").filter((f) => f !== "").sort();
}

/** Whether `file` is a regular file (not a symlink, which could lead anywhere, nor gone). */
export function isPlainFile(file: string): boolean {
  return lstatSync(file, { throwIfNoEntry: false })?.isFile() === true;
}

/**
 * Whether a file under `dir` (not .git or node_modules, symlinks not followed, files up to
 * 4 MiB) holds a SOPS-encrypted value: the builds of such a repo need tenantry-build-sops.
 */
export function holdsSopsFiles(dir: string): boolean {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === ".git" || e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (holdsSopsFiles(p)) return true;
    } else if (e.isFile() && lstatSync(p).size <= 4 * 1024 * 1024 && readFileSync(p).includes("ENC[AES256_GCM,")) return true;
  }
  return false;
}
