// The all-or-nothing change (src/repo/atomic.ts), failure by failure: through an fs seam
// that fails the n-th call (for every n a change makes), the tree ends as it was before or,
// past the point of no return, as the change wants, never in between; through a seam that
// "kills" the process at the n-th call (every later call fails too, so nothing is undone), the
// next run's recovery puts the tree back from the journal. Each in the three ways a change is
// made durable: a fsync per file, one sync of the file system (a change of many files), and
// that sync failing, so the fsyncs are done after all. Real failures too: a directory in
// the way of a file. Trees are compared by every entry's type, mode and bytes.

import * as fs from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type AtomicChange, applyAtomically, BATCH_SYNC_FROM, beginChange, ChangeFailedError, type ChangeOptions, type Fs, recoverInterrupted, restoreSnapshot, snapshotFiles, STAGING_PREFIX, syncfsReportsErrors } from "../../src/repo/atomic.js";

const base = fs.mkdtempSync(join(tmpdir(), "tenantry-atomic-"));
afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

let n = 0;
/** A fresh tree: a team overlay, the teams list, a script, CODEOWNERS. */
function tree(): string {
  const root = join(base, `t${n++}`);
  fs.mkdirSync(join(root, "cluster/team1"), { recursive: true });
  fs.mkdirSync(join(root, "cluster/teams"), { recursive: true });
  fs.writeFileSync(join(root, "cluster/team1/namespace.yaml"), "kind: Namespace\n");
  fs.writeFileSync(join(root, "cluster/team1/quota.yaml"), "kind: ResourceQuota\n", { mode: 0o640 });
  fs.writeFileSync(join(root, "cluster/teams/kustomization.yaml"), "resources:\n  - ../team1\n");
  fs.writeFileSync(join(root, "CODEOWNERS"), "/cluster/team1/ @acme/platform\n");
  fs.mkdirSync(join(root, "scripts"));
  fs.writeFileSync(join(root, "scripts/run.sh"), "#!/bin/sh\n", { mode: 0o755 });
  return root;
}

/** Every entry below `dir`: type, mode and bytes (symlinks: their target). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = join(d, name);
      const st = fs.lstatSync(p);
      const key = relative(dir, p).split(sep).join("/");
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[`${key}/`] = `dir ${mode}`;
        walk(p);
      } else if (st.isSymbolicLink()) out[key] = `link ${fs.readlinkSync(p)}`;
      else out[key] = `file ${mode} ${fs.readFileSync(p).toString("base64")}`;
    }
  };
  walk(dir);
  return out;
}

/** What delete-team does: the overlay goes, the list and CODEOWNERS change; plus a new nested file. */
const CHANGE: AtomicChange = {
  writes: new Map([
    ["cluster/teams/kustomization.yaml", { content: "resources: []\n", mode: 0o644 }],
    ["CODEOWNERS", { content: "", mode: 0o644 }],
    ["cluster/teams/tombstones.yaml", { content: "- kind: Team\n  name: team1\n", mode: 0o644 }],
    ["cluster/new/deep/file.yaml", { content: "x: 1\n", mode: 0o600 }],
  ]),
  deletes: ["cluster/team1", "not/there"],
};

/** A directory deleted and written into in one change (its old files go, a new one comes): a mkdir where a delete was. */
const REMADE: AtomicChange = {
  writes: new Map([["cluster/team1/new.yaml", { content: "kind: Namespace\n", mode: 0o644 }]]),
  deletes: ["cluster/team1"],
};

const CHANGES: [string, AtomicChange][] = [
  ["delete-team's change", CHANGE],
  ["a directory deleted and made again", REMADE],
];

/** The tree `change` should leave. */
function expected(change: AtomicChange): Record<string, string> {
  const root = tree();
  applyAtomically(root, change);
  const after = snapshot(root);
  fs.rmSync(root, { recursive: true, force: true });
  return after;
}

const MUTATING = new Set<keyof Fs>(["mkdtempSync", "mkdirSync", "openSync", "writeSync", "fsyncSync", "fchmodSync", "renameSync", "linkSync", "rmSync", "rmdirSync", "unlinkSync", "closeSync"]);

