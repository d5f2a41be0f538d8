// All-or-nothing changes to several files of a directory tree (an admin repo), with a journal
// so that a run killed half-way is undone by the next one.
//
//   stage    every new file is written, fsync-ed and given its mode in a staging directory
//            `.tenantry-staging-<random>` inside the root (same file system: renames are atomic);
//            a change of many files (create-team --from) is made durable by one syncfs(2) of
//            the file system instead of a fsync per file (0.4 ms each here), falling back to
//            the fsyncs when that cannot be done;
//   apply    step by step, each recorded in the journal (fsync-ed) before it is done:
//              mkdir   a parent directory that did not exist
//              delete  the path is renamed into the staging directory (kept as its backup)
//              replace the old file is hard-linked into the staging directory (its backup,
//                      same inode: same bytes and mode), then the new one renamed over it
//              create  the new file is renamed into place
//            then every touched directory is fsync-ed (or, for many, the file system synced);
//   finish   the journal says done and the staging directory (the backups) is removed.
//
// Any failure while applying undoes every step already done, newest first (backups renamed
// back, created files and directories removed): the tree is as it was, byte for byte and mode
// for mode. A process killed meanwhile leaves the staging directory and its journal; the next
// run's `recoverInterrupted` undoes it the same way (or, when the journal says the change was
// committed to git, keeps it), and refuses a staging directory whose process is still alive.
// Callers that commit (repo/commit.ts) keep the backups until the commit has landed.

import * as nodeFs from "node:fs";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hostname, release as osRelease } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { ExitCode, TenantryError } from "../errors.js";

export const STAGING_PREFIX = ".tenantry-staging-";
const JOURNAL = "journal.json";
/** A staging directory renamed so once its change is final: the next run removes it, nothing else. */
const DONE_SUFFIX = ".done";

/** The file system calls this module makes: the real `node:fs`, or a test's seam that fails on cue. */
export type Fs = Pick<
  typeof nodeFs,
  | "closeSync"
  | "fchmodSync"
  | "fsyncSync"
  | "linkSync"
  | "lstatSync"
  | "mkdirSync"
  | "mkdtempSync"
  | "openSync"
  | "readdirSync"
  | "readFileSync"
  | "renameSync"
  | "rmdirSync"
  | "rmSync"
  | "unlinkSync"
  | "writeSync"
>;

/**
 * Flushes everything written to the file system holding `dir` (syncfs(2)); throws when it
 * cannot. The default runs coreutils' `sync --file-system`, Node having no syncfs.
 */
export type SyncFileSystem = (dir: string) => void;

/**
 * Whether syncfs(2) reports write-back errors: Linux from 5.8 (before, it returned 0 even when
 * writing failed). Elsewhere `sync` ignores its arguments and does not wait: never used there.
 */
export function syncfsReportsErrors(platform: string = process.platform, release: string = osRelease()): boolean {
  if (platform !== "linux") return false;
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  return major > 5 || (major === 5 && minor >= 8);
}

function syncFileSystem(dir: string): void {
  if (!syncfsReportsErrors()) throw new Error("no syncfs that reports errors here");
  execFileSync("sync", ["--file-system", dir], { stdio: "ignore", timeout: 300_000 });
}

/** From this many files (or touched directories) a change syncs the file system once instead of each. */
export const BATCH_SYNC_FROM = 64;

export interface FileWrite {
  readonly content: string | Uint8Array;
  /** The file's mode from its first byte. */
  readonly mode: number;
}

export interface AtomicChange {
  /** Files to create or replace, by root-relative path. */
  readonly writes: ReadonlyMap<string, FileWrite>;
  /** Root-relative files or directories to remove (absent ones are skipped). */
  readonly deletes: readonly string[];
}

type Step =
  | { readonly op: "mkdir"; readonly path: string }
  | { readonly op: "delete"; readonly path: string; readonly backup: string }
  | { readonly op: "replace"; readonly path: string; readonly backup: string; readonly staged: string }
  | { readonly op: "create"; readonly path: string; readonly staged: string };

type State = "applying" | "committing" | "done";

interface Journal {
  readonly tool: "tenantry";
  readonly version: 1;
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  state: State;
  /** While committing: git's HEAD before the commit ("" when the repo had none). */
  head?: string;
  readonly steps: Step[];
}

