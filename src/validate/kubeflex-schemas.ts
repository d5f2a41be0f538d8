// KubeFlex's CRDs (ControlPlane, PostCreateHook) as the pinned commit defines them: the schemas
// `tenantry validate` checks a controlplane team's overlay against, whether or not the repo
// brings the CRDs itself (it does not: KubeFlex's operator installs them). Read from
// vendor/kubeflex/ (its README names the upstream commits), once per process, the way
// flux-schemas.ts reads vendor/flux/.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { groupOf, type KubeObject, parseObjects } from "../model/object.js";
import { packageRoot } from "../paths.js";

/** The vendored CRD files, relative to the package root. */
export const KUBEFLEX_CRD_FILES = ["vendor/kubeflex/controlplanes.yaml", "vendor/kubeflex/postcreatehooks.yaml"] as const;

let cached: readonly KubeObject[] | undefined;

/** The CRDs of the vendored files under `root`; a missing file gives none. */
export function kubeflexCrdsOf(root: string): KubeObject[] {
  return KUBEFLEX_CRD_FILES.flatMap((f) => {
    const file = join(root, f);
    if (!existsSync(file)) return [];
    return parseObjects(readFileSync(file, "utf8"), f).filter((o) => o.kind === "CustomResourceDefinition" && groupOf(o.apiVersion) === "apiextensions.k8s.io");
  });
}

/** The pinned KubeFlex CRDs. */
export function pinnedKubeflexCrds(): readonly KubeObject[] {
  cached ??= kubeflexCrdsOf(packageRoot);
  return cached;
}

/** How a problem with one of these CRDs names where it came from. */
export function kubeflexDefinedBy(o: KubeObject): string {
  return `vendor/kubeflex/ (${o.metadata.name})`;
}
