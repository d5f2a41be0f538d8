// The admin repo's tombstones (model/tombstones.ts says what they mean): a directory
// cluster/teams/tombstones/ listed in cluster/teams/kustomization.yaml like a team's overlay,
// holding tombstones.yaml and a kustomization whose configMapGenerator renders it into ConfigMap
// tenantry-system/tenantry-tombstones for the reconciler. A directory of its own, not a
// generator in the teams kustomization: that one stays a plain list of directories, which the
// reconciler builds part by part (build/kustomize.ts buildSplit; one build of hundreds of teams
// is superlinear, kubernetes-sigs/kustomize#5084).

import { MANAGED_BY_LABEL } from "../model/labels.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import { parseTombstones, type Tombstone, TOMBSTONES_CONFIGMAP, TOMBSTONES_DIR, TOMBSTONES_FILE, TOMBSTONES_KEY } from "../model/tombstones.js";
import { type RepoFiles } from "./changes.js";
import { addResource } from "./kustomization.js";

/** The kustomization of the tombstones directory. */
export const TOMBSTONES_KUSTOMIZATION = `${TOMBSTONES_DIR}/kustomization.yaml`;
/** How cluster/teams/kustomization.yaml lists the directory. */
export const TOMBSTONES_ENTRY = "tombstones";

export const TOMBSTONES_KUSTOMIZATION_TEXT = [
  "# Renders tombstones.yaml as ConfigMap tenantry-system/tenantry-tombstones: the reconciler",
  "# prunes a team only when its deletion is recorded there. Written by tenantry delete-team.",
  "apiVersion: kustomize.config.k8s.io/v1beta1",
  "kind: Kustomization",
  "configMapGenerator:",
  `  - name: ${TOMBSTONES_CONFIGMAP}`,
  `    namespace: ${SYSTEM_NAMESPACE}`,
  "    files:",
  `      - ${TOMBSTONES_KEY}`,
  "    options:",
  "      disableNameSuffixHash: true",
  "      labels:",
  `        ${MANAGED_BY_LABEL}: tenantry`,
  "",
].join("\n");

/** The tombstones recorded in the admin repo at `root` ([] when there is no file); throws on a malformed one. */
export function readTombstonesFile(files: RepoFiles): Tombstone[] {
  const text = files(TOMBSTONES_FILE);
  return text === null ? [] : parseTombstones(text, TOMBSTONES_FILE);
}

/**
 * The files that make the admin repo render its tombstones, given the teams kustomization's
 * text: the directory's kustomization (when missing) and the teams list naming it.
 */
export function tombstonesWiring(files: RepoFiles, teamsKustomization: string, teamsFile: string): Map<string, string> {
  const wiring = new Map<string, string>();
  if (files(TOMBSTONES_KUSTOMIZATION) === null) wiring.set(TOMBSTONES_KUSTOMIZATION, TOMBSTONES_KUSTOMIZATION_TEXT);
  wiring.set(teamsFile, addResource(teamsKustomization, teamsFile, TOMBSTONES_ENTRY));
  return wiring;
}
