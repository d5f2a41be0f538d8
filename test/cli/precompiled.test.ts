// What the build compiles ahead (scripts/precompile.mjs, scripts/bundle.mjs) covers what the
// CLI runs: every template of the package and every schema of tenantry's files has its
// compiled form in lib/, and a compiled validator finds what ajv compiling at run time finds.
// (A missing one would still work, compiled at run time: only this test would notice.)

import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { describe, expect, it } from "vitest";
import "../../src/model/apps.js";
import "../../src/model/cluster-config.js";
import { AJV_OPTIONS, documentSchemas, schemaKey } from "../../src/model/schema.js";
import "../../src/model/team-spec.js";
import { templateKey } from "../../src/render/engine.js";
import { repoRoot } from "../helpers/cli.js";

const require = createRequire(import.meta.url);
type Validate = ((v: unknown) => boolean) & { errors?: ErrorObject[] | null };

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));

describe("what the build compiles ahead", () => {
  it("holds every template of the package", () => {
    const specs = require(join(repoRoot, "lib", "templates.compiled.cjs")) as Record<string, unknown>;
    const hbs = ["templates", "cluster-template", "team-template"].flatMap((d) => files(join(repoRoot, d))).filter((f) => f.endsWith(".hbs"));
    expect(hbs.length).toBeGreaterThan(40);
    const missing = hbs.filter((f) => specs[templateKey(readFileSync(f, "utf8"))] === undefined);
    expect(missing).toEqual([]);
  });

  it("holds every schema of tenantry's files, and judges as ajv does at run time", () => {
    const compiled = require(join(repoRoot, "lib", "schemas.compiled.cjs")) as Record<string, Validate>;
    expect(documentSchemas.length).toBeGreaterThanOrEqual(3);
    const ajv = new Ajv(AJV_OPTIONS);
    const samples: unknown[] = [
      null,
      [],
      { apiVersion: "tenantry.dev/v1alpha1", kind: "Team", metadata: { name: "a" }, spec: {} },
      { apiVersion: "v1", kind: "Team", metadata: { name: 1, extra: true }, spec: { tier: 3, repoUrl: "x", branch: "", allowFrom: "no", registries: [], owners: [] } },
      { apiVersion: "tenantry.dev/v1alpha1", kind: "ClusterConfig", metadata: { name: "c" }, spec: { tiers: { small: {} } } },
      { apiVersion: "tenantry.dev/v1alpha1", kind: "AppTemplate", metadata: { name: "t" }, spec: { parameters: { properties: {} }, targets: {}, policy: {} } },
    ];
    for (const schema of documentSchemas) {
      const ahead = compiled[schemaKey(schema)];
      expect(ahead, JSON.stringify(schema).slice(0, 80)).toBeDefined();
      const now = ajv.compile(schema) as Validate;
      for (const sample of samples) {
        expect(ahead?.(sample)).toBe(now(sample));
        expect(ahead?.errors ?? null).toEqual(now.errors ?? null);
      }
    }
  });
});
