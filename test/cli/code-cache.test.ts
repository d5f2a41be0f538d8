// The CLI's V8 code cache (src/launch/code-cache.ts) is only a speed-up: the real
// bin/tenantry.js writes one per command after its first successful run, reuses it untouched,
// writes a damaged one again (its digest, checked before V8 sees it), uses none in a directory
// others may write to, and answers the same with no cache, a cache it cannot write, or
// TENANTRY_CODE_CACHE=off.

import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleStamp, cacheFileName, commandKey, nodeFlags } from "../../src/launch/code-cache.js";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";

const bundleId = (): string => readFileSync(join(repoRoot, "lib", "bundle-id"), "utf8").trim();
/** The cache a CLI run by runCli uses for `argv`: no options of its own, this process's NODE_OPTIONS. */
const cacheOf = (argv: readonly string[]): string => {
  const name = cacheFileName(bundleId(), argv, nodeFlags([], process.env), bundleStamp(join(repoRoot, "lib", "tenantry.cjs")));
  if (name === undefined) throw new Error(`${argv.join(" ")} runs without a cache`);
  return name;
};

/** The cache files of `cache`/code, by name. */
function cacheFiles(cache: string): string[] {
  const dir = join(cache, "code");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe("the CLI's code cache", () => {
  it("is written once per command, 0600 in a 0700 directory, and reused untouched", async () => {
    const cache = tempDir();
    const first = await runCli(["--help"], { env: { TENANTRY_CACHE: cache } });
    expect(first.code).toBe(0);
    const name = cacheOf(["--help"]);
    expect(cacheFiles(cache)).toEqual([name]);
    const file = join(cache, "code", name);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(cache, "code")).mode & 0o777).toBe(0o700);
    const written = readFileSync(file);
    expect(written.length).toBeGreaterThan(10_000);
    const mtime = statSync(file).mtimeMs;

    const second = await runCli(["--help"], { env: { TENANTRY_CACHE: cache } });
    expect(second).toEqual(first);
    expect(statSync(file).mtimeMs).toBe(mtime); // V8 took it: not written again
    expect(readFileSync(file).equals(written)).toBe(true);

    const version = await runCli(["--version"], { env: { TENANTRY_CACHE: cache } });
    expect(version.code).toBe(0);
    expect(cacheFiles(cache)).toEqual([name]); // "--version" is no command: the same "cli" cache
    const list = await runCli(["list", "--help"], { env: { TENANTRY_CACHE: cache } });
    expect(list.code).toBe(0);
    expect(cacheFiles(cache)).toEqual([name, cacheOf(["list"])].sort());
  });

  it("a damaged cache is refused by V8, the command answers as before, and the cache is written again", async () => {
    const cache = tempDir();
    const clean = await runCli(["--help"], { env: { TENANTRY_CACHE: cache, TENANTRY_CODE_CACHE: "off" } });
    const name = cacheOf(["--help"]);
    mkdirSync(join(cache, "code"), { recursive: true });
    const garbage = Buffer.alloc(64 * 1024, 0x5a);
    writeFileSync(join(cache, "code", name), garbage);
    const run = await runCli(["--help"], { env: { TENANTRY_CACHE: cache } });
    expect(run).toEqual(clean);
    const rewritten = readFileSync(join(cache, "code", name));
    expect(rewritten.equals(garbage)).toBe(false);
    expect(rewritten.length).toBeGreaterThan(10_000);
  });

  it("the caches of other bundles and Nodes are removed when one is written, and temporary files older than an hour; newer ones are left to their writers", async () => {
    const cache = tempDir();
    mkdirSync(join(cache, "code"), { recursive: true });
    const stale = ["0123456789abcdef-v20.0.0-x64-811c9dc5-cli.bin", `${bundleId()}-v19.9.9-x64-811c9dc5-cli.bin`, ".killed-writer.1.tmp"];
    for (const f of [...stale, ".other-writer.123.tmp"]) writeFileSync(join(cache, "code", f), "old");
    const hoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(join(cache, "code", ".killed-writer.1.tmp"), hoursAgo, hoursAgo);
    expect((await runCli(["--help"], { env: { TENANTRY_CACHE: cache } })).code).toBe(0);
    expect(cacheFiles(cache)).toEqual([".other-writer.123.tmp", cacheOf(["--help"])]);
  });

  it("no cache (TENANTRY_CODE_CACHE=off) and a cache directory that cannot be made change nothing the user sees", async () => {
    const base = tempDir();
    const off = await runCli(["--help"], { env: { TENANTRY_CACHE: join(base, "off"), TENANTRY_CODE_CACHE: "off" } });
    expect(off.code).toBe(0);
    expect(existsSync(join(base, "off"))).toBe(false);
    // A file where the cache directory would go: mkdir fails even for root.
    writeFileSync(join(base, "file"), "not a directory");
    const blocked = await runCli(["--help"], { env: { TENANTRY_CACHE: join(base, "file") } });
    expect(blocked).toEqual(off);
    // A failing command fails the same way.
    const failing = await runCli(["create-team", "Not_A_Name"], { cwd: base, env: { TENANTRY_CACHE: join(base, "file") } });
    expect(failing.code).toBe(2);
    expect(failing.stderr).toMatch(/^tenantry: error: no tenantry.yaml in /);
    expect(failing).toEqual(await runCli(["create-team", "Not_A_Name"], { cwd: base, env: { TENANTRY_CACHE: join(base, "off"), TENANTRY_CODE_CACHE: "off" } }));
  });

  it("none is written after a failed run, nor in a directory others may write to (nor read from one)", async () => {
    const base = tempDir();
    const failing = await runCli(["create-team", "Not_A_Name"], { cwd: base, env: { TENANTRY_CACHE: base } });
    expect(failing.code).toBe(2);
    expect(cacheFiles(base)).toEqual([]);
    mkdirSync(join(base, "code"));
    chmodSync(join(base, "code"), 0o777);
    expect((await runCli(["--help"], { env: { TENANTRY_CACHE: base } })).code).toBe(0);
    expect(cacheFiles(base)).toEqual([]);
    // A cache placed there is not read either: the run writes none (it would not write one it used).
    chmodSync(join(base, "code"), 0o700);
    expect((await runCli(["--help"], { env: { TENANTRY_CACHE: base } })).code).toBe(0);
    const file = join(base, "code", cacheOf(["--help"]));
    const made = readFileSync(file);
    chmodSync(join(base, "code"), 0o777);
    writeFileSync(file, Buffer.concat([made.subarray(0, 32), made.subarray(32)]));
    const mtime = statSync(file).mtimeMs;
    expect((await runCli(["--help"], { env: { TENANTRY_CACHE: base } })).code).toBe(0);
    expect(statSync(file).mtimeMs).toBe(mtime);
  });
});

