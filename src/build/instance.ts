// The objects of one app instance (model/apps.ts), built from what tenantry renders for it and
// the admin repo's template directory alone, in a scratch copy: whatever the team's overlay
// holds (a hand-edited instance kustomization, a symlinked directory) never reaches this build.
// Shared by validate (what an instance may hold), create (a cluster-scoped object refused) and
// the hand-over to a team repo (delivery team).

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppInstance, type AppTemplate, instanceDir, instanceKustomization, templateDir, valuesWithDefaults } from "../model/apps.js";
import type { KubeObject } from "../model/object.js";
import { buildObjects } from "./kustomize.js";

export async function buildInstance(root: string, team: string, instance: AppInstance, template: AppTemplate): Promise<KubeObject[]> {
  const scratch = mkdtempSync(join(tmpdir(), "tenantry-app-"));
  try {
    const text = instanceKustomization(team, instance, template, valuesWithDefaults(template, instance.values, []));
    mkdirSync(join(scratch, instanceDir(team, instance.name)), { recursive: true });
    writeFileSync(join(scratch, instanceDir(team, instance.name), "kustomization.yaml"), text);
    // Symlinks are copied as links: one leading out of the copy is refused by the build service.
    cpSync(join(root, templateDir(template.name)), join(scratch, templateDir(template.name)), { recursive: true, dereference: false, verbatimSymlinks: true });
    return await buildObjects({ root: scratch, dir: instanceDir(team, instance.name) });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
