// The gator suites generated from a repo's own objects (pure), and the reading of gator's
// report. The suites are run for real by test/cli/policies.test.ts.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { KubeObject } from "../../src/model/object.js";
import { parseVerify } from "../../src/policies/gator.js";
import { generateSuites, imageUnder } from "../../src/policies/suite.js";

const root = join(import.meta.dirname, "..", "..");

function template(name: string): KubeObject {
  return parse(readFileSync(join(root, "cluster-template", "cluster", "common", "policies", `${name}.yaml`), "utf8")) as KubeObject;
}

function constraint(kind: string, name: string, team: string, parameters?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "constraints.gatekeeper.sh/v1beta1",
    kind,
    metadata: { name, labels: { "tenantry.dev/team": team } },
    spec: { enforcementAction: "deny", match: { kinds: [{ apiGroups: [""], kinds: ["Pod"] }], namespaces: [team] }, ...(parameters === undefined ? {} : { parameters }) },
  };
}

const TEMPLATES = ["required-resources", "allowed-registries", "image-tags", "node-pool"].map((n) => ({ object: template(n), file: `cluster/common/policies/${n}.yaml` }));

function teamOf(team: string, registries: string[], pool?: [string, string]) {
  return {
    team,
    constraints: [
      constraint("TenantryRequiredResources", `${team}-resources`, team),
      constraint("TenantryAllowedRegistries", `${team}-registries`, team, { registries }),
      constraint("TenantryImageTags", `${team}-image-tags`, team),
      ...(pool === undefined ? [] : [constraint("TenantryNodePool", `${team}-node-pool`, team, { key: pool[0], value: pool[1] })]),
      constraint("SomeoneElsesKind", `${team}-other`, team),
    ].map((object) => ({ object, file: `cluster/${team}/constraints.yaml` })),
  };
}

/** The leaf paths where two JSON values differ. */
function differences(a: unknown, b: unknown, path = ""): string[] {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b ? [] : [path];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
}

