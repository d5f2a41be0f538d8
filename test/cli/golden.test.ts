// Golden whole-tree snapshots: each directory under test/fixtures/generator/ is a case
// (case.yaml: init arguments, create-team calls and `app` calls); the admin repo the real CLI writes is
// compared byte for byte with expected.txt beside it. `vitest -u` rewrites the files.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readTree, repoRoot, runCli, tempDir } from "../helpers/cli.js";

interface Case {
  init: string[];
  teams: string[][];
  /** `tenantry app ...` calls after the teams (issue 20). */
  apps?: string[][];
}

const fixtures = join(repoRoot, "test", "fixtures", "generator");

// An admin repo on Flux holds the vendored Flux components verbatim: the golden names them.
const FLUX_COMPONENTS = "cluster/common/flux-system/gotk-components.yaml";
const vendoredFlux = readFileSync(join(repoRoot, "vendor", "flux", "gotk-components.yaml"), "utf8");

function serialize(tree: Record<string, string>): string {
  return Object.entries(tree)
    .map(([path, content]) => `=== ${path} ===\n${path === FLUX_COMPONENTS && content === vendoredFlux ? "<vendor/flux/gotk-components.yaml, verbatim>\n" : content}`)
    .join("\n");
}

async function generate(c: Case): Promise<Record<string, string>> {
  const admin = join(tempDir(), "admin");
  const init = await runCli(["init", admin, ...c.init]);
  expect(init.stderr.includes("error"), init.stderr).toBe(false);
  expect(init.code).toBe(0);
  for (const team of c.teams) {
    const r = await runCli(["create-team", ...team], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
  }
  for (const app of c.apps ?? []) {
    const r = await runCli(["app", ...app], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
  }
  return readTree(admin);
}

describe.each(readdirSync(fixtures))("golden %s", (name) => {
  const c = parse(readFileSync(join(fixtures, name, "case.yaml"), "utf8")) as Case;

  it("writes exactly the expected tree, byte-identical across runs", async () => {
    const [first, second] = await Promise.all([generate(c), generate(c)]);
    expect(second).toEqual(first);
    await expect(serialize(first)).toMatchFileSnapshot(join(fixtures, name, "expected.txt"));
  });
});
