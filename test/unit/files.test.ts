// Single-file writes (src/files.ts), played against someone who can write to the directory:
// a credential is 0600 from its first byte whatever the umask, replaces the old file
// atomically, never follows a planted symlink (unless asked to, for a person's own
// kubeconfig), refuses an existing file when asked, and leaves no temporary file behind; a
// staged file appears only on commit.

import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stageFile, writeFileAtomically, writePrivateFile } from "../../src/files.js";

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

  it("with followSymlink (a person's kubeconfig), replaces the link's target atomically, leaving no temp file", () => {
    mkdirSync(join(dir, "real"));
    const target = join(dir, "real", "config");
    writeFileSync(target, "a", { mode: 0o644 });
    const link = join(dir, "link");
    symlinkSync(target, link);
    writePrivateFile(link, "b", { followSymlink: true });
    expect(readFileSync(target, "utf8")).toBe("b");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(link, "utf8")).toBe("b");
    expect(readdirSync(join(dir, "real"))).toEqual(["config"]);
  });

  it("a symlink at the target is replaced, never followed (a planted link cannot receive the secret)", () => {
    const loot = join(dir, "loot");
    writeFileSync(loot, "nothing", { mode: 0o666 });
    const key = join(dir, "deploy_key");
    symlinkSync(loot, key);
    writePrivateFile(key, "SECRET");
    expect(readFileSync(loot, "utf8")).toBe("nothing");
    expect(lstatSync(key).isSymbolicLink()).toBe(false);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, "utf8")).toBe("SECRET");
  });

  it("noClobber refuses an existing file atomically and leaves it as it was", () => {
    const f = join(dir, "exists");
    writeFileSync(f, "mine");
    expect(() => {
      writePrivateFile(f, "SECRET", { noClobber: true });
    }).toThrow(/^cannot write .*exists: it exists/);
    expect(readFileSync(f, "utf8")).toBe("mine");
    writePrivateFile(join(dir, "new-key"), "SECRET", { noClobber: true });
    expect(statSync(join(dir, "new-key")).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("the mode is exact whatever the umask", () => {
    const old = process.umask(0o077);
    try {
      writeFileAtomically(join(dir, "public"), "x", { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, "public")).mode & 0o777).toBe(0o644);
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