describe("code cache keys", () => {
  it("one per command word; anything else is the CLI's", () => {
    expect(commandKey(["create-team", "x"])).toBe("create-team");
    expect(commandKey(["--help"])).toBe("cli");
    expect(commandKey([])).toBe("cli");
    expect(commandKey(["../../etc/passwd"])).toBe("cli");
    expect(commandKey(["Create"])).toBe("cli");
    expect(commandKey(["agent", "--namespace", "x"])).toBeUndefined(); // the agent runs without one
    expect(cacheFileName("abc", ["agent"], [])).toBeUndefined();
  });

  it("per bundle, Node and V8 flags: a cache made under other flags is never handed to V8", () => {
    const plain = cacheFileName("abc", ["status"], []);
    expect(plain).toMatch(new RegExp(`^abc-${process.version}-${process.arch}-[0-9a-f]{8}-status\\.bin$`));
    expect(cacheFileName("abc", ["status"], ["--cpu-prof"])).not.toBe(plain);
    expect(cacheFileName("abd", ["status"], [])).not.toBe(plain);
    expect(cacheFileName("abc", ["status"], [], "100:1:2")).not.toBe(plain); // the bundle file replaced, its id not
    expect(nodeFlags(["--cpu-prof"], { NODE_OPTIONS: "--max-old-space-size=100" })).toEqual(["--cpu-prof", "--max-old-space-size=100"]);
    expect(nodeFlags([], { NODE_OPTIONS: "" })).toEqual([]);
  });
});
