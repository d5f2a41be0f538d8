// Writing one file so that it is never seen half-written, and a credential so that it is
// never readable by others, not even for a moment. Every writer of a single file goes
// through here; changes to several files of a repo are repo/changes.ts's job.
//
// Hand-written on purpose: write-file-atomic (the library for this) names its temporary
// file predictably, opens it without O_EXCL (following a planted symlink) and copies the old
// file's owner, so anyone who can write to the directory could receive the secret. Here the
// temporary file has a random name and is created with O_CREAT|O_EXCL|O_NOFOLLOW and the
// final mode, then written, fsync-ed and renamed over the target (or linked, to never replace),
// and the directory fsync-ed so the new name survives a crash. The old file is never opened
// for writing: a write that fails (a full disk, the file-size limit) leaves it whole.

import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ExitCode, TenantryError } from "./errors.js";

export const PRIVATE_MODE = 0o600;

export interface WriteOptions {
  /** The file's mode from its first byte (default 0644). */
  readonly mode?: number;
  /** A symlink at `file` is followed and its target replaced (a person's kubeconfig); otherwise the link itself is replaced. */
  readonly followSymlink?: boolean;
  /** Fail (EEXIST) when `file` exists, instead of replacing it; atomic, no window. */
  readonly noClobber?: boolean;
}

function fail(file: string, e: unknown): TenantryError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === "EEXIST" ? "it exists (created meanwhile?)" : err.message;
  return new TenantryError(`cannot write ${file}: ${why}`, ExitCode.failure);
}

/** The file a write replaces: `file`, or with followSymlink the end of its symlink chain. */
function destination(file: string, followSymlink: boolean): string {
  if (!followSymlink) return file;
  try {
    if (lstatSync(file).isSymbolicLink()) return realpathSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return file;
}

/** Makes a rename or link in `dir` durable. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A new file next to `target` with a random name, holding `text`, created exclusively with `mode`. */
function writeTemp(target: string, text: string, mode: number): string {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(8).toString("hex")}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed it; never wider than asked
    const bytes = Buffer.from(text, "utf8");
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw e;
  }
  closeSync(fd);
  return temp;
}

/** Replaces `file` with `text` atomically (see the top). */
export function writeFileAtomically(file: string, text: string, opts: WriteOptions = {}): void {
  let target = file;
  let temp: string | undefined;
  try {
    target = destination(file, opts.followSymlink === true);
    temp = writeTemp(target, text, opts.mode ?? 0o644);
    if (opts.noClobber === true) {
      linkSync(temp, target);
      rmSync(temp, { force: true });
    } else {
      renameSync(temp, target);
    }
    temp = undefined;
    fsyncDir(dirname(target));
  } catch (e) {
    if (temp !== undefined) rmSync(temp, { force: true });
    throw fail(target, e);
  }
}

/** A credential (private key, kubeconfig): mode 0600 from the first byte, replaced atomically. */
export function writePrivateFile(file: string, text: string, opts: Omit<WriteOptions, "mode"> = {}): void {
  writeFileAtomically(file, text, { ...opts, mode: PRIVATE_MODE });
}

/** A file written beside its destination, moved there by `commit()` or dropped by `discard()`. */
export interface Staged {
  commit(): void;
  discard(): void;
}

/** Stages `content` for `dest`: written now (next to it), in place only on commit. */
export function stageFile(dest: string, content: string, mode = 0o644): Staged {
  let temp: string;
  try {
    mkdirSync(dirname(dest), { recursive: true });
    temp = writeTemp(dest, content, mode);
  } catch (e) {
    throw fail(dest, e);
  }
  return {
    commit: () => {
      renameSync(temp, dest);
      fsyncDir(dirname(dest));
    },
    discard: () => {
      rmSync(temp, { force: true });
    },
  };
}
