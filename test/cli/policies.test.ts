// The policy checks of `tenantry validate`, with the real gator and tenantry-celcheck built
// by scripts/install-tools.sh: the generated suites pass on a rendered admin repo with two
// teams, in both engines (CEL and Rego); a weakened rule fails them, naming the case; a
// policy that does not compile (Rego, CEL in a ConstraintTemplate, CEL in a
// ValidatingAdmissionPolicy) fails validate with its file and the error; a missing checker
// names the install command.

import { cpSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { findBinary } from "../../src/toolchain.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { editFile, runCli, tempDir } from "../helpers/cli.js";

interface Report {
  problems: { file: string | null; object: string | null; message: string }[];
  toolFailed: boolean;
  policies: { templates: number; constraints: number; cases: { CEL: number; Rego: number }; admissionPolicies: number };
}

let pristine: string;

/** A fresh copy of the two-team admin repo. */
function repo(): string {
  const dir = join(tempDir(), "admin");
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

async function errors(dir: string): Promise<{ code: number; lines: string[] }> {
  const r = await runCli(["validate"], { cwd: dir });
  return { code: r.code, lines: r.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: ")) };
}

beforeAll(async () => {
  pristine = await makeAdminRepo([
    ["team1", "--registry", "ghcr.io/acme/", "--node-pool", "tenantry.dev/pool=a"],
    ["team2", "--registry", "registry.acme.io/team2/"],
  ]);
  // Every rule bound: requireAlwaysPull on, then the teams rendered again.
  editFile(pristine, "tenantry.yaml", "requireAlwaysPull: false", "requireAlwaysPull: true");
  for (const team of ["team1", "team2"]) expect((await runCli(["create-team", team], { cwd: pristine })).code).toBe(0);
});

describe("validate: generated gator suites", () => {
  it("pass on a rendered repo, with CEL and with Rego", async () => {
    const r = await runCli(["validate", pristine, "-o", "json"]);
    expect(r.code, r.stdout).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.problems).toEqual([]);
    // 8 templates; team1: 8 constraints (with node pool), team2: 7; admission policies: the 2
    // tenancy ones and their 2 bindings, the 6 workload policies and the param anchor binding,
    // team1's 6 bindings, team2's 5.
    expect(report.policies).toMatchObject({ templates: 8, constraints: 15, admissionPolicies: 2 + 2 + 6 + 1 + 6 + 5 });
    expect(report.policies.cases.CEL).toBeGreaterThan(60);
    expect(report.policies.cases.Rego).toBe(report.policies.cases.CEL);
    const text = await runCli(["validate"], { cwd: pristine });
    expect(text.stdout).toMatch(/^Policies: 8 ConstraintTemplates compiled and 15 Constraints exercised by gator \(\d+ CEL and \d+ Rego cases\); 22 admission policies and bindings checked as the API server would\.$/m);
  });

  it("fail when the Rego of a rule is weakened (memory limits no longer checked), naming the case", async () => {
    const dir = repo();
    editFile(dir, "cluster/common/policies/required-resources.yaml", 'r := ["cpu", "memory"][_]', 'r := ["cpu"][_]');
    const { code, lines } = await errors(dir);
    expect(code).toBe(2);
    for (const team of ["team1", "team2"]) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^tenantry: error: cluster/${team}/constraints\\.yaml: TenantryRequiredResources/${team}-resources: gator verify, Rego engine, ConstraintTemplate tenantryrequiredresources: case no-memory-limits \\(a container without memory limits is refused\\) failed: unexpected number of violations`,
          ),
        ),
      );
    }
    // The CEL implementation still holds.
    expect(lines.filter((l) => l.includes("CEL engine"))).toEqual([]);
  });

  it("fail when the CEL of a rule is weakened (latest allowed), naming the case", async () => {
    const dir = repo();
    editFile(dir, "cluster/common/policies/image-tags.yaml", " || i.image.endsWith(':latest')", "");
    const { code, lines } = await errors(dir);
    expect(code).toBe(2);
    expect(lines).toEqual([
      expect.stringMatching(/^tenantry: error: cluster\/team1\/constraints\.yaml: TenantryImageTags\/team1-image-tags: gator verify, CEL engine, ConstraintTemplate tenantryimagetags: case latest-tag \(an image tagged latest is refused\) failed: /),
      expect.stringMatching(/^tenantry: error: cluster\/team2\/constraints\.yaml: TenantryImageTags\/team2-image-tags: gator verify, CEL engine, ConstraintTemplate tenantryimagetags: case latest-tag /),
    ]);
  });

  it("fail when a team's constraint is scoped to another namespace, naming the cases", async () => {
    const dir = repo();
    editFile(dir, "cluster/team1/constraints.yaml", /(name: team1-registries[\s\S]*?namespaces: )\[team1\]/, "$1[team2]");
    const { code, lines } = await errors(dir);
    expect(code).toBe(2);
    const registries = lines.filter((l) => l.includes("TenantryAllowedRegistries/team1-registries"));
    expect(registries).toContainEqual(expect.stringMatching(/: gator verify, CEL engine, ConstraintTemplate tenantryallowedregistries: case registry-of-team2 \(team team2's registry registry\.acme\.io\/team2\/ is refused for team team1\) failed/));
    expect(registries).toContainEqual(expect.stringMatching(/: gator verify, Rego engine, ConstraintTemplate tenantryallowedregistries: case unlisted-registry /));
    expect(lines.filter((l) => !l.includes("TenantryAllowedRegistries/team1-registries"))).toEqual([]);
  });
});

describe("validate: policies that do not compile", () => {
  it("bad Rego, bad CEL in a ConstraintTemplate and bad CEL in a ValidatingAdmissionPolicy: file and error, exit 2", async () => {
    const dir = repo();
    editFile(dir, "cluster/common/policies/allowed-registries.yaml", "not allowed(c.image)", "not allowed(c.image");
    editFile(dir, "cluster/common/policies/image-tags.yaml", "- expression: size(variables.unpinned) == 0", "- expression: size(variables.unpinned) == 0 +");
    editFile(dir, "cluster/common/admission-policies/required-resources.yaml", "- expression: size(variables.offenders) == 0", "- expression: size(variables.offenders) = 0");
    editFile(dir, "cluster/common/admission-policies/service-types.yaml", "object.metadata.name +", "object.metadata.nmae +");
    const { code, lines } = await errors(dir);
    expect(code).toBe(2);
    expect(lines).toEqual([
      expect.stringMatching(
        /^tenantry: error: cluster\/common\/admission-policies\/required-resources\.yaml: ValidatingAdmissionPolicy\/tenantry-required-resources: the API server would refuse it: spec\.validations\[0\]\.expression: Invalid value: "size\(variables\.offenders\) = 0": compilation failed: ERROR: <input>:1:27: Syntax error/,
      ),
      expect.stringMatching(
        /^tenantry: error: cluster\/common\/admission-policies\/service-types\.yaml: ValidatingAdmissionPolicy\/tenantry-service-types: the API server would refuse it: spec\.validations\[0\]\.messageExpression: type checking: \/v1, Kind=Service: ERROR: .*undefined field 'nmae'/,
      ),
      expect.stringMatching(/^tenantry: error: cluster\/common\/policies\/allowed-registries\.yaml: ConstraintTemplate\/tenantryallowedregistries: Rego does not compile: .*template:12: rego_parse_error/),
      expect.stringMatching(/^tenantry: error: cluster\/common\/policies\/image-tags\.yaml: ConstraintTemplate\/tenantryimagetags: CEL \(K8sNativeValidation\) does not compile: ERROR: <input>:1:32: Syntax error: .* \(at: size\(variables\.unpinned\) == 0 \+\)$/),
    ]);
  });
});

describe("validate: a missing checker", () => {
  it("names the install command (exit 4)", async () => {
    const r = await runCli(["validate", pristine], {
      env: { TENANTRY_CACHE: tempDir(), TENANTRY_BUILD: findBinary("build").file, PATH: "/usr/bin:/bin" },
    });
    expect(r.code).toBe(4);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "));
    expect(lines).toEqual([
      expect.stringMatching(/^tenantry: error: \.: gator v3\.23\.1 not found: run scripts\/install-tools\.sh gator \(builds it with Go\), or set TENANTRY_GATOR to a gator v3\.23\.1$/),
      expect.stringMatching(/^tenantry: error: \.: tenantry-celcheck \(ValidatingAdmissionPolicy checker\) v1\.34\.4 not found: run scripts\/install-tools\.sh celcheck/),
    ]);
  });
});
