// The build service keeps kustomize's parsed OpenAPI schema from one build to the next
// (tools/build buildConfined) instead of parsing it again for every build as Flux's build
// does. A kustomization's own `openapi` schema must still never reach another build: one
// helper process builds a plain kustomization, then one whose schema changes how a patch
// merges, then the plain one again, which must come out as it did first.

import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { findBinary } from "../../src/toolchain.js";
import { tempDir } from "../helpers/cli.js";

const thing = (items: string): string => `apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n  items:\n${items}`;

// kustomize's format for a custom schema: the kind's list `items` merges by `name`.
const schema = {
  definitions: {
    "com.example.v1.Thing": {
      "x-kubernetes-group-version-kind": [{ group: "example.com", kind: "Thing", version: "v1" }],
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { type: "object" },
        spec: {
          properties: {
            items: {
              type: "array",
              items: { type: "object", properties: { name: { type: "string" }, value: { type: "string" } } },
              "x-kubernetes-patch-merge-key": "name",
              "x-kubernetes-patch-strategy": "merge",
            },
          },
          type: "object",
        },
      },
      type: "object",
    },
  },
};

function layout(root: string, dir: string, withSchema: boolean): void {
  mkdirSync(join(root, dir));
  writeFileSync(join(root, dir, "thing.yaml"), thing("    - name: one\n      value: \"1\"\n"));
  writeFileSync(join(root, dir, "patch.yaml"), thing("    - name: two\n      value: \"2\"\n"));
  if (withSchema) writeFileSync(join(root, dir, "schema.json"), JSON.stringify(schema));
  writeFileSync(join(root, dir, "kustomization.yaml"), ["resources:", "  - thing.yaml", "patches:", "  - path: patch.yaml", ...(withSchema ? ["openapi:", "  path: schema.json"] : []), ""].join("\n"));
}

/** Sends each request to one helper process, in order; its answers. */
async function buildInOneProcess(root: string, dirs: readonly string[]): Promise<{ yaml?: string; error?: string }[]> {
  const child = spawn(findBinary("build").file, [], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const answers: { yaml?: string; error?: string }[] = [];
  const done = new Promise<void>((resolve) => {
    lines.on("line", (line) => {
      answers.push(JSON.parse(line) as { yaml?: string; error?: string });
      if (answers.length === dirs.length) resolve();
    });
  });
  dirs.forEach((dir, i) => child.stdin.write(`${JSON.stringify({ id: i + 1, root, dir })}\n`));
  await done;
  child.stdin.end();
  return answers;
}

describe("the build service's OpenAPI schema", () => {
  it("never carries one kustomization's schema into the next build", async () => {
    const root = tempDir();
    layout(root, "plain", false);
    layout(root, "custom", true);
    const [before, custom, after, custom2] = await buildInOneProcess(root, ["plain", "custom", "plain", "custom"]);
    // Without a schema the patch replaces the list; with it, the lists merge by name.
    expect(before?.error).toBeUndefined();
    expect(before?.yaml).toContain("name: two");
    expect(before?.yaml).not.toContain("name: one");
    expect(custom?.error).toBeUndefined();
    expect(custom?.yaml).toContain("name: one");
    expect(custom?.yaml).toContain("name: two");
    expect(after?.yaml).toBe(before?.yaml);
    expect(custom2?.yaml).toBe(custom?.yaml);
  });

  it("nor a schema named under a symlinked kustomization file (the walk reads what kustomize reads)", async () => {
    const root = tempDir();
    layout(root, "plain", false);
    // team/kustomization.yaml -> ../b/kustomization.yaml ("resources: [sub]"): kustomize loads team/sub, whose kustomization names a schema.
    mkdirSync(join(root, "b"));
    writeFileSync(join(root, "b", "kustomization.yaml"), "resources: [sub]\n");
    mkdirSync(join(root, "team"));
    symlinkSync("../b/kustomization.yaml", join(root, "team", "kustomization.yaml"));
    layout(join(root, "team"), "sub", true);
    const [before, team, after] = await buildInOneProcess(root, ["plain", "team", "plain"]);
    expect(before?.error).toBeUndefined();
    expect(team?.error).toBeUndefined();
    expect(team?.yaml).toContain("name: one");
    expect(after?.yaml).toBe(before?.yaml);
  });
});