/** A change that failed; what was done is undone (or the message says what is left and where). */
export class ChangeFailedError extends TenantryError {
  override readonly name = "ChangeFailedError";
  constructor(
    message: string,
    /** Whether the tree is back as it was. */
    readonly undone: boolean,
  ) {
    super(message, ExitCode.failure);
  }
}

/** A short reason for an errno failure, with what usually causes it. */
export function errnoReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    EFBIG: "file too large: the file-size limit (ulimit -f) was reached",
    ENOSPC: "no space left on the device",
    EDQUOT: "the disk quota is exhausted",
    EROFS: "the file system is read-only",
    EACCES: "permission denied",
    EPERM: "operation not permitted (a read-only or immutable file or directory?)",
    ENOTEMPTY: "a non-empty directory is in the way",
    EISDIR: "a directory is in the way",
    ENOTDIR: "a file is in the way of a directory",
    EEXIST: "something is in the way",
  };
  const code = err.code;
  if (code !== undefined && why[code] !== undefined) return `${code}: ${why[code]}`;
  return code ?? (err.message || String(e));
}

/** fsync of a directory, or of a file already written. */
function fsyncPath(fs: Fs, dir: string): void {
  const fd = fs.openSync(dir, nodeFs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `text` to a new file `file` (created exclusively, never through a symlink) with `mode`, fsync-ed unless `sync` is false. */
function writeNew(fs: Fs, file: string, text: string | Uint8Array, mode: number, sync = true): void {
  const fd = fs.openSync(file, nodeFs.constants.O_WRONLY | nodeFs.constants.O_CREAT | nodeFs.constants.O_EXCL | nodeFs.constants.O_NOFOLLOW, mode);
  try {
    fs.fchmodSync(fd, mode); // the umask may have narrowed it
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes `files` and `dirs` durable: one sync of the file system, or, when that fails, a fsync of each. */
function syncAll(fs: Fs, sync: SyncFileSystem, dir: string, files: readonly string[], dirs: Iterable<string>): void {
  try {
    sync(dir);
    return;
  } catch {
    // no syncfs here (another platform, no coreutils): the fsyncs say what failed, if anything
  }
  for (const f of files) fsyncPath(fs, f);
  for (const d of dirs) fsyncPath(fs, d);
}

function writeJournal(fs: Fs, staging: string, journal: Journal): void {
  const temp = join(staging, `${JOURNAL}.${randomBytes(4).toString("hex")}`);
  writeNew(fs, temp, `${JSON.stringify(journal, null, 1)}\n`, 0o600);
  fs.renameSync(temp, join(staging, JOURNAL));
  fsyncPath(fs, staging);
}

function exists(fs: Fs, path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/** The parent directories of `path` (root-relative) that do not exist, outermost first. */
/** The parents of `path` that do not exist yet (`gone`: also those this change makes or removes), outermost first. */
function missingParents(fs: Fs, root: string, path: string, gone: (dir: string) => boolean): string[] {
  const missing: string[] = [];
  for (let dir = dirname(path); dir !== "." && dir !== "" && (gone(dir) || !exists(fs, join(root, dir))); dir = dirname(dir)) missing.unshift(dir);
  return missing;
}

/** Undoes `steps` newest first; returns the steps that could not be undone, with why. */
function undoSteps(fs: Fs, root: string, staging: string, steps: readonly Step[]): string[] {
  const left: string[] = [];
  const touched = new Set<string>();
  for (const step of [...steps].reverse()) {
    const target = join(root, step.path);
    try {
      switch (step.op) {
        case "delete":
          // Whatever took the path meanwhile is never removed: the rename fails instead, and says so.
          if (exists(fs, join(staging, step.backup))) fs.renameSync(join(staging, step.backup), target);
          break;
        case "replace":
          // The backup is the old file's own inode: renaming it back restores bytes and mode.
          if (exists(fs, join(staging, step.backup))) fs.renameSync(join(staging, step.backup), target);
          break;
        case "create":
          // Not yet moved into place while the staged copy is still there.
          if (!exists(fs, join(staging, step.staged)) && exists(fs, target)) fs.unlinkSync(target);
          break;
        case "mkdir": {
          // A directory made where one was deleted: while the deleted one's backup is not in
          // staging, the delete was never done and the directory there is the original.
          const deleted = steps.find((d) => d.op === "delete" && d.path === step.path);
          const ours = deleted === undefined || (deleted.op === "delete" && exists(fs, join(staging, deleted.backup)));
          if (ours && exists(fs, target)) fs.rmdirSync(target);
          break;
        }
      }
      touched.add(dirname(target));
    } catch (e) {
      left.push(`${step.op} ${step.path} (${errnoReason(e)})`);
    }
  }
  for (const dir of touched) {
    try {
      fsyncPath(fs, dir);
    } catch {
      // The undo itself is done; durability of a directory that may be gone is best effort.
    }
  }
  return left;
}

function readJournal(fs: Fs, staging: string): Journal | null {
  let text: string;
  try {
    text = fs.readFileSync(join(staging, JOURNAL), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const j = JSON.parse(text) as Partial<Record<keyof Journal, unknown>>;
  if (j.tool !== "tenantry" || !Array.isArray(j.steps) || typeof j.pid !== "number") throw new Error("not a tenantry journal");
  return j as unknown as Journal;
}

function alive(pid: number, host: string): boolean {
  if (host !== hostname()) return true; // another machine's process: cannot tell, assume it runs
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function display(root: string, path: string): string {
  return relative(root, path).split(sep).join("/") || ".";
}

/**
 * Finds staging directories left in `root` by an interrupted run and undoes them (or, when
 * `committed(head)` says the journal's commit landed, keeps the change and drops the
 * backups). Returns one line per directory handled. Throws one line when a staging directory
 * belongs to a process still running, has no journal but holds files, or cannot be undone.
 */
export function recoverInterrupted(root: string, opts: { fs?: Fs; committed?: (head: string) => boolean } = {}): string[] {
  const fs = opts.fs ?? nodeFs;
  let names: string[];
  try {
    names = fs.readdirSync(root).filter((n) => n.startsWith(STAGING_PREFIX));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const notes: string[] = [];
  for (const name of names.sort()) {
    const staging = join(root, name);
    const shown = display(root, staging);
    if (name.endsWith(DONE_SUFFIX)) {
      fs.rmSync(staging, { recursive: true, force: true });
      notes.push(`removed ${shown}, left by a tenantry run whose change was complete`);
      continue;
    }
    let journal: Journal | null;
    try {
      journal = readJournal(fs, staging);
    } catch (e) {
      throw new ChangeFailedError(`${shown} is left by an interrupted tenantry run and its journal is unreadable (${(e as Error).message}): compare it with git status, restore what you need from it, then remove it`, false);
    }
    if (journal === null) {
      // Before its first journal, a run has only (maybe) begun writing that journal: nothing else happened.
      const entries = fs.readdirSync(staging);
      if (entries.every((e) => e.startsWith(`${JOURNAL}.`))) {
        fs.rmSync(staging, { recursive: true, force: true });
        notes.push(`removed ${shown}, left empty by an interrupted tenantry run`);
        continue;
      }
      throw new ChangeFailedError(`${shown} is left by an interrupted tenantry run that kept no journal: compare it with git status, restore what you need from it, then remove it`, false);
    }
    if (alive(journal.pid, journal.host)) {
      throw new ChangeFailedError(`another tenantry (pid ${journal.pid} on ${journal.host}, since ${journal.started}) is changing ${root} (${shown}): wait for it to finish, or remove ${shown} if that process is gone`, false);
    }
    const landed = journal.state === "done" || (journal.state === "committing" && journal.head !== undefined && opts.committed?.(journal.head) === true);
    if (landed) {
      fs.rmSync(staging, { recursive: true, force: true });
      notes.push(`finished an interrupted tenantry run (pid ${journal.pid}): its change was complete; removed ${shown}`);
      continue;
    }
    const left = undoSteps(fs, root, staging, journal.steps);
    if (left.length > 0) {
      throw new ChangeFailedError(`undoing the interrupted tenantry run in ${shown} failed for ${left.join(", ")}: fix that, then run tenantry again to finish undoing it`, false);
    }
    fs.rmSync(staging, { recursive: true, force: true });
    notes.push(`undid an interrupted tenantry run (pid ${journal.pid}, ${journal.steps.length} step${journal.steps.length === 1 ? "" : "s"}): the files are as before it`);
  }
  return notes;
}

/** An applied change whose backups are kept until `finish()`, or undone by `undo()`. */
export interface Transaction {
  readonly root: string;
  /** Records that a git commit is about to be made on top of `head` ("" for none): recovery keeps the change if HEAD moved. */
  committing(head: string): void;
  /** The change is final: the backups go. */
  finish(): void;
  /** Puts every path back as it was; throws ChangeFailedError when something could not be. */
  undo(): void;
}

export interface ChangeOptions {
  readonly fs?: Fs;
  readonly what?: string;
  /** How the file system is synced for a change of many files (tests inject failures). */
  readonly syncFileSystem?: SyncFileSystem;
  /** From how many files the file system is synced once (BATCH_SYNC_FROM). */
  readonly batchSyncFrom?: number;
}

/**
 * Applies `change` to `root` all or nothing (see the top) and returns the transaction, to be
 * finished or undone by the caller; on failure everything is undone and a ChangeFailedError
 * names the step. An empty change touches nothing.
 */
export function beginChange(root: string, change: AtomicChange, opts: ChangeOptions = {}): Transaction {
  const fs = opts.fs ?? nodeFs;
  const sync = opts.syncFileSystem ?? syncFileSystem;
  const batchFrom = opts.batchSyncFrom ?? BATCH_SYNC_FROM;
  const what = opts.what ?? `change ${root}`;
  if (change.writes.size === 0 && change.deletes.length === 0) {
    return { root, committing: () => undefined, finish: () => undefined, undo: () => undefined };
  }
  let stagingDir: string | undefined;
  const failed = (where: string, e: unknown, left: readonly string[]): ChangeFailedError =>
    left.length === 0
      ? new ChangeFailedError(`cannot ${what}: ${where} failed (${errnoReason(e)}); every change was undone, nothing changed`, true)
      : new ChangeFailedError(
          `cannot ${what}: ${where} failed (${errnoReason(e)}), and undoing ${left.join(", ")} failed too: the journal in ${display(root, stagingDir ?? root)} keeps the old files; fix that, then run tenantry again to finish undoing`,
          false,
        );

  try {
    stagingDir = fs.mkdtempSync(join(root, STAGING_PREFIX));
  } catch (e) {
    throw failed(`creating a staging directory in ${root}`, e, []);
  }
  const staging = stagingDir;
  const journal: Journal = { tool: "tenantry", version: 1, pid: process.pid, host: hostname(), started: new Date().toISOString(), state: "applying", steps: [] };
  const dropStaging = (): void => {
    fs.rmSync(staging, { recursive: true, force: true });
  };

  // stage: nothing in the tree is touched yet; a failure only removes the staging directory.
  const staged = new Map<string, string>();
  let where = "writing the journal";
  try {
    writeJournal(fs, staging, journal);
    const batch = change.writes.size >= batchFrom;
    let i = 0;
    for (const [path, w] of change.writes) {
      where = `writing ${path}`;
      const name = `new-${i++}`;
      writeNew(fs, join(staging, name), w.content, w.mode, !batch);
      staged.set(path, name);
    }
    if (batch) {
      where = `syncing the ${String(staged.size)} staged files`;
      syncAll(fs, sync, staging, [...staged.values()].map((n) => join(staging, n)), [staging]);
    }
  } catch (e) {
    try {
      dropStaging();
    } catch {
      // a leftover staging directory without steps is undone by the next run
    }
    throw failed(where, e, []);
  }

  // apply: every step is journaled before any is done, in one write (undoSteps skips a step
  // that was journaled but not done: its backup or staged file says which), then done in order.
  const steps: Step[] = [];
  /** What each step is part of, for the message when it fails: a directory is made for a file. */
  const purpose: string[] = [];
  const made = new Set<string>();
  let b = 0;
  for (const path of change.deletes) {
    if (!exists(fs, join(root, path))) continue;
    steps.push({ op: "delete", path, backup: `old-${b++}` });
    purpose.push(`removing ${path}`);
  }
  const deleted = (p: string): boolean => change.deletes.some((d) => p === d || p.startsWith(`${d}/`));
  for (const [path, name] of staged) {
    for (const dir of missingParents(fs, root, path, (d) => made.has(d) || deleted(d))) {
      if (made.has(dir)) continue;
      made.add(dir);
      steps.push({ op: "mkdir", path: dir });
      purpose.push(`writing ${path}`);
    }
    const there = !deleted(path) && exists(fs, join(root, path));
    steps.push(there ? { op: "replace", path, backup: `old-${b++}`, staged: name } : { op: "create", path, staged: name });
    purpose.push(`writing ${path}`);
  }
  const touched = new Set<string>([root]);
  try {
    where = "writing the journal";
    journal.steps.push(...steps);
    writeJournal(fs, staging, journal);
    for (const [i, step] of steps.entries()) {
      const target = join(root, step.path);
      where = purpose[i] ?? step.path;
      switch (step.op) {
        case "delete":
          fs.renameSync(target, join(staging, step.backup));
          break;
        case "mkdir":
          fs.mkdirSync(target);
          break;
        case "replace":
          if (fs.lstatSync(target).isDirectory()) throw Object.assign(new Error(`${step.path} is a directory`), { code: "EISDIR" });
          fs.linkSync(target, join(staging, step.backup));
          fs.renameSync(join(staging, step.staged), target);
          break;
        case "create":
          fs.renameSync(join(staging, step.staged), target);
          break;
      }
      touched.add(dirname(target));
    }
    where = "syncing the directories";
    if (touched.size >= batchFrom) syncAll(fs, sync, root, [], touched);
    else for (const dir of touched) fsyncPath(fs, dir);
  } catch (e) {
    const left = undoSteps(fs, root, staging, journal.steps);
    if (left.length === 0) {
      try {
        dropStaging();
      } catch {
        // everything is back; a leftover directory is cleaned by the next run (its journal undoes nothing twice)
      }
    }
    throw failed(where, e, left);
  }

  let open = true;
  return {
    root,
    committing: (head: string) => {
      journal.state = "committing";
      journal.head = head;
      writeJournal(fs, staging, journal);
    },
    finish: () => {
      if (!open) return;
      open = false;
      // One rename marks the change final: a staging directory named *.done is only rubbish.
      const done = `${staging}${DONE_SUFFIX}`;
      try {
        fs.renameSync(staging, done);
      } catch (e) {
        // A committed change stands (recovery sees HEAD moved); any other is undone, or the next run would.
        if (journal.state === "committing") return;
        const left = undoSteps(fs, root, staging, journal.steps);
        if (left.length === 0) {
          try {
            dropStaging();
          } catch {
            // nothing to undo twice: the next run removes it
          }
        }
        throw failed("finishing", e, left);
      }
      try {
        fs.rmSync(done, { recursive: true, force: true });
        fsyncPath(fs, root);
      } catch {
        // The change stands; the next run removes the rest.
      }
    },
    undo: () => {
      if (!open) return;
      open = false;
      const left = undoSteps(fs, root, staging, journal.steps);
      if (left.length > 0) {
        throw new ChangeFailedError(`undoing the change of ${root} failed for ${left.join(", ")}: the journal in ${display(root, staging)} keeps the old files; fix that, then run tenantry again to finish undoing`, false);
      }
      dropStaging();
    },
  };
}

/** The bytes and mode of each root-relative path (null: absent), to be put back by `restoreSnapshot`. */
export type Snapshot = ReadonlyMap<string, FileWrite | null>;

export function snapshotFiles(root: string, paths: readonly string[], fs: Fs = nodeFs): Snapshot {
  const snap = new Map<string, FileWrite | null>();
  for (const p of paths) {
    try {
      const mode = fs.lstatSync(join(root, p)).mode & 0o7777;
      snap.set(p, { content: fs.readFileSync(join(root, p)), mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      snap.set(p, null);
    }
  }
  return snap;
}

/** Puts the files of `snap` back as they were, all or nothing. */
export function restoreSnapshot(root: string, snap: Snapshot, opts: ChangeOptions = {}): void {
  const writes = new Map<string, FileWrite>();
  const deletes: string[] = [];
  for (const [p, w] of snap) {
    if (w === null) deletes.push(p);
    else writes.set(p, w);
  }
  applyAtomically(root, { writes, deletes }, opts);
}

/** Applies `change` to `root` all or nothing, and finishes it. */
export function applyAtomically(root: string, change: AtomicChange, opts: ChangeOptions = {}): void {
  beginChange(root, change, opts).finish();
}
