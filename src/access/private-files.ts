// Writing credentials to disk: never readable by others, not even for a moment.

import { closeSync, existsSync, fchmodSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { ExitCode, TenantryError } from "../errors.js";

const PRIVATE = 0o600;

function fail(file: string, e: unknown): TenantryError {
  return new TenantryError(`cannot write ${file}: ${(e as Error).message}`, ExitCode.failure);
}

/** Writes `text` to `file` with mode 0600; an existing file is chmod-ed before it gets the secret. */
export function writePrivateFile(file: string, text: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, "w", PRIVATE);
    fchmodSync(fd, PRIVATE);
    writeSync(fd, text);
  } catch (e) {
    throw fail(file, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Replaces `file` atomically (a 0600 temp file next to it, then rename), so a crash never
 * leaves a half-written kubeconfig. A symlinked kubeconfig keeps its link: the target is replaced.
 */
export function replaceAtomically(file: string, text: string): void {
  const target = existsSync(file) && lstatSync(file).isSymbolicLink() ? realpathSync(file) : file;
  const temp = join(dirname(target), `.${basename(target)}.tenantry-${process.pid}-${Date.now().toString(36)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, "wx", PRIVATE);
    fchmodSync(fd, PRIVATE);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw fail(target, e);
  }
}

/** The kubeconfig `tenantry ctx` edits: --kubeconfig, else the first of $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return flag;
  const first = (env.KUBECONFIG ?? "").split(delimiter).find((f) => f !== "");
  return first ?? join(homedir(), ".kube", "config");
}
