// The build service hands objects over as JSON (tools/build objects.go: kustomize's own JSON
// of each object, which its YAML is printed from) instead of the YAML stream Node had to
// parse. They must be exactly the objects that reading the YAML gives: same objects, same
// order, same keys in the same order, same values and types, for every kind of scalar a team
// could write and for whole admin repos.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildObjects } from "../../src/build/kustomize.js";
import { buildYaml } from "../../src/build/service.js";
import { parseObjects } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";

async function expectSame(root: string, dir: string, origin = false): Promise<number> {
  const fromYaml = parseObjects(await buildYaml({ root, dir, origin }), dir);
  const fromJson = await buildObjects({ root, dir, origin });
  // JSON.stringify: key order counts too.
  expect(JSON.stringify(fromJson), `${dir} origin=${String(origin)}`).toBe(JSON.stringify(fromYaml));
  return fromJson.length;
}

const SCALARS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: scalars
  labels: {b: "2", a: "1"}
data:
  quoted-int: "123"
  quoted-bool: "true"
  old-bool: "yes"
  on: "off"
  date: "2024-05-01"
  empty: ""
  multi: |
    line one
    line "two"
  unicode: "héllo \\u00e9 ☃"
  tab: "a\\tb"
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: values
spec:
  ints: [0, -0, +5, 42, 0x1F, 0o17, 9007199254740993, 12345678901234567890]
  floats: [1.5, -2.25, 1e3, .5, 6.02e23, 0.1]
  bools: [true, false, True, FALSE]
  nulls: [null, ~, Null, ]
  strings: [yes, no, on, off, y, n, 2024-05-01, 2001-12-14t21:59:43.10-05:00, 1_000, 0b101, 0x, 1.2.3, "0x1F", '42']
  "quoted key": 1
  nested:
    - {z: 1, a: [ {y: [], x: {}} ]}
    - []
  zero-width: ""
`;

describe("the build service's objects as JSON", () => {
  it("are the objects its YAML reads as, for every kind of scalar", async () => {
    const root = tempDir();
    mkdirSync(join(root, "app"));
    writeFileSync(join(root, "app", "objects.yaml"), SCALARS);
    writeFileSync(join(root, "app", "kustomization.yaml"), "resources:\n  - objects.yaml\nnamespace: ns\ncommonLabels:\n  team: x\n");
    expect(await expectSame(root, "app")).toBe(2);
    expect(await expectSame(root, "app", true)).toBe(2);
  });

  it("are the objects its YAML reads as, for whole admin repos", async () => {
    const admin = await makeAdminRepo([["web", "--allow-from", "api", "--registry", "ghcr.io/acme/", "--node-pool", "pool=web", "--extension", "ConfigMap/extra"], ["api", "--namespaces", "v1,v2", "--tier", "large"]]);
    const app = await runCli(["app", "create", "web", "hello-web", "shop", "--set", "greeting=hi"], { cwd: admin });
    expect(app.code, app.stderr).toBe(0);
    let objects = 0;
    for (const dir of [".", "cluster/common", "cluster/teams", "cluster/web", "cluster/api"]) {
      objects += await expectSame(admin, dir);
      objects += await expectSame(admin, dir, true);
    }
    expect(objects).toBeGreaterThan(200);
  });

  it("fails a number JSON cannot hold as kustomize's YAML does", async () => {
    const root = tempDir();
    writeFileSync(join(root, "o.yaml"), "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: inf\nspec:\n  x: .inf\n");
    writeFileSync(join(root, "kustomization.yaml"), "resources:\n  - o.yaml\n");
    await expect(buildYaml({ root, dir: "." })).rejects.toThrow(/unsupported value/);
    await expect(buildObjects({ root, dir: "." })).rejects.toThrow(/unsupported value/);
  });
});
