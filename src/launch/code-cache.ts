// Runs the CLI bundle (lib/tenantry.cjs, scripts/bundle.mjs) with a V8 code cache. Parsing
// and compiling the bundle were a third of a create-team (about 120 ms of ~350): V8 compiles
// each function the first time it runs, in every process. The first successful run of a
// command writes what V8 compiled during it to the cache (`<cache>/code/`); later runs of that
// command hand it back and skip the compiling. Node 20 has no such cache for ES modules (Node
// 22's module.enableCompileCache), hence one CommonJS bundle run through vm.Script; the bundle
// holds no import() (scripts/bundle.mjs checks): under vm.Script it fails with
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
//
// The cache is only ever a speed-up, and V8 trusts what it is handed: it checks a cache
// against the source by its length alone and, in Node 20, checks no checksum of its own. So:
// - a cache is kept per bundle (lib/bundle-id, a digest written beside it, and the bundle
//   file's size, modification time and inode, so a bundle replaced without its id is not
//   run with another's code), Node version, Node's options and command;
// - each file carries the SHA-256 of its data, checked before V8 sees it;
// - the directory must be the user's own and writable by no one else, the file a regular file;
// - it is written to a new file (exclusive create, random name) renamed into place.
// A cache that fails any of these, or that V8 refuses, is not used; one that cannot be written
// is skipped. The agent runs without one (it changes V8's flags as it starts, and its start
// time does not matter), and so does TENANTRY_CODE_CACHE=off.

import { createHash, randomBytes } from "node:crypto";
import { closeSync, fstatSync, type Stats, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import { cacheDir } from "../paths.js";

export interface Cli {
  main(argv: string[]): Promise<number>;
}

/** Commands that never use the cache (see above). */
const UNCACHED = new Set(["agent"]);
const DIGEST_BYTES = 32;
/** A writer's temporary file older than this was left by a killed process. */
const STALE_TMP_MS = 3600_000;


/** FNV-1a, 32 bits: names a cache file; what it names is checked by the digest inside. */
function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** The command a run's code is cached under: its first word when it looks like a command, else "cli"; undefined for a command run without a cache. */
export function commandKey(argv: readonly string[]): string | undefined {
  const first = argv[0] ?? "";
  if (UNCACHED.has(first)) return undefined;
  return /^[a-z][a-z-]{0,39}$/.test(first) ? first : "cli";
}

/** What V8 refuses a cache made under other values of: Node's options, on its command line and in NODE_OPTIONS. */
export function nodeFlags(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...execArgv, ...(env.NODE_OPTIONS === undefined || env.NODE_OPTIONS === "" ? [] : [env.NODE_OPTIONS])];
}

/**
 * The cache file's name: one per bundle (its id and `fileStamp`, the bundle file's size,
 * modification time and inode), Node, Node's options and command; undefined when the command
 * runs without a cache.
 */
export function cacheFileName(bundleId: string, argv: readonly string[], flags: readonly string[] = nodeFlags(), fileStamp = ""): string | undefined {
  const command = commandKey(argv);
  if (command === undefined) return undefined;
  return `${bundleId}-${process.version}-${process.arch}-${fnv([fileStamp, ...flags].join("\0"))}-${command}.bin`;
}

/** Whether `dir` is a directory of this user's that no one else may write to. */
function ownDirectory(dir: string): boolean {
  const st = lstatSync(dir);
  return st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
}

/** The cached code in `file`, when its digest matches; undefined for anything else. */
function readCache(dir: string, file: string): Buffer | undefined {
  try {
    if (!ownDirectory(dir) || !lstatSync(file).isFile()) return undefined;
    const data = readFileSync(file);
    const code = data.subarray(DIGEST_BYTES);
    return code.length > 0 && createHash("sha256").update(code).digest().equals(data.subarray(0, DIGEST_BYTES)) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `code` with its digest to a new file renamed over `name`, and drops the caches of other bundles and Nodes and writers' stale temporary files; nothing when the directory is not the user's own. */
function writeCache(dir: string, name: string, code: () => Buffer, keep: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!ownDirectory(dir)) return;
    const data = code();
    const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, createHash("sha256").update(data).digest());
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
    const now = Date.now();
    for (const other of readdirSync(dir)) {
      try {
        const stale = other.startsWith(".") ? other.endsWith(".tmp") && now - lstatSync(join(dir, other)).mtimeMs > STALE_TMP_MS : !other.startsWith(keep);
        if (stale) rmSync(join(dir, other), { force: true });
      } catch {
        // another writer's file, gone meanwhile, or not ours to remove
      }
    }
  } catch {
    // Only a speed-up: a read-only or full cache directory leaves the command as it was.
  }
}

/**
 * Loads the CommonJS bundle `file` (beside it, `bundle-id`) as Node's require would, with the
 * code cache for `argv`'s command; when the process exits after a successful run that had no
 * usable cache, writes what V8 compiled.
 */
export function loadCli(file: string, argv: readonly string[]): Cli {
  const fd = openSync(file, "r");
  let source: string;
  let stamp: string;
  try {
    stamp = stampOf(fstatSync(fd));
    source = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  let bundleId: string | undefined;
  try {
    bundleId = process.env.TENANTRY_CODE_CACHE === "off" ? undefined : readFileSync(join(dirname(file), "bundle-id"), "utf8").trim() || undefined;
  } catch {
    bundleId = undefined;
  }
  const dir = join(cacheDir(), "code");
  const name = bundleId === undefined ? undefined : cacheFileName(bundleId, argv, nodeFlags(), stamp);
  const cachedData = name === undefined ? undefined : readCache(dir, join(dir, name));
  const script = new Script(Module.wrap(source), { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
  if (name !== undefined && bundleId !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once("exit", (code) => {
      if (code === 0) writeCache(dir, name, () => script.createCachedData(), `${bundleId}-${process.version}-`);
    });
  }
  const module = { exports: {} as Cli };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** A bundle file's size, modification time and inode, which a cache's name holds. */
function stampOf(st: Stats): string {
  return `${String(st.size)}:${String(st.mtimeMs)}:${String(st.ino)}`;
}

/** The bundle file's stamp as loadCli reads it (tests name the cache file with it). */
export function bundleStamp(file: string): string {
  return stampOf(statSync(file));
}