type SyncMode = "a fsync per file" | "one sync of the file system" | "the file system sync failing";
const SYNC_MODES: SyncMode[] = ["a fsync per file", "one sync of the file system", "the file system sync failing"];

/**
 * `node:fs` (and, in `mode`, the file system sync), but the n-th mutating call (0-based)
 * throws EIO; with `kill`, that call and every later one does. The options go to the change.
 */
function failingFs(at: number, kill = false, mode: SyncMode = "a fsync per file"): { fs: Fs; opts: ChangeOptions; calls: () => number } {
  let count = 0;
  let dead = false;
  const fail = (what: string): void => {
    if (dead || count++ === at) {
      if (kill) dead = true;
      throw Object.assign(new Error(`injected failure of ${what}`), { code: "EIO" });
    }
  };
  const seam = new Proxy(fs, {
    get(target, prop: string) {
      const real = (target as unknown as Record<string, unknown>)[prop];
      if (typeof real !== "function" || !MUTATING.has(prop as keyof Fs)) return real;
      return (...args: unknown[]) => {
        fail(prop);
        return (real as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as Fs;
  const syncFileSystem = (): void => {
    fail("syncfs");
    if (mode === "the file system sync failing") throw Object.assign(new Error("no syncfs"), { code: "ENOENT" });
  };
  const opts: ChangeOptions = mode === "a fsync per file" ? { fs: seam } : { fs: seam, syncFileSystem, batchSyncFrom: 1 };
  return { fs: seam, opts, calls: () => count };
}

const CASES = CHANGES.flatMap(([name, change]) => SYNC_MODES.map((mode): [string, SyncMode, AtomicChange] => [name, mode, change]));

function stagingDirs(root: string): string[] {
  return fs.readdirSync(root).filter((f) => f.startsWith(STAGING_PREFIX));
}

describe("applyAtomically", () => {
  it("writes, replaces and deletes, with each file's mode, creating parent directories, and leaves no staging directory", () => {
    const root = tree();
    applyAtomically(root, CHANGE);
    expect(fs.existsSync(join(root, "cluster/team1"))).toBe(false);
    expect(fs.readFileSync(join(root, "cluster/teams/kustomization.yaml"), "utf8")).toBe("resources: []\n");
    expect(fs.statSync(join(root, "cluster/new/deep/file.yaml")).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(join(root, "CODEOWNERS"), "utf8")).toBe("");
    expect(stagingDirs(root)).toEqual([]);
  });

  it("an empty change touches nothing", () => {
    const root = tree();
    const before = snapshot(root);
    applyAtomically(root, { writes: new Map(), deletes: [] });
    expect(snapshot(root)).toEqual(before);
  });

  it.each(CASES)("%s, %s: a failure at any step leaves the tree byte for byte and mode for mode as before (or, past the last step, as after)", (_name, mode, change) => {
    const after = expected(change);
    // Count the calls of a whole successful change, then fail each one in turn.
    const probe = failingFs(-1, false, mode);
    applyAtomically(tree(), change, probe.opts);
    const total = probe.calls();
    expect(total).toBeGreaterThan(change === CHANGE ? 30 : 10);
    let failedRuns = 0;
    for (let at = 0; at < total; at++) {
      const root = tree();
      const before = snapshot(root);
      let error: unknown;
      try {
        applyAtomically(root, change, failingFs(at, false, mode).opts);
      } catch (e) {
        error = e;
      }
      if (error === undefined) {
        // Only the clean-up after the change stands may fail silently: the next run removes what is left.
        recoverInterrupted(root);
        expect(snapshot(root), `call ${at}`).toEqual(after);
        continue;
      }
      failedRuns++;
      expect(error, `call ${at}`).toBeInstanceOf(ChangeFailedError);
      expect((error as ChangeFailedError).undone).toBe(true);
      expect((error as Error).message).toMatch(/failed \(EIO\); every change was undone, nothing changed$/);
      expect((error as Error).message).not.toContain("\n");
      expect(snapshot(root), `call ${at}`).toEqual(before);
    }
    expect(failedRuns).toBeGreaterThan(change === CHANGE ? 20 : 5);
  }, 60_000);

  it.each(CASES)("%s, %s: a process killed at any step: the next run's recovery puts everything back from the journal", (_name, mode, change) => {
    const after = expected(change);
    const probe = failingFs(-1, false, mode);
    applyAtomically(tree(), change, probe.opts);
    for (let at = 0; at < probe.calls(); at++) {
      const root = tree();
      const before = snapshot(root);
      let died = false;
      try {
        applyAtomically(root, change, failingFs(at, true, mode).opts);
      } catch {
        died = true;
      }
      const notes = recoverInterrupted(root);
      expect(stagingDirs(root), `call ${at}`).toEqual([]);
      const now = snapshot(root);
      if (died) {
        expect(now, `call ${at}: ${notes.join("; ")}`).toEqual(before);
      } else {
        expect(now, `call ${at}`).toEqual(after);
      }
    }
  }, 60_000);

  it(`a change of ${String(BATCH_SYNC_FROM)} files syncs the file system once (the real sync --file-system), not each file; when that fails, each file and directory is fsync-ed`, () => {
    const many: AtomicChange = { writes: new Map(Array.from({ length: BATCH_SYNC_FROM }, (_, i) => [`cluster/t${String(i)}/ns.yaml`, { content: `n: ${String(i)}\n`, mode: 0o644 }])), deletes: [] };
    const fsyncs = (opts: Omit<ChangeOptions, "fs">): number => {
      let count = 0;
      const seam = new Proxy(fs, {
        get(target, prop: string) {
          const real = (target as unknown as Record<string, unknown>)[prop] as (...a: unknown[]) => unknown;
          if (prop !== "fsyncSync") return real;
          return (...args: unknown[]) => {
            count++;
            return real.apply(target, args);
          };
        },
      }) as unknown as Fs;
      const root = tree();
      applyAtomically(root, many, { ...opts, fs: seam });
      expect(fs.readFileSync(join(root, "cluster/t7/ns.yaml"), "utf8")).toBe("n: 7\n");
      expect(stagingDirs(root)).toEqual([]);
      return count;
    };
    // The journal's writes (each fsync-ed with its directory) and the root after finishing.
    // With the real `sync --file-system` (where syncfs reports errors, as on the Linux this runs on; else each file is fsync-ed).
    if (syncfsReportsErrors()) expect(fsyncs({})).toBeLessThan(10);
    else expect(fsyncs({})).toBeGreaterThanOrEqual(2 * BATCH_SYNC_FROM);
    let synced: string[] = [];
    expect(
      fsyncs({
        syncFileSystem: (dir) => {
          synced.push(dir);
        },
      }),
    ).toBeLessThan(10);
    expect(synced.map((d) => relative(base, d).split(sep).length)).toEqual([2, 1]); // the staging directory in the tree, then the tree
    synced = [];
    const fallback = fsyncs({
      syncFileSystem: () => {
        throw new Error("no syncfs");
      },
    });
    expect(fallback).toBeGreaterThanOrEqual(2 * BATCH_SYNC_FROM); // every staged file, every touched directory
  });

  it("syncs the file system only where syncfs reports write-back errors (Linux 5.8 on); elsewhere each file is fsync-ed", () => {
    expect(syncfsReportsErrors("linux", "6.18.44-fc-v1147")).toBe(true);
    expect(syncfsReportsErrors("linux", "5.8.0")).toBe(true);
    expect(syncfsReportsErrors("linux", "5.4.0-150-generic")).toBe(false);
    expect(syncfsReportsErrors("linux", "4.18.0-553.el8_10.x86_64")).toBe(false);
    expect(syncfsReportsErrors("darwin", "23.1.0")).toBe(false);
    expect(syncfsReportsErrors("linux", "")).toBe(false);
  });

  it("a directory in the way of a file: one line naming it, the tree as before (a real failure)", () => {
    const root = tree();
    fs.mkdirSync(join(root, "CODEOWNERS.d"));
    fs.rmSync(join(root, "CODEOWNERS"));
    fs.mkdirSync(join(root, "CODEOWNERS"));
    fs.writeFileSync(join(root, "CODEOWNERS/keep"), "mine");
    const before = snapshot(root);
    expect(() => {
      applyAtomically(root, CHANGE, { what: "delete team team1" });
    }).toThrow(/^cannot delete team team1: writing CODEOWNERS failed \(EISDIR: a directory is in the way\); every change was undone, nothing changed$/);
    expect(snapshot(root)).toEqual(before);
  });

  it("an undo that cannot finish says where the journal is, and the next run finishes it", () => {
    const root = tree();
    const before = snapshot(root);
    const tx = beginChange(root, CHANGE);
    // Someone puts a non-empty directory where the overlay must come back.
    fs.mkdirSync(join(root, "cluster/team1/x"), { recursive: true });
    fs.writeFileSync(join(root, "cluster/team1/x/f"), "");
    expect(() => {
      tx.undo();
    }).toThrow(/undoing the change of .* failed for delete cluster\/team1 .*the journal in \.tenantry-staging-\w+ keeps the old files/);
    expect(() => recoverInterrupted(root)).toThrow(/undoing the interrupted tenantry run in \.tenantry-staging-\w+ failed for delete cluster\/team1/);
    fs.rmSync(join(root, "cluster/team1"), { recursive: true });
    expect(recoverInterrupted(root)).toEqual([expect.stringMatching(/^undid an interrupted tenantry run/)]);
    expect(snapshot(root)).toEqual(before);
  });
});

describe("recoverInterrupted", () => {
  it("refuses a staging directory whose process still runs", () => {
    const root = tree();
    const dir = join(root, `${STAGING_PREFIX}live`);
    fs.mkdirSync(dir);
    // pid 1 always runs.
    fs.writeFileSync(join(dir, "journal.json"), JSON.stringify({ tool: "tenantry", version: 1, pid: 1, host: hostname(), started: "2024-01-01T00:00:00Z", state: "applying", steps: [] }));
    expect(() => recoverInterrupted(root)).toThrow(/^another tenantry \(pid 1 on .*\) is changing .*: wait for it to finish, or remove \.tenantry-staging-live if that process is gone$/);
  });

  it("removes an empty staging directory, and refuses one without a journal that holds files", () => {
    const root = tree();
    fs.mkdirSync(join(root, `${STAGING_PREFIX}empty`));
    expect(recoverInterrupted(root)).toEqual([`removed ${STAGING_PREFIX}empty, left empty by an interrupted tenantry run`]);
    fs.mkdirSync(join(root, `${STAGING_PREFIX}old`));
    fs.writeFileSync(join(root, `${STAGING_PREFIX}old`, "deleted-0"), "x");
    expect(() => recoverInterrupted(root)).toThrow(/^\.tenantry-staging-old is left by an interrupted tenantry run that kept no journal: compare it with git status/);
  });

  it("keeps a change whose commit landed (HEAD moved), undoes one whose commit did not", () => {
    for (const landed of [true, false]) {
      const root = tree();
      const before = snapshot(root);
      const killed = failingFs(1_000_000, true);
      const tx = beginChange(root, CHANGE, { fs: killed.fs });
      tx.committing("abc");
      // the process dies here
      const notes = recoverInterrupted(root, { committed: (head) => head === "abc" && landed });
      expect(notes[0]).toMatch(landed ? /its change was complete/ : /^undid an interrupted tenantry run/);
      if (landed) expect(snapshot(root)).toEqual(expected(CHANGE));
      else expect(snapshot(root)).toEqual(before);
    }
  });
});

describe("snapshotFiles and restoreSnapshot", () => {
  it("put files back with their bytes and modes, and remove those that did not exist", () => {
    const root = tree();
    const before = snapshot(root);
    const snap = snapshotFiles(root, ["cluster/team1/quota.yaml", "scripts/run.sh", "cluster/team1/new.pub"]);
    applyAtomically(root, {
      writes: new Map([
        ["cluster/team1/quota.yaml", { content: "changed", mode: 0o644 }],
        ["cluster/team1/new.pub", { content: "ssh-ed25519 AAAA", mode: 0o644 }],
      ]),
      deletes: ["scripts/run.sh"],
    });
    restoreSnapshot(root, snap);
    expect(snapshot(root)).toEqual(before);
  });
});
