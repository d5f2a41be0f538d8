// Only the pinned tools ever run, and both README commands install what they use from one
// table (tools/tools.txt) through one install step (scripts/install-tools.sh):
// - every build goes through the build service: with an empty cache, a kustomize of another
//   version on PATH and a kubectl with an embedded kustomize, the CLI exits 4 naming the pin
//   and the install command, and neither ran; the service is never taken from PATH;
// - TENANTRY_BUILD / TENANTRY_GATOR / TENANTRY_CELCHECK of another version are refused the
//   same way, and so is a gator of another version on PATH;
// - `npm test` and `npm run demo` ask the install step for their use (`--for test`,
//   `--for demo`), and what it selects is exactly the table's rows for that use;
// - missing Debian packages on a machine where they cannot be installed stop the install
//   step with one line naming them.

import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { findBinary, rowsNeededBy, toolTable } from "../../src/toolchain.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { repoRoot, runCli, runProgram, tempDir, treeHash } from "../helpers/cli.js";

const installTools = join(repoRoot, "scripts", "install-tools.sh");

/**
 * A directory of stand-ins for what a machine may have on PATH: each prints `versionOut` when
 * asked its version (`version`, `--version`), does nothing else, and records every call in `calls`.
 */
function foreignTools(tools: Record<string, string>): { bin: string; calls: string } {
  const dir = tempDir("tenantry-foreign-");
  const bin = join(dir, "bin");
  const calls = join(dir, "calls");
  mkdirSync(bin);
  writeFileSync(calls, "");
  for (const [name, versionOut] of Object.entries(tools)) {
    const file = join(bin, name);
    writeFileSync(
      file,
      `#!/bin/sh\necho "${name} $*" >> '${calls}'\ncase "$1" in\n  version|--version) printf '%s\\n' '${versionOut}' ;;\n  *) echo "${name}: would have run" >&2 ;;\nesac\n`,
    );
    chmodSync(file, 0o755);
  }
  return { bin, calls };
}

/** kustomize `version` as a machine's may answer, and a kubectl whose embedded kustomize is that version. */
const kustomizeAndKubectl = (version: string): Record<string, string> => ({ kustomize: version, kubectl: `Client Version: v1.32.4\nKustomize Version: ${version}` });

function calls(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

describe("only the pinned build service builds", () => {
  it("an empty cache with kubectl's kustomize and another kustomize on PATH: exit 4, the pin and the install command, neither ran", async () => {
    const admin = await makeAdminRepo();
    const before = treeHash(admin);
    const foreign = foreignTools(kustomizeAndKubectl("v5.5.0"));
    const r = await runCli(["create-team", "web"], { cwd: admin, env: { TENANTRY_CACHE: tempDir(), TENANTRY_BUILD: "", PATH: `${foreign.bin}:${process.env.PATH ?? ""}` } });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr.trim().split("\n")).toEqual([
      "tenantry: error: tenantry-build (the build service, kustomize/api) v0.21.1 not found: run scripts/install-tools.sh build (builds it with Go), or set TENANTRY_BUILD to a tenantry-build v0.21.1",
    ]);
    // No kustomize of the machine's ran, not even to ask its version; kubectl neither.
    expect(calls(foreign.calls)).toEqual([]);
    expect(treeHash(admin)).toBe(before);
  });

  it("the pinned build service is never taken from PATH, only from the cache or TENANTRY_BUILD", async () => {
    const admin = await makeAdminRepo();
    const pinned = findBinary("build").file;
    const onPath = await runCli(["create-team", "web"], { cwd: admin, env: { TENANTRY_CACHE: tempDir(), TENANTRY_BUILD: "", PATH: `${dirname(pinned)}:${process.env.PATH ?? ""}` } });
    expect(onPath.code).toBe(4);
    const named = await runCli(["create-team", "web"], { cwd: admin, env: { TENANTRY_CACHE: tempDir(), TENANTRY_BUILD: pinned } });
    expect(named.code, named.stderr).toBe(0);
    expect(existsSync(join(admin, "cluster", "web", "kustomization.yaml"))).toBe(true);
  });

  it("TENANTRY_BUILD of another kustomize release is refused, not run", async () => {
    const admin = await makeAdminRepo();
    const foreign = foreignTools({ "tenantry-build": "tenantry-build fluxcd/pkg/kustomize v1.35.5 kustomize/api v0.20.1" });
    const build = join(foreign.bin, "tenantry-build");
    const r = await runCli(["create-team", "web"], { cwd: admin, env: { TENANTRY_BUILD: build } });
    expect(r.code).toBe(4);
    expect(r.stderr.trim()).toBe(
      `tenantry: error: TENANTRY_BUILD=${build} is v0.20.1, not the pinned tenantry-build (the build service, kustomize/api) v0.21.1: run scripts/install-tools.sh build (builds it with Go) and unset TENANTRY_BUILD, or point it at v0.21.1`,
    );
    expect(calls(foreign.calls)).toEqual(["tenantry-build --version"]);
  });
});

