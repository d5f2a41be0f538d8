// `tenantry secrets encrypt FILE` (team side, in a checkout of the team's repo): FILE encrypted in
// place for the recipients of the nearest .sops.yaml, by sops' own code in tenantry-build-sops
// (no sops CLI needed, no hand-written crypto). The plaintext is read once and replaced whole
// (a temporary file beside it, then a rename); nothing of it is printed.

import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { sopsEncrypt } from "../build/service.js";
import { ExitCode, TenantryError } from "../errors.js";
import { SOPS_CONFIG } from "./sops-config.js";

/** The .sops.yaml that governs `file`: the nearest one in its directory or above, up to the repo's top (.git). */
export function sopsConfigFor(file: string): string | null {
  let dir = dirname(file);
  for (;;) {
    const candidate = join(dir, SOPS_CONFIG);
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, ".git"))) return null;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export interface Encrypted {
  readonly file: string;
  readonly config: string;
}

/**
 * Encrypts every file, then writes them: a file that cannot be encrypted (no .sops.yaml, a rule
 * naming another kind of key, already encrypted) stops the run before any file is replaced.
 */
export async function encryptFiles(paths: readonly string[]): Promise<Encrypted[]> {
  const planned: { file: string; config: string; text: string; mode: number }[] = [];
  for (const path of paths) {
    const file = resolve(path);
    const st = statSync(file, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile()) throw new TenantryError(`${path} is not a file: name the file to encrypt`, ExitCode.invalid);
    const config = sopsConfigFor(file);
    if (config === null) throw new TenantryError(`no ${SOPS_CONFIG} governs ${path}: run it inside the team's repo, whose ${SOPS_CONFIG} \`tenantry secrets init <team> --team-repo-dir\` writes`, ExitCode.invalid);
    planned.push({ file, config, text: await sopsEncrypt(file, readFileSync(file, "utf8"), config), mode: st.mode & 0o777 });
  }
  for (const p of planned) {
    const tmp = `${p.file}.tenantry-tmp`;
    writeFileSync(tmp, p.text, { mode: p.mode });
    renameSync(tmp, p.file);
  }
  return planned.map((p) => ({ file: relative(process.cwd(), p.file) || p.file, config: relative(process.cwd(), p.config) || p.config }));
}
