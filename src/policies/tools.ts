// Finds the two policy checkers `tenantry validate` runs; every caller goes through here.
//
// - gator (Gatekeeper's CLI, pinned GATOR_VERSION): $TENANTRY_GATOR, the binary
//   scripts/install-tools.sh built into the cache, then `gator` on PATH when it reports the
//   pinned version.
// - tenantry-celcheck (tools/k8s/celcheck: the API server's ValidatingAdmissionPolicy
//   validation from the pinned Kubernetes release): $TENANTRY_CELCHECK, then the cache. Its
//   cache directory carries a hash of its source (as install-tools.sh names it), so an
//   edited checker is never mistaken for the built one.
//
// A missing checker is a ToolError naming the install command, never a silent skip.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolError } from "../errors.js";
import { cacheDir, packageRoot, pinnedVersion } from "../paths.js";

export interface Tool {
  readonly file: string;
  /** Where it was found, for messages: `TENANTRY_GATOR`, `cache (v3.23.1)`, `PATH (v3.23.1)`. */
  readonly source: string;
}

function fromEnv(variable: string, what: string): Tool | undefined {
  const file = process.env[variable];
  if (file === undefined || file === "") return undefined;
  if (!existsSync(file)) throw new ToolError(`${variable}=${file} does not exist: point it at a ${what} binary or unset it`);
  return { file, source: variable };
}

function gatorVersionOf(file: string): string | undefined {
  try {
    const out = execFileSync(file, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    return /gator version (v\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

let gator: Tool | undefined;

export function findGator(): Tool {
  if (gator !== undefined) return gator;
  const pinned = pinnedVersion("GATOR_VERSION");
  const env = fromEnv("TENANTRY_GATOR", "gator");
  if (env !== undefined) return (gator = env);
  const cached = join(cacheDir(), "bin", `gator-${pinned}`, "gator");
  if (existsSync(cached)) return (gator = { file: cached, source: `cache (${pinned})` });
  const onPath = gatorVersionOf("gator");
  if (onPath === pinned) return (gator = { file: "gator", source: `PATH (${onPath})` });
  const other = onPath === undefined ? "" : ` (the gator on PATH is ${onPath})`;
  throw new ToolError(`gator ${pinned} not found${other}: run scripts/install-tools.sh gator (builds it with Go), or set TENANTRY_GATOR`);
}

/** The cache directory install-tools.sh builds tenantry-celcheck into. */
export function celcheckDir(): string {
  const source = readFileSync(join(packageRoot, "tools", "k8s", "celcheck", "main.go"));
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 12);
  return join(cacheDir(), "bin", `celcheck-${pinnedVersion("KUBERNETES_VERSION")}-${hash}`);
}

let celcheck: Tool | undefined;

export function findCelcheck(): Tool {
  if (celcheck !== undefined) return celcheck;
  const env = fromEnv("TENANTRY_CELCHECK", "tenantry-celcheck");
  if (env !== undefined) return (celcheck = env);
  const cached = join(celcheckDir(), "tenantry-celcheck");
  if (existsSync(cached)) return (celcheck = { file: cached, source: `cache (${pinnedVersion("KUBERNETES_VERSION")})` });
  throw new ToolError(
    `tenantry-celcheck (ValidatingAdmissionPolicy checker, Kubernetes ${pinnedVersion("KUBERNETES_VERSION")}) not found: run scripts/install-tools.sh celcheck (builds it with Go), or set TENANTRY_CELCHECK`,
  );
}
