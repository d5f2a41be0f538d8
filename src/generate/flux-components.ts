// Reads the Flux components tenantry vendors (vendor/flux/gotk-components.yaml, written by
// scripts/vendor-flux.mjs) for an admin repo on Flux; src/engines/ copies them verbatim.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TenantryError, ExitCode } from "../errors.js";
import { FLUX_COMPONENTS_SOURCE, type SyncEngine } from "../engines/engines.js";
import { packageRoot } from "../paths.js";

let cached: string | undefined;

/** The vendored components (null for the tenantry engine, which needs none). */
export function fluxComponentsFor(engine: SyncEngine): string | null {
  if (engine !== "flux") return null;
  if (cached !== undefined) return cached;
  try {
    cached = readFileSync(join(packageRoot, FLUX_COMPONENTS_SOURCE), "utf8");
  } catch (e) {
    throw new TenantryError(
      `cannot read the Flux components ${join(packageRoot, FLUX_COMPONENTS_SOURCE)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): this tenantry is installed without them; reinstall it, or run scripts/vendor-flux.mjs in its checkout`,
      ExitCode.failure,
    );
  }
  return cached;
}
