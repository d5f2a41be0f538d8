// Runs the CLI bundle (lib/tenantry.cjs, scripts/bundle.mjs) with a V8 code cache. Parsing
// and compiling the bundle were a third of a create-team (about 120 ms of ~350): V8 compiles
// each function the first time it runs, in every process. The first run of a command writes
// what V8 compiled during it to the cache (`<cache>/code/`); later runs of that command hand it
// back and skip the compiling. Node 20 has no such cache for ES modules (Node 22's
// module.enableCompileCache), hence one CommonJS bundle run through vm.Script; the bundle holds
// no import() (scripts/bundle.mjs checks): under vm.Script it fails with
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
//
// The cache is only ever a speed-up: a cache that cannot be read, written or is refused by V8
// (another V8, other flags, a damaged file) is ignored and written again, and
// TENANTRY_CODE_CACHE=off runs without one. V8 checks a cache against the source only by its
// length, so a cache is kept per bundle (lib/bundle-id, a digest of the bundle written beside
// it), Node version, V8 flags and command.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Script } from "node:vm";

export interface Cli {
  main(argv: string[]): Promise<number>;
}

/** The code cache's directory (beside the built tools, `TENANTRY_CACHE` as in src/paths.ts). */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.TENANTRY_CACHE;
  return join(set === undefined || set === "" ? join(homedir(), ".cache", "tenantry") : set, "code");
}

/** FNV-1a, 32 bits: names a cache file after the V8 flags; not a security boundary (the directory is the user's own). */
function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** The command a run's code is cached under: its first word when it looks like a command, else "cli". */
export function commandKey(argv: readonly string[]): string {
  const first = argv[0] ?? "";
  return /^[a-z][a-z-]{0,39}$/.test(first) ? first : "cli";
}

/** What V8 refuses a cache made under other values of: Node's options, on its command line and in NODE_OPTIONS. */
export function nodeFlags(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...execArgv, ...(env.NODE_OPTIONS === undefined || env.NODE_OPTIONS === "" ? [] : [env.NODE_OPTIONS])];
}

/** The cache file's name: one per bundle, Node, Node's options and command. */
export function cacheFileName(bundleId: string, argv: readonly string[], flags: readonly string[] = nodeFlags()): string {
  return `${bundleId}-${process.version}-${process.arch}-${fnv(flags.join("\0"))}-${commandKey(argv)}.bin`;
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes the cache whole (a temporary file renamed over it) and drops the caches of other bundles and Nodes. */
function writeCache(dir: string, name: string, data: Buffer, keep: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, join(dir, name));
    for (const other of readdirSync(dir)) if (!other.startsWith(keep) && !other.startsWith(".")) rmSync(join(dir, other), { force: true });
  } catch {
    // Only a speed-up: a read-only or full cache directory leaves the command as it was.
  }
}

/**
 * Loads the CommonJS bundle `file` (beside it, `bundle-id`) as Node's require would, with the
 * code cache for `argv`'s command; after the process's last tick, writes what V8 compiled when
 * there was no usable cache.
 */
export function loadCli(file: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Cli {
  const source = readFileSync(file, "utf8");
  const bundleId = env.TENANTRY_CODE_CACHE === "off" ? undefined : readOrUndefined(join(dirname(file), "bundle-id"))?.toString("utf8").trim();
  const dir = codeCacheDir(env);
  const name = bundleId === undefined || bundleId === "" ? undefined : cacheFileName(bundleId, argv, nodeFlags(process.execArgv, env));
  const cachedData = name === undefined ? undefined : readOrUndefined(join(dir, name));
  const script = new Script(Module.wrap(source), {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  if (name !== undefined && bundleId !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once("exit", () => {
      writeCache(dir, name, script.createCachedData(), `${bundleId}-${process.version}-`);
    });
  }
  const module = { exports: {} as Cli };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}
