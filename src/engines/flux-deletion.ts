// Deleting a team under Flux, in two pushes. Team Namespaces carry
// `kustomize.toolkit.fluxcd.io/prune: disabled` (a vanished line never deletes a team), and
// Flux honours that annotation as it is on the live object: a Namespace that vanishes from Git
// while annotated is kept forever. So delete-team first keeps the team's Namespace rendered,
// without the annotation, from cluster/teams/tombstones/namespace-<team>.yaml (Flux applies the
// annotation's removal and prunes the rest of the overlay); the next delete-team (or
// `delete-team --finish`) removes that file and Flux prunes the Namespace with everything in it.
// Pure: texts in, texts out.

import { isMap, isScalar, parseAllDocuments } from "yaml";
import { ValidationError } from "../errors.js";
import { TOMBSTONES_DIR } from "../model/tombstones.js";
import { YAML_OPTIONS } from "../render/yaml.js";
import { FLUX_PRUNE_ANNOTATION } from "./engines.js";

const PREFIX = "namespace-";

/** How cluster/teams/tombstones/kustomization.yaml lists a team's released Namespace. */
export function releasedNamespaceEntry(team: string): string {
  return `${PREFIX}${team}.yaml`;
}

/** The released Namespace of `team` in the admin repo. */
export function releasedNamespacePath(team: string): string {
  return `${TOMBSTONES_DIR}/${releasedNamespaceEntry(team)}`;
}

/** The team whose released Namespace `fileName` (a name in the tombstones directory) is, or null. */
export function releasedNamespaceTeam(fileName: string): string | null {
  const m = /^namespace-([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.yaml$/.exec(fileName);
  return m?.[1] ?? null;
}

/**
 * cluster/<team>/namespace.yaml without the prune-disabled annotation (and without
 * `annotations` when that was the only one), with a header saying why it is here.
 */
export function releasedNamespace(namespaceYaml: string, team: string, file: string): string {
  const docs = parseAllDocuments(namespaceYaml, { prettyErrors: false });
  const fix = `restore it with git, or run tenantry create-team ${team} first`;
  if (!Array.isArray(docs)) throw new ValidationError([`${file}: holds no Namespace: ${fix}`]);
  const doc = docs.find((d) => d.get("kind") === "Namespace" && d.getIn(["metadata", "name"]) === team);
  if (doc === undefined || doc.errors.length > 0) throw new ValidationError([`${file}: holds no valid Namespace ${team}: ${fix}`]);
  const annotations = doc.getIn(["metadata", "annotations"], true);
  if (isMap(annotations)) {
    annotations.items = annotations.items.filter((p) => !(isScalar(p.key) && p.key.value === FLUX_PRUNE_ANNOTATION));
    if (annotations.items.length === 0) doc.deleteIn(["metadata", "annotations"]);
  }
  doc.commentBefore = [
    ` Team ${team} is being deleted (tombstones.yaml). Its Namespace stays rendered here without`,
    ` ${FLUX_PRUNE_ANNOTATION}: disabled, so that Flux first removes the annotation from the live`,
    ` Namespace; once it has, \`tenantry delete-team ${team}\` (or \`delete-team --finish\`) removes`,
    " this file and Flux deletes the Namespace and everything in it. Written by tenantry delete-team.",
  ].join("\n");
  return doc.toString(YAML_OPTIONS).replace(/^---\n/, "");
}
