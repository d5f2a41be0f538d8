// Single-file writes (src/files.ts): a credential is 0600 from its first byte and replaces
// the old file atomically, through a symlink, leaving no temporary file behind; a staged file
// appears only on commit.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stageFile, writePrivateFile } from "../../src/files.js";

const dir = mkdtempSync(join(tmpdir(), "tenantry-files-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("writePrivateFile", () => {
  it("writes 0600, and a file that existed with a wider mode is replaced by a 0600 one", () => {
    const f = join(dir, "kc");
    writeFileSync(f, "old", { mode: 0o644 });
    writePrivateFile(f, "secret");
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f, "utf8")).toBe("secret");
  });

  it("replaces atomically through a symlink, leaving no temp file", () => {
    mkdirSync(join(dir, "real"));
    const target = join(dir, "real", "config");
    writeFileSync(target, "a", { mode: 0o644 });
    const link = join(dir, "link");
    symlinkSync(target, link);
    writePrivateFile(link, "b");
    expect(readFileSync(target, "utf8")).toBe("b");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(link, "utf8")).toBe("b");
    expect(readdirSync(join(dir, "real"))).toEqual(["config"]);
  });

  it("a directory that does not exist is one line naming the file, exit 1", () => {
    expect(() => {
      writePrivateFile(join(dir, "no", "such", "kc"), "x");
    }).toThrow(/^cannot write .*\/no\/such\/kc: ENOENT/);
  });
});

describe("stageFile", () => {
  it("is in place only after commit; discard leaves nothing", () => {
    const dest = join(dir, "staged", "deploy-key.pub");
    const kept = stageFile(dest, "ssh-ed25519 AAAA\n");
    expect(existsSync(dest)).toBe(false);
    kept.commit();
    expect(readFileSync(dest, "utf8")).toBe("ssh-ed25519 AAAA\n");
    const dropped = stageFile(join(dir, "staged", "other.pub"), "x");
    dropped.discard();
    expect(readdirSync(join(dir, "staged"))).toEqual(["deploy-key.pub"]);
  });
});
