// The template sets, versions and cluster config the pure render tests share: init's own
// templates and tenantry.yaml (cluster "prod", policy engine both, engine tenantry).

import { join } from "node:path";
import { renderInit } from "../../src/generate/init.js";
import { packageRoot } from "../../src/paths.js";
import { loadTemplateDir } from "../../src/repo/templates.js";

export const templateSets = {
  partials: loadTemplateDir(join(packageRoot, "templates"), true),
  cluster: loadTemplateDir(join(packageRoot, "cluster-template")),
  overlay: loadTemplateDir(join(packageRoot, "team-template", "overlay")),
};

export const testVersions = { tenantry: "0.0.0-test", kustomize: "v5.0.0", gatekeeper: "v3.0.0" };

export const testConfig = renderInit(templateSets, { clusterName: "prod", gitUrl: "ssh://git@git.example.com/acme/admin.git", policyEngine: "both", engine: "tenantry" }, testVersions, null).config;
