// Flux's CRDs as the pinned release defines them: the schemas `tenantry validate` checks
// GitRepository, Kustomization (and the other Flux kinds) against, whether or not the repo
// brings the CRDs itself. They are read from vendor/flux/gotk-components.yaml, which
// scripts/vendor-flux.mjs assembles from the source-controller and kustomize-controller
// modules of FLUX_VERSION (tools/versions.env) and checks against them, so the schemas are
// exactly the release's. Read once per process, CRDs only.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { groupOf, type KubeObject, parseObjects } from "../model/object.js";
import { packageRoot } from "../paths.js";

/** Where the vendored Flux components are, relative to the package root. */
export const FLUX_COMPONENTS = "vendor/flux/gotk-components.yaml";

let cached: readonly KubeObject[] | undefined;

/** The CRDs of the vendored file at `file`; [] when it is absent (a checkout before vendoring). */
export function fluxCrdsOf(file: string): KubeObject[] {
  if (!existsSync(file)) return [];
  return parseObjects(readFileSync(file, "utf8"), file).filter((o) => o.kind === "CustomResourceDefinition" && groupOf(o.apiVersion) === "apiextensions.k8s.io");
}

/** The pinned Flux release's CRDs. */
export function pinnedFluxCrds(): readonly KubeObject[] {
  cached ??= fluxCrdsOf(join(packageRoot, FLUX_COMPONENTS));
  return cached;
}

/** How a problem with one of these CRDs names where it came from. */
export function fluxDefinedBy(o: KubeObject): string {
  return `${FLUX_COMPONENTS} (${o.metadata.name})`;
}
