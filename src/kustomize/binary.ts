// Finds the pinned kustomize: every caller goes through here. Order: $TENANTRY_KUSTOMIZE,
// the binary scripts/install-tools.sh built into the cache, `kustomize` on PATH, then
// `kubectl kustomize` — the last two only when their major version matches the pin.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ToolError } from "../errors.js";
import { cacheDir, pinnedVersion } from "../paths.js";

export interface KustomizeCommand {
  /** The program to run. */
  readonly file: string;
  /** Arguments that come before `build` (["kustomize"] for kubectl). */
  readonly prefix: readonly string[];
  readonly source: string;
}

function majorOf(version: string): string | undefined {
  return /v?(\d+)\./.exec(version)?.[1];
}

function versionOf(file: string, args: readonly string[], pattern: RegExp): string | undefined {
  try {
    const out = execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    return pattern.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

let found: KustomizeCommand | undefined;

export function findKustomize(): KustomizeCommand {
  if (found !== undefined) return found;
  const pinned = pinnedVersion("KUSTOMIZE_VERSION");
  const fromEnv = process.env.TENANTRY_KUSTOMIZE;
  if (fromEnv !== undefined && fromEnv !== "") {
    if (!existsSync(fromEnv)) throw new ToolError(`TENANTRY_KUSTOMIZE=${fromEnv} does not exist: point it at a kustomize binary or unset it`);
    return (found = { file: fromEnv, prefix: [], source: "TENANTRY_KUSTOMIZE" });
  }
  const cached = join(cacheDir(), "bin", `kustomize-${pinned}`, "kustomize");
  if (existsSync(cached)) return (found = { file: cached, prefix: [], source: `cache (${pinned})` });
  const major = majorOf(pinned);
  const onPath = versionOf("kustomize", ["version"], /(v\d+\.\d+\.\d+)/);
  if (onPath !== undefined && majorOf(onPath) === major) {
    return (found = { file: "kustomize", prefix: [], source: `PATH (${onPath})` });
  }
  const inKubectl = versionOf("kubectl", ["version", "--client"], /Kustomize Version: (v\d+\.\d+\.\d+)/);
  if (inKubectl !== undefined && majorOf(inKubectl) === major) {
    return (found = { file: "kubectl", prefix: ["kustomize"], source: `kubectl (${inKubectl})` });
  }
  throw new ToolError(
    `kustomize ${pinned} not found: run scripts/install-tools.sh kustomize (builds it with Go), or put kustomize v${major ?? "5"} on PATH`,
  );
}
