// A memo of parsed team specs for the commands that read every team. Parsing 1000 team.yaml
// files took 440 ms of a 1.2 s create-team; reading and hashing them takes about 20. The same
// memo keeps the normalised texts of a team's overlay (render/yaml.ts normalizeTeamYaml, kind
// team-yaml): a create-team's nine first normalisations took 40 ms of a 330 ms run.
//
// The memo is tenantry's, not the repo's: one file per admin repo checkout and kind in the cache
// directory (<cache>/<kind>/<digest of the checkout's path>.json), so that a command
// writes nothing in the repo beyond its change (a refused one writes nothing at all). An entry
// is keyed by the SHA-256 of the file's text, and the whole memo by the build of tenantry that
// wrote it, so a changed file or another tenantry parses again; a file that does not parse is
// never memoised. Memos unused for two weeks are removed. A memo that cannot be read or
// written is ignored: it only ever saves time.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface SpecMemo<T> {
  /** The parse of `text`, from the memo or from `parse` (whose errors pass through, unmemoised). */
  parse(text: string, parse: (text: string) => T): T;
  /** Writes the memo back when it changed, holding only the texts parsed since it was opened. */
  save(): void;
}

interface MemoFile {
  readonly build: string;
  readonly entries: Record<string, unknown>;
}

const STALE_MS = 14 * 24 * 3600 * 1000;

const digest = (text: string): string => createHash("sha256").update(text).digest("base64url");

function memoFile(root: string, cache: string, kind: string): string | undefined {
  try {
    return join(cache, kind, `${digest(realpathSync(root)).slice(0, 22)}.json`);
  } catch {
    return undefined;
  }
}

function removeStale(dir: string, now: number): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // Gone already, or not ours to judge.
    }
  }
}

function readMemo(file: string, build: string): Map<string, unknown> {
  try {
    const read = JSON.parse(readFileSync(file, "utf8")) as Partial<MemoFile> | null;
    if (read?.build !== build || typeof read.entries !== "object") return new Map();
    return new Map(Object.entries(read.entries));
  } catch {
    return new Map();
  }
}

/**
 * The memo of the admin repo at `root` for the tenantry build `build`, kept under `cache`
 * (`kind`: team-specs, the parsed team.yaml files; team-yaml, normalised overlay texts); with
 * no build (tenantry run from its sources), a memo that remembers nothing.
 */
export function openSpecMemo<T>(root: string, build: string | undefined, cache: string, kind: "team-specs" | "team-yaml" = "team-specs"): SpecMemo<T> {
  const file = build === undefined ? undefined : memoFile(root, cache, kind);
  if (file === undefined || build === undefined) return { parse: (text, parse) => parse(text), save: () => undefined };
  const dir = dirname(file);
  const before = readMemo(file, build);
  const used = new Map<string, unknown>();
  let missed = false;
  return {
    parse(text, parse) {
      const key = digest(text);
      if (before.has(key)) {
        const value = before.get(key) as T;
        used.set(key, value);
        return value;
      }
      const value = parse(text);
      used.set(key, value);
      missed = true;
      return value;
    },
    save() {
      if (!missed && used.size === before.size) return;
      const memo: MemoFile = { build, entries: Object.fromEntries(used) };
      const tmp = `${file}.${String(process.pid)}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(tmp, JSON.stringify(memo), { mode: 0o600 });
        renameSync(tmp, file);
        removeStale(dir, Date.now());
      } catch {
        // Only a memo: the next run parses again.
        try {
          rmSync(tmp, { force: true });
        } catch {
          // Never written.
        }
      }
    },
  };
}
