// The table of pinned tools (tools/tools.txt): parsed once, and the demo's and the tests'
// tool sets are selections of it, never lists of their own.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { parseToolTable, parseVersions, rowsNeededBy, toolTable } from "../../src/toolchain.js";

const TABLE = `# a comment
etcd        go   ETCD_VERSION  etcd                 demo,test  -                from a module
gatekeeper  go   GATOR_VERSION manager              test,demo+gatekeeper  tools/gk/main.go,tools/gk/go.sum  gatekeeper's root package
sshd-pkg    deb  -             /usr/sbin/sshd       test       -                Debian
`;

describe("parseToolTable", () => {
  it("reads each column, lists split on commas, - as empty, the rest of the line as from", () => {
    expect(parseToolTable(TABLE)).toEqual([
      { name: "etcd", kind: "go", versionKey: "ETCD_VERSION", provides: ["etcd"], neededBy: ["demo", "test"], inputs: [], from: "from a module" },
      {
        name: "gatekeeper",
        kind: "go",
        versionKey: "GATOR_VERSION",
        provides: ["manager"],
        neededBy: ["test", "demo+gatekeeper"],
        inputs: ["tools/gk/main.go", "tools/gk/go.sum"],
        from: "gatekeeper's root package",
      },
      { name: "sshd-pkg", kind: "deb", versionKey: undefined, provides: ["/usr/sbin/sshd"], neededBy: ["test"], inputs: [], from: "Debian" },
    ]);
  });

  it("refuses a kind it does not know", () => {
    expect(() => parseToolTable("x  rpm  -  x  test  -  somewhere\n")).toThrow(/row x has kind 'rpm', not go or deb/);
  });
});

describe("rowsNeededBy", () => {
  const rows = parseToolTable(TABLE);
  it("selects a use's rows, and an option's rows only when the option is given", () => {
    expect(rowsNeededBy(rows, "test").map((r) => r.name)).toEqual(["etcd", "gatekeeper", "sshd-pkg"]);
    expect(rowsNeededBy(rows, "demo").map((r) => r.name)).toEqual(["etcd"]);
    expect(rowsNeededBy(rows, "demo", ["gatekeeper"]).map((r) => r.name)).toEqual(["etcd", "gatekeeper"]);
  });
});

describe("the project's table", () => {
  const rows = toolTable();
  it("has every tool the code runs, each Go row with a version in tools/versions.env", () => {
    expect(rows.filter((r) => r.kind === "go").map((r) => r.name)).toEqual(["etcd", "kubernetes", "kubectl", "build", "build-sops", "sops", "gator", "gatekeeper", "celcheck", "netcheck", "flux"]);
    for (const r of rows.filter((r) => r.kind === "go")) expect(r.versionKey).toMatch(/^[A-Z_]+_VERSION$/);
  });

  it("says how each Go row is built: install-tools.sh has a build_<name> for it", () => {
    const script = readFileSync(join(packageRoot, "scripts", "install-tools.sh"), "utf8");
    const missing = rows.filter((r) => r.kind === "go" && !new RegExp(`^build_${r.name}\\(\\) \\{$`, "m").test(script));
    expect(missing.map((r) => r.name)).toEqual([]);
  });

  it("tests need everything the demo needs: a green npm test has built and run the demo's tools", () => {
    const test = new Set(rowsNeededBy(rows, "test").map((r) => r.name));
    expect(rowsNeededBy(rows, "demo").filter((r) => !test.has(r.name))).toEqual([]);
  });
});

describe("parseVersions", () => {
  it("reads KEY=VALUE lines and ignores comments", () => {
    expect(parseVersions("# x\nKUSTOMIZE_VERSION=v5.8.1\n\nGO_MIN_VERSION=1.26\n")).toEqual({ KUSTOMIZE_VERSION: "v5.8.1", GO_MIN_VERSION: "1.26" });
  });
});
