// No private key material anywhere in what is committed: fixtures and golden snapshots,
// templates, docs, sources and tests. (The CLI and cluster tests scan what they generate.)

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { PRIVATE_KEY_MARKER } from "../helpers/sshd.js";

const root = join(import.meta.dirname, "..", "..");
const SKIP = new Set(["node_modules", "dist", ".git", "coverage"]);

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else if (e.isFile() && statSync(p).size < 10_000_000) out.push(p);
  }
  return out;
}

describe("the repository", () => {
  it("holds no private key anywhere (fixtures, snapshots, templates, docs, code)", () => {
    const hits = files(root).filter((f) => readFileSync(f, "latin1").includes(PRIVATE_KEY_MARKER)).map((f) => relative(root, f));
    expect(hits).toEqual([]);
    expect(files(join(root, "test", "fixtures")).length).toBeGreaterThan(0);
  });
});
