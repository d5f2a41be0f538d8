// `tenantry engine set flux|tenantry`: switches an admin repo's sync engine. Planned without
// writing anything (planEngineSet), then written all or nothing with its commit
// (applyEngineSet), like create-team. What changes: spec.engine in tenantry.yaml (that one line,
// nothing else of the file), the engine's files in cluster/common (and the root kustomization
// and README, as tenantry renders them), every team overlay, and under tenantry the Namespaces
// that Flux deletions keep in cluster/teams/tombstones/ (the tombstone alone deletes there).
// A file tenantry renders that someone edited by hand is not overwritten: a kustomization gets
// its resources list edited instead, README.md is left as it is (with a note), anything else
// refuses the switch with every such file named.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { isMap, isScalar, parseDocument } from "yaml";
import { ValidationError } from "../errors.js";
import { adminSync, engineOnlyPaths, fluxUrlProblems, withEngineFiles } from "../engines/engines.js";
import { parseClusterConfig, type SyncEngine } from "../model/cluster-config.js";
import type { FileTree } from "../render/engine.js";
import { renderAdminRepo, renderTeamOverlay, type Templates } from "../render/repos.js";
import { CONFIG_FILE, listTeams, readClusterConfig } from "../repo/admin-repo.js";
import { readAppCatalog } from "../repo/apps.js";
import { beginChanges, type ChangeSet, diffChanges, diskFiles, readRepoFile, summarizeChanges } from "../repo/changes.js";
import { commitChange } from "../repo/commit.js";
import { addResource, listResources, removeResource } from "../repo/kustomization.js";
import { generatedVersions } from "../toolchain.js";
import { fluxComponentsFor } from "./flux-components.js";
import { peersOf, pendingDeletions, stalePaths, unreleaseNamespaces, withExtensions } from "./team.js";

/**
 * tenantry.yaml with `spec.engine` set to `engine`, every other byte as it was: the value is
 * replaced in place, or a line is added right after `spec:` when the key is absent.
 */
export function setEngineText(text: string, engine: SyncEngine, file = CONFIG_FILE): string {
  const doc = parseDocument(text, { prettyErrors: false });
  const spec = doc.errors.length === 0 ? doc.get("spec", true) : undefined;
  if (!isMap(spec)) throw new ValidationError([`${file}: no spec mapping to set the engine in: fix the file or restore it with git`]);
  const pair = spec.items.find((p) => isScalar(p.key) && p.key.value === "engine");
  if (pair !== undefined) {
    const range = isScalar(pair.value) ? pair.value.range : undefined;
    if (range === undefined || range === null) throw new ValidationError([`${file}: spec.engine is not a plain value: write \`engine: ${engine}\` by hand`]);
    return text.slice(0, range[0]) + engine + text.slice(range[1]);
  }
  const first = spec.items[0];
  const keyStart = isScalar(first?.key) ? first.key.range?.[0] : undefined;
  const specKey = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === "spec")?.key : undefined;
  const specEnd = isScalar(specKey) ? specKey.range[1] : undefined;
  if (spec.flow === true || keyStart === undefined || specEnd === undefined) {
    throw new ValidationError([`${file}: spec is not a block mapping tenantry can add to: add \`engine: ${engine}\` under spec by hand`]);
  }
  const lineStart = text.lastIndexOf("\n", keyStart) + 1;
  const indent = text.slice(lineStart, keyStart);
  const afterSpec = text.indexOf("\n", specEnd) + 1;
  return `${text.slice(0, afterSpec)}${/^\s*$/.test(indent) ? indent : "  "}engine: ${engine}\n${text.slice(afterSpec)}`;
}

export interface EngineChange {
  readonly from: SyncEngine;
  readonly to: SyncEngine;
  readonly teams: readonly string[];
  readonly changes: ChangeSet;
  /** "create|update|delete <path>" lines, computed before anything was written. */
  readonly summary: readonly string[];
  /** What the user must know or do besides (files left as they were, the deploy key's new home). */
  readonly notes: readonly string[];
}

const KUSTOMIZATION = /(^|\/)kustomization\.yaml$/;

/** The admin-repo files (not tenantry.yaml) that differ between the two engines' renders, as changes to the repo. */
function adminChanges(root: string, before: FileTree, after: FileTree, from: SyncEngine, to: SyncEngine): { writes: Map<string, string>; deletes: string[]; notes: string[]; edited: string[] } {
  const writes = new Map<string, string>();
  const notes: string[] = [];
  const edited: string[] = [];
  for (const [path, next] of after) {
    if (path === CONFIG_FILE) continue;
    const prev = before.get(path);
    const disk = readRepoFile(root, path);
    if (disk === next) continue;
    if (disk === null || prev === undefined || disk === prev) {
      writes.set(path, next);
    } else if (KUSTOMIZATION.test(path) && prev !== next) {
      const was = listResources(prev, path);
      const now = listResources(next, path);
      let text = was.filter((r) => !now.includes(r)).reduce((t, r) => removeResource(t, path, r), disk);
      text = now.filter((r) => !was.includes(r)).reduce((t, r) => addResource(t, path, r), text);
      if (text !== disk) writes.set(path, text);
      notes.push(`${path} was edited by hand: only its resources list was changed for engine ${to}; check it`);
    } else if (prev === next) {
      continue; // the same under both engines: the hand edit stays
    } else if (!/\.ya?ml$/.test(path)) {
      notes.push(`${path} was edited by hand and left as it is: it still describes engine ${from}`);
    } else {
      edited.push(path);
    }
  }
  const deletes = engineOnlyPaths(from)
    .map((p) => p.replace(/\/$/, ""))
    .filter((p) => existsSync(join(root, p)) && !after.has(p));
  return { writes, deletes, notes, edited };
}

