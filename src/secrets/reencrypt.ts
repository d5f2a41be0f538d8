// `tenantry secrets reencrypt --team T --recipient age1…` (team side, in a checkout of the
// team's repo): .sops.yaml names the given recipients, and every SOPS file tracked by Git is
// decrypted with the team's identities (read from its Secret with the team's kubeconfig) and
// encrypted again with a new data key, inside tenantry-build-sops: the plaintext never reaches
// this process or the disk. Every file is re-encrypted before any is written.

import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../cluster/access.js";
import { ageRecipientsOf, sopsReencrypt } from "../build/service.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { teamNameProblems } from "../model/names.js";
import { AGE_RECIPIENT } from "../model/team-spec.js";
import { gitTrackedFiles, isPlainFile, repoTop } from "./repo-files.js";
import { AgeSecretStore, ageSecretName } from "./age-secret.js";
import { SOPS_CONFIG, sopsConfigText } from "./sops-config.js";

export interface ReencryptResult {
  readonly repo: string;
  readonly files: readonly string[];
  readonly recipients: readonly string[];
}

export async function secretsReencrypt(opts: { readonly dir: string; readonly team: string; readonly recipients: readonly string[]; readonly kc: KubeAccess }): Promise<ReencryptResult> {
  const problems = [...teamNameProblems(opts.team)];
  if (opts.recipients.length === 0) problems.push("name the recipients to encrypt for: --recipient age1… (the new one `tenantry secrets rotate` printed)");
  for (const r of opts.recipients) if (!AGE_RECIPIENT.test(r)) problems.push(`--recipient "${r.slice(0, 80)}" is not an age public key (age1...)`);
  if (problems.length > 0) throw new ValidationError(problems);
  const top = repoTop(opts.dir);
  const secret = await new AgeSecretStore(opts.kc).read(opts.team);
  if (secret === null || secret.identities.size === 0) throw new TenantryError(`Secret ${opts.team}/${ageSecretName(opts.team)} holds no age identity to decrypt with: ask the platform team to run tenantry secrets init ${opts.team}`, ExitCode.invalid);
  const identities = [...secret.identities.values()].join("\n");
  // A typo would re-encrypt everything for a key the cluster does not hold.
  const held = await ageRecipientsOf(identities);
  const foreign = opts.recipients.filter((r) => !held.includes(r));
  if (foreign.length > 0) throw new TenantryError(`--recipient ${foreign.join(", ")}: not the recipient of any identity in Secret ${opts.team}/${ageSecretName(opts.team)} (it holds ${held.join(", ")}): the cluster could not decrypt the files`, ExitCode.invalid);
  const tracked = gitTrackedFiles(top);
  const nested = tracked.filter((f) => f !== SOPS_CONFIG && f.endsWith(`/${SOPS_CONFIG}`));
  if (nested.length > 0) throw new TenantryError(`the repo has other ${SOPS_CONFIG} files (${nested.join(", ")}): reencrypt rewrites only the one at the top; merge their rules into it first`, ExitCode.invalid);
  const config = join(top, SOPS_CONFIG);
  // The new rules beside the old file (sops matches path_regex relative to the config's
  // directory); every temporary file is made new ("wx"), never through a committed symlink.
  const staged = `${config}.tenantry-new`;
  const written: string[] = [];
  const stage = (path: string, text: string, mode: number): void => {
    writeFileSync(path, text, { flag: "wx", mode });
    written.push(path);
  };
  try {
    stage(staged, sopsConfigText(opts.team, opts.recipients), 0o644);
    const planned: { file: string; tmp: string }[] = [];
    for (const rel of tracked) {
      if (rel === SOPS_CONFIG) continue;
      const file = join(top, rel);
      if (!isPlainFile(file)) continue;
      const text = readFileSync(file, "utf8");
      if (!text.includes("ENC[AES256_GCM,")) continue;
      const again = await sopsReencrypt(file, text, staged, identities);
      if (again === null) continue;
      const tmp = `${file}.tenantry-tmp`;
      stage(tmp, again, statSync(file).mode & 0o777);
      planned.push({ file: rel, tmp });
    }
    // Every file is re-encrypted and staged: now the renames, which do not fail half-way but for a vanished directory.
    for (const p of planned) renameSync(p.tmp, join(top, p.file));
    renameSync(staged, config);
    return { repo: top, files: planned.map((p) => p.file), recipients: opts.recipients };
  } catch (e) {
    for (const w of written) rmSync(w, { force: true });
    throw e;
  }
}
