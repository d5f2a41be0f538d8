// Writing one file so that it is never seen half-written, and a credential so that it is
// never readable by others, not even for a moment: write-file-atomic (a temporary file next
// to the target, created with the final mode, fsync-ed, then renamed over it; a symlink's
// target is replaced, the link kept). Every writer of a single file goes through here.
// Changes to several files of a repo are repo/changes.ts's job.

import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { ExitCode, TenantryError } from "./errors.js";

export const PRIVATE_MODE = 0o600;

/** Replaces `file` with `text` atomically, with `mode` (a private file: PRIVATE_MODE). */
export function writeFileAtomically(file: string, text: string, mode = 0o644): void {
  try {
    writeFileAtomic.sync(file, text, { mode, fsync: true });
  } catch (e) {
    throw new TenantryError(`cannot write ${file}: ${(e as Error).message}`, ExitCode.failure);
  }
}

/** A credential (private key, kubeconfig): mode 0600 from the first byte, replaced atomically. */
export function writePrivateFile(file: string, text: string): void {
  writeFileAtomically(file, text, PRIVATE_MODE);
}

/** A file written beside its destination, moved there by `commit()` or dropped by `discard()`. */
export interface Staged {
  commit(): void;
  discard(): void;
}

/** Stages `content` for `dest`: written now (atomically, next to it), in place only on commit. */
export function stageFile(dest: string, content: string, mode = 0o644): Staged {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.tenantry-${String(process.pid)}-${Date.now().toString(36)}.tmp`);
  writeFileAtomically(tmp, content, mode);
  return {
    commit: () => {
      renameSync(tmp, dest);
    },
    discard: () => {
      rmSync(tmp, { force: true });
    },
  };
}