describe("only the pinned gator and tenantry-celcheck run", () => {
  it("a gator of another version on PATH or in TENANTRY_GATOR: exit 4, never run", async () => {
    const admin = await makeAdminRepo([["web"]]);
    const foreign = foreignTools({ gator: "gator version v3.20.0" });
    for (const env of [{ PATH: `${foreign.bin}:${process.env.PATH ?? ""}`, TENANTRY_GATOR: "" }, { TENANTRY_GATOR: join(foreign.bin, "gator") }]) {
      const r = await runCli(["validate", admin], { env: { TENANTRY_CACHE: tempDir(), TENANTRY_BUILD: findBinary("build").file, ...env } });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/gator v3\.23\.1 not found \(the gator on PATH is v3\.20\.0\)|TENANTRY_GATOR=\S+ is v3\.20\.0, not the pinned gator v3\.23\.1/);
    }
    expect(calls(foreign.calls)).toEqual(["gator --version", "gator --version"]);
  });

  it("a tenantry-celcheck built from another Kubernetes release in TENANTRY_CELCHECK: exit 4, never run", async () => {
    const admin = await makeAdminRepo([["web"]]);
    const foreign = foreignTools({ celcheck: "tenantry-celcheck v1.33.0" });
    const celcheck = join(foreign.bin, "celcheck");
    const r = await runCli(["validate", admin], { env: { TENANTRY_BUILD: findBinary("build").file, TENANTRY_CELCHECK: celcheck } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      `TENANTRY_CELCHECK=${celcheck} is v1.33.0, not the pinned tenantry-celcheck (ValidatingAdmissionPolicy checker) v1.34.4: run scripts/install-tools.sh celcheck`,
    );
    expect(calls(foreign.calls)).toEqual(["celcheck --version"]);
  });
});

describe("vendored upstream files are what the pinned releases give", () => {
  it("vendor/flux/gotk-components.yaml is what scripts/vendor-flux.mjs makes from the FLUX_VERSION modules", () => {
    // --check exits 1 (and execFileSync throws) when the file differs by a byte.
    const out = execFileSync(process.execPath, [join(repoRoot, "scripts", "vendor-flux.mjs"), "--check"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toBe("");
    const text = readFileSync(join(repoRoot, "vendor", "flux", "gotk-components.yaml"), "utf8");
    const version = /^FLUX_VERSION=(\S+)$/m.exec(readFileSync(join(repoRoot, "tools", "versions.env"), "utf8"))?.[1];
    expect(text).toContain(`image: ghcr.io/fluxcd/kustomize-controller:${version}`);
    expect(text).toContain(`image: ghcr.io/fluxcd/source-controller:${version}`);
  });
});

describe("one table, one install step", () => {
  const selected = (args: string[]): string[] => execFileSync(installTools, [...args, "--list"], { encoding: "utf8" }).trim().split("\n");

  it("--for demo and --for test select exactly the table's rows for that use", () => {
    const rows = toolTable();
    expect(selected(["--for", "demo"])).toEqual(rowsNeededBy(rows, "demo").map((r) => r.name));
    expect(selected(["--for", "test"])).toEqual(rowsNeededBy(rows, "test").map((r) => r.name));
  });

  it("npm test and npm run demo ask the install step for their use and keep no list of their own", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/^scripts\/install-tools\.sh --for test >\/dev\/null && /);
    const demo = readFileSync(join(repoRoot, "scripts", "demo.mjs"), "utf8");
    const calls = [...demo.matchAll(/\[script, ([^\]]*)\]/g)].map((m) => m[1]);
    // `--engine flux` adds `--with flux` (the table's demo+flux rows), nothing else.
    expect(calls).toEqual(['"--for", "demo", ...withFlux, "--list"', '"--for", "demo", ...withFlux']);
    expect(demo).toContain('const withFlux = flux ? ["--with", "flux"] : [];');
    const names = toolTable().map((r) => r.name);
    // Neither names a tool where it asks for tools (the demo may run kubectl by the path the install step printed).
    for (const call of calls) for (const name of names) expect(call).not.toContain(`"${name}"`);
    // CI adds nothing the tests need: its commands are npm ci and npm test.
    const ci = readFileSync(join(repoRoot, ".ci", "run"), "utf8").split("\n").filter((l) => !l.trim().startsWith("#"));
    expect(ci.join("\n")).not.toMatch(/apt-get|install-tools|kubectl/);
  });

  it("missing Debian packages that cannot be installed here: one line naming them, exit 1, nothing built", async () => {
    // A copy of the install step with a table holding one package whose file is absent.
    const root = tempDir("tenantry-install-");
    chmodSync(root, 0o755);
    mkdirSync(join(root, "scripts"));
    cpSync(installTools, join(root, "scripts", "install-tools.sh"));
    mkdirSync(join(root, "tools"));
    cpSync(join(repoRoot, "tools", "versions.env"), join(root, "tools", "versions.env"));
    writeFileSync(
      join(root, "tools", "tools.txt"),
      "kustomize  go   KUSTOMIZE_VERSION  kustomize               test  -  go install\nnot-here   deb  -                  /nonexistent/sbin/thing test  -  Debian\n",
    );
    chmodSync(join(root, "tools"), 0o755);
    const cache = tempDir("tenantry-cache-");
    chmodSync(cache, 0o777);
    // As root, run as nobody: the step installs packages only as root with apt-get.
    const asUser = process.getuid?.() === 0 ? ["runuser", ["-u", "nobody", "--", "env", `TENANTRY_CACHE=${cache}`, "bash"]] : ["env", [`TENANTRY_CACHE=${cache}`, "bash"]];
    const [file, prefix] = asUser as [string, string[]];
    const r = await runProgram(file, [...prefix, join(root, "scripts", "install-tools.sh"), "--for", "test"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("tenantry: error: missing Debian packages: not-here (/nonexistent/sbin/thing); install them as root: apt-get install not-here");
    expect(r.stdout).toBe("");
    expect(existsSync(join(cache, "bin"))).toBe(false);
  });
});
