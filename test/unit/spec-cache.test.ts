// The memo of parsed team specs (src/repo/spec-cache.ts): it only ever saves time. A changed
// file, another build or a file that does not parse is parsed again; nothing is written for a
// run from the sources; a memo it cannot write is no error.

import { chmodSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSpecMemo } from "../../src/repo/spec-cache.js";
import { tempDir } from "../helpers/cli.js";

function counting(): { parse: (text: string) => { text: string }; calls: () => number } {
  let n = 0;
  return {
    parse: (text) => {
      n++;
      if (text.includes("bad")) throw new Error(`cannot parse ${text}`);
      return { text };
    },
    calls: () => n,
  };
}

function run(repo: string, cache: string, build: string | undefined, texts: readonly string[]): number {
  const c = counting();
  const memo = openSpecMemo<{ text: string }>(repo, build, cache);
  for (const t of texts) {
    try {
      expect(memo.parse(t, c.parse)).toEqual({ text: t });
    } catch (e) {
      expect((e as Error).message).toBe(`cannot parse ${t}`);
    }
  }
  memo.save();
  return c.calls();
}

describe("the team spec memo", () => {
  it("parses a text once per build, again when it changes, and keeps only what the last run read", () => {
    const repo = tempDir();
    const cache = tempDir();
    expect(run(repo, cache, "b1", ["a", "b"])).toBe(2);
    expect(run(repo, cache, "b1", ["a", "b"])).toBe(0);
    expect(run(repo, cache, "b1", ["a", "b2"])).toBe(1);
    // "b" was not read in the last run: gone from the memo.
    expect(run(repo, cache, "b1", ["b"])).toBe(1);
    // Another build of tenantry parses everything again.
    expect(run(repo, cache, "b2", ["a", "b"])).toBe(2);
    const [file] = readdirSync(join(cache, "team-specs"));
    expect(Object.keys((JSON.parse(readFileSync(join(cache, "team-specs", file ?? ""), "utf8")) as { entries: object }).entries)).toHaveLength(2);
  });

  it("never memoises a text that does not parse", () => {
    const repo = tempDir();
    const cache = tempDir();
    expect(run(repo, cache, "b1", ["a", "bad"])).toBe(2);
    expect(run(repo, cache, "b1", ["a", "bad"])).toBe(1);
  });

  it("keeps one memo per checkout", () => {
    const cache = tempDir();
    const one = tempDir();
    const two = tempDir();
    expect(run(one, cache, "b1", ["a"])).toBe(1);
    expect(run(two, cache, "b1", ["a"])).toBe(1);
    expect(run(one, cache, "b1", ["a"])).toBe(0);
    expect(readdirSync(join(cache, "team-specs"))).toHaveLength(2);
  });

  it("writes nothing when run from the sources (no build)", () => {
    const repo = tempDir();
    const cache = tempDir();
    expect(run(repo, cache, undefined, ["a"])).toBe(1);
    expect(run(repo, cache, undefined, ["a"])).toBe(1);
    expect(readdirSync(cache)).toEqual([]);
  });

  it("ignores a memo it cannot read or write, and one that is not its format", () => {
    const repo = tempDir();
    const cache = tempDir();
    mkdirSync(join(cache, "team-specs"));
    expect(run(repo, cache, "b1", ["a"])).toBe(1);
    const [file] = readdirSync(join(cache, "team-specs"));
    const path = join(cache, "team-specs", file ?? "");
    for (const junk of ["{", "null", "[]", '{"build":"b1","entries":null}', '{"build":"b1"}']) {
      writeFileSync(path, junk);
      expect(run(repo, cache, "b1", ["a"])).toBe(1);
    }
    if (process.getuid?.() !== 0) {
      chmodSync(join(cache, "team-specs"), 0o500);
      expect(run(repo, cache, "b2", ["a"])).toBe(1);
      chmodSync(join(cache, "team-specs"), 0o700);
    }
    writeFileSync(join(repo, "a-file"), "");
    expect(run(tempDir(), join(repo, "a-file", "cache"), "b1", ["a"])).toBe(1);
  });

  it("removes memos unused for two weeks when it writes one", () => {
    const cache = tempDir();
    expect(run(tempDir(), cache, "b1", ["a"])).toBe(1);
    const dir = join(cache, "team-specs");
    const [old] = readdirSync(dir);
    const weeksAgo = new Date(Date.now() - 15 * 24 * 3600 * 1000);
    utimesSync(join(dir, old ?? ""), weeksAgo, weeksAgo);
    expect(run(tempDir(), cache, "b1", ["a"])).toBe(1);
    expect(readdirSync(dir)).not.toContain(old);
    expect(readdirSync(dir)).toHaveLength(1);
  });
});
