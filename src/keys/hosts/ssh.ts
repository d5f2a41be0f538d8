// A plain SSH git server: deploy keys are lines of the git user's authorized_keys, each
// forced to `git-upload-pack '<repo>'` (see keys/authorized-keys.ts). The file is rewritten
// whole (temp file + rename) and keeps its owner and mode, since sshd reads it as the git
// user and, with StrictModes, refuses one that others may write.

import { chownSync, readFileSync, renameSync, statSync, writeFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ExitCode, TenantryError, ValidationError } from "../../errors.js";
import { appendLine, authorizedKeysLine, parseAuthorizedKeys, removeKeyLines, repoPathProblems, titleProblems } from "../authorized-keys.js";
import { parsePublicKey } from "../../model/ssh-key.js";
import type { DeployKey, HostAdapter } from "./types.js";

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new TenantryError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.failure);
  }
}

function writeText(file: string, text: string): void {
  let owner: { uid: number; gid: number; mode: number };
  try {
    const s = statSync(file);
    owner = { uid: s.uid, gid: s.gid, mode: s.mode & 0o777 };
  } catch {
    const d = statSync(dirname(file));
    owner = { uid: d.uid, gid: d.gid, mode: 0o600 };
  }
  const tmp = join(dirname(file), `.${basename(file)}.tenantry-${process.pid}`);
  try {
    writeFileSync(tmp, text, { mode: owner.mode });
    if (process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TenantryError(`cannot write ${file}: ${(e as Error).message}: check that the file and its directory are writable`, ExitCode.failure);
  }
}

export function sshAdapter(opts: { authorizedKeys: string; repoPath: string }): HostAdapter {
  const file = opts.authorizedKeys;
  const problems = repoPathProblems(opts.repoPath);
  if (problems.length > 0) throw new ValidationError(problems);
  const toKey = (k: ReturnType<typeof parseAuthorizedKeys>[number]): DeployKey => ({
    id: k.fingerprint,
    title: k.comment,
    key: k.key,
    fingerprint: k.fingerprint,
    readOnly: k.readOnlyRepo !== null,
  });
  return {
    kind: "ssh",
    where: `ssh ${file}`,
    spec: { kind: "ssh", repo: opts.repoPath, authorizedKeys: file },
    list() {
      return Promise.resolve(parseAuthorizedKeys(readText(file)).map(toKey));
    },
    add(title, key) {
      const t = titleProblems(title);
      if (t.length > 0) throw new ValidationError(t);
      const parsed = parsePublicKey(key);
      if (parsed === null) throw new ValidationError([`not an SSH public key: ${key.slice(0, 40)}`]);
      const line = authorizedKeysLine(parsed.key, opts.repoPath, title);
      writeText(file, appendLine(removeKeyLines(readText(file), parsed.fingerprint), line));
      const added = parseAuthorizedKeys(line)[0];
      if (added === undefined) throw new TenantryError(`internal: the authorized_keys line for ${title} does not parse`, ExitCode.failure);
      return Promise.resolve(toKey(added));
    },
    remove(key) {
      writeText(file, removeKeyLines(readText(file), key.fingerprint));
      return Promise.resolve();
    },
  };
}