describe("generateSuites", () => {
  const suites = generateSuites(TEMPLATES, [teamOf("team1", ["ghcr.io/acme/", "ghcr.io/tenantry-dev/tenantry:"], ["pool", "a"]), teamOf("team2", ["registry.acme.io/team2/", "ghcr.io/tenantry-dev/tenantry:"])]);
  const files = suites.files;
  const read = (path: string): Record<string, unknown> => parse(files.get(path) ?? "") as Record<string, unknown>;
  const object = (path: string): unknown => (read(path).request as Record<string, unknown>).object;

  it("writes a compile suite with every template, and a suite per team", () => {
    expect([...files.keys()].filter((p) => p.endsWith("suite.yaml"))).toEqual(["compile/suite.yaml", "teams/team1/suite.yaml", "teams/team2/suite.yaml"]);
    const compile = read("compile/suite.yaml");
    expect(compile).toMatchObject({ apiVersion: "test.gatekeeper.sh/v1alpha1", kind: "Suite" });
    expect((compile.tests as { name: string }[]).map((t) => t.name)).toEqual([
      "compile/tenantryallowedregistries",
      "compile/tenantryimagetags",
      "compile/tenantrynodepool",
      "compile/tenantryrequiredresources",
    ]);
    expect(suites.unexercised).toEqual(["cluster/team1/constraints.yaml: SomeoneElsesKind/team1-other", "cluster/team2/constraints.yaml: SomeoneElsesKind/team2-other"]);
  });

  it("every violating case differs from the compliant object in one field", () => {
    const tests = read("teams/team1/suite.yaml").tests as { name: string; cases: { name: string; object: string; assertions: { violations: string; message?: string }[] }[] }[];
    expect(tests.map((t) => t.name)).toEqual(["team1/team1-image-tags", "team1/team1-node-pool", "team1/team1-registries", "team1/team1-resources"]);
    for (const t of tests) {
      const dir = `teams/team1/`;
      const compliant = object(`${dir}${t.cases[0]?.object ?? ""}`);
      expect(t.cases[0]).toMatchObject({ name: "compliant", assertions: [{ violations: "no" }] });
      for (const c of t.cases.filter((k) => k.assertions[0]?.violations === "yes")) {
        expect(differences(compliant, object(`${dir}${c.object}`)), `${t.name} ${c.name}`).toHaveLength(1);
        expect(c.assertions[0]?.message).toMatch(/^\^tenantry-[a-z-]+: /);
      }
    }
  });

  it("refuses another team's registry for this team, and leaves other namespaces alone", () => {
    const registries = (read("teams/team1/suite.yaml").tests as { name: string; cases: { name: string; object: string }[] }[]).find((t) => t.name === "team1/team1-registries");
    expect(registries?.cases.map((c) => c.name)).toEqual(["compliant", "allowed-registry-1", "allowed-registry-2", "unlisted-registry", "unlisted-registry-init-container", "registry-of-team2", "other-namespace"]);
    const foreign = object("teams/team1/team1-registries/registry-of-team2.yaml") as { spec: { containers: { image: string }[] } };
    expect(foreign.spec.containers[0]?.image).toBe("registry.acme.io/team2/suite-app:1.0.0");
    const elsewhere = object("teams/team1/team1-registries/other-namespace.yaml") as { metadata: { namespace: string } };
    expect(elsewhere.metadata.namespace).toBe("not-team1");
  });

  it("is deterministic", () => {
    const again = generateSuites(TEMPLATES, [teamOf("team1", ["ghcr.io/acme/", "ghcr.io/tenantry-dev/tenantry:"], ["pool", "a"]), teamOf("team2", ["registry.acme.io/team2/", "ghcr.io/tenantry-dev/tenantry:"])]);
    expect([...again.files]).toEqual([...files]);
  });

  it("builds images under every kind of prefix", () => {
    expect(imageUnder("ghcr.io/acme/")).toBe("ghcr.io/acme/suite-app:1.0.0");
    expect(imageUnder("ghcr.io/tenantry-dev/tenantry:")).toBe("ghcr.io/tenantry-dev/tenantry:1.0.0");
    expect(imageUnder("registry.acme.io/payments")).toBe("registry.acme.io/payments/suite-app:1.0.0");
  });
});

describe("parseVerify", () => {
  it("reads case and test failures, multi-line reasons included, and counts cases", () => {
    const output = [
      "=== RUN   compile/tenantryimagetags",
      "    === RUN   compiles",
      "    --- FAIL: compiles\t(0.03s)",
      "        unexpected number of violations: got 1 violations containing \"^compilation error\" but want none: got messages [compilation error: compilation failed: ERROR: <input>:1:34: Syntax error",
      " | size(x) == 0 +",
      " | .............^]",
      "--- FAIL: compile/tenantryimagetags\t(0.1s)",
      "=== RUN   compile/tenantryallowedregistries",
      "--- FAIL: compile/tenantryallowedregistries\t(0.04s)",
      "  adding template: invalid ConstraintTemplate: 1 error occurred: template:12: rego_parse_error: unexpected identifier token",
      "\t  msg := x",
      "=== RUN   team1/team1-resources",
      "    === RUN   compliant",
      "    --- PASS: compliant\t(0.01s)",
      "--- PASS: team1/team1-resources\t(0.02s)",
      "FAIL\t./tmp/x/compile/suite.yaml\t0.2s",
      "ok\t./tmp/x/teams/team1/suite.yaml\t0.02s",
      "FAIL",
      "",
    ].join("\n");
    const run = parseVerify("CEL", output);
    expect(run.cases).toBe(2);
    expect(run.failures.map((f) => [f.engine, f.test, f.case])).toEqual([
      ["CEL", "compile/tenantryimagetags", "compiles"],
      ["CEL", "compile/tenantryallowedregistries", null],
    ]);
    expect(run.failures[0]?.detail).toMatch(/^unexpected number of violations: .*Syntax error\n\| size\(x\) == 0 \+\n\| \.+\^\]$/);
    expect(run.failures[1]?.detail).toMatch(/^adding template: .*rego_parse_error: unexpected identifier token\nmsg := x$/);
  });
});
