// Which engine `tenantry status` reads (src/views/engine.ts): the admin repo's spec.engine
// when run inside one, nothing (the cluster is asked) elsewhere or when tenantry.yaml is broken.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configuredEngine } from "../../src/views/engine.js";
import { renderInit } from "../../src/generate/init.js";
import { templates } from "../../src/repo/templates.js";
import { generatedVersions } from "../../src/toolchain.js";
import { packageRoot } from "../../src/paths.js";
import { tempDir } from "../helpers/cli.js";

function adminRepo(engine: "tenantry" | "flux" | null): string {
  const dir = tempDir();
  const components = readFileSync(join(packageRoot, "vendor/flux/gotk-components.yaml"), "utf8");
  const { tree } = renderInit(templates, { clusterName: "prod", policyEngine: "both", gitUrl: "ssh://git@github.com/acme/admin.git", engine: engine ?? undefined }, generatedVersions(), components);
  let text = tree.get("tenantry.yaml") ?? expect.fail("init renders no tenantry.yaml");
  // A repo older than the key says nothing: tenantry.
  if (engine === null) {
    expect(text).toMatch(/^ {2}engine: tenantry\n/m);
    text = text.replace(/^ {2}engine: .*\n/m, "");
  }
  writeFileSync(join(dir, "tenantry.yaml"), text);
  mkdirSync(join(dir, "cluster", "team1"), { recursive: true });
  return dir;
}

describe("configuredEngine", () => {
  it("reads spec.engine from the admin repo around the directory", () => {
    expect(configuredEngine(join(adminRepo("flux"), "cluster", "team1"))).toBe("flux");
    expect(configuredEngine(adminRepo("tenantry"))).toBe("tenantry");
    expect(configuredEngine(adminRepo(null))).toBe("tenantry");
  });

  it("assumes nothing outside an admin repo or with a broken tenantry.yaml", () => {
    const dir = tempDir();
    expect(configuredEngine(dir)).toBeUndefined();
    writeFileSync(join(dir, "tenantry.yaml"), "spec: [\n");
    expect(configuredEngine(dir)).toBeUndefined();
  });
});