/** Plans `engine set <to>` without writing anything; throws a ValidationError naming every problem. */
export function planEngineSet(t: Templates, root: string, to: SyncEngine): EngineChange {
  const text = readRepoFile(root, CONFIG_FILE) ?? "";
  const current = readClusterConfig(root);
  const from = current.engine;
  const teams = listTeams(root);
  const nextText = setEngineText(text, to);
  const problems: string[] = [];
  let next = current;
  try {
    next = parseClusterConfig(nextText, CONFIG_FILE);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.problems);
  }
  if (to === "flux") {
    for (const spec of teams) problems.push(...fluxUrlProblems(`cluster/${spec.name}/team.yaml: repoUrl`, spec.repoUrl));
    // Under Flux a team's Kustomization cannot apply into another API server yet (docs/isolation.md).
    for (const spec of teams.filter((s) => s.isolation === "controlplane")) {
      problems.push(`team ${spec.name} has its own control plane (isolation controlplane), which engine flux does not support: move it to a namespace first (tenantry create-team ${spec.name} --isolation namespace) or keep engine tenantry`);
    }
    // Flux's team Kustomization applies everything into the home namespace (targetNamespace).
    for (const spec of teams.filter((s) => s.namespaces.length > 0)) {
      problems.push(`team ${spec.name} has extra namespaces (${spec.namespaces.join(", ")}), which engine flux does not support yet: remove them first (tenantry create-team ${spec.name} --namespaces "") or keep engine tenantry`);
    }
    for (const spec of teams.filter((s) => s.apps.length > 0)) {
      problems.push(`team ${spec.name} has app instances (${spec.apps.map((a) => a.name).join(", ")}), which engine flux does not support yet: delete them first (tenantry app delete ${spec.name} <instance>) or keep engine tenantry`);
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);

  const versions = generatedVersions();
  const { catalog } = readAppCatalog(root);
  const before = withEngineFiles(renderAdminRepo(t, current, versions), from, fluxComponentsFor(from));
  const after = withEngineFiles(renderAdminRepo(t, next, versions), to, fluxComponentsFor(to));
  const admin = from === to ? { writes: new Map<string, string>(), deletes: [], notes: [], edited: [] } : adminChanges(root, before, after, from, to);
  if (admin.edited.length > 0) {
    throw new ValidationError(
      admin.edited.map((p) => `${p} was edited by hand and differs between the engines: make the engine ${to} change in it by hand, or restore it (git checkout -- ${p}) and run tenantry engine set ${to} again`),
    );
  }
  const writes = new Map<string, string>(admin.writes);
  const deletes: string[] = [...admin.deletes];
  if (nextText !== text) writes.set(CONFIG_FILE, nextText);
  for (const spec of teams) {
    const overlay = withExtensions(diskFiles(root), spec, renderTeamOverlay(t, next, spec, versions, peersOf(teams), catalog));
    for (const [path, content] of diffChanges(root, new Map(overlay))) writes.set(path, content);
    deletes.push(...stalePaths(root, spec.name, overlay));
  }
  if (to !== "flux") {
    const released = unreleaseNamespaces(diskFiles(root), pendingDeletions(root));
    for (const [path, content] of released.writes) writes.set(path, content);
    deletes.push(...released.deletes);
  }
  const changes: ChangeSet = { writes, deletes };
  const notes = [...admin.notes];
  if (from !== to) {
    const key = adminSync(to);
    notes.push(`the admin repo's deploy key is read from Secret ${key.namespace}/${key.secretName} under engine ${to}: tenantry bootstrap (or tenantry keys create --admin) puts it there`);
  }
  return { from, to, teams: teams.map((s) => s.name), changes, summary: summarizeChanges(root, changes), notes };
}

/** Writes a planned switch, all or nothing, with its commit when asked; returns the commit. */
export async function applyEngineSet(root: string, plan: EngineChange, flags: { commit: boolean }): Promise<string | null> {
  const paths = [...plan.changes.writes.keys(), ...plan.changes.deletes];
  if (paths.length === 0) return null;
  const tx = beginChanges(root, plan.changes, `set engine ${plan.to} in ${root}`);
  const commit = flags.commit ? await commitChange(tx, `tenantry: engine ${plan.to} (was ${plan.from})`, paths) : null;
  tx.finish();
  return commit?.hash ?? null;
}

