// `tenantry secrets reencrypt --team T --recipient age1…` (team side, in a checkout of the
// team's repo): .sops.yaml names the given recipients, and every SOPS file tracked by Git is
// decrypted with the team's identities (read from its Secret with the team's kubeconfig) and
// encrypted again with a new data key, inside tenantry-build-sops: the plaintext never reaches
// this process or the disk. Every file is re-encrypted before any is written.

import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../cluster/access.js";
import { sopsReencrypt } from "../build/service.js";
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
  const config = join(top, SOPS_CONFIG);
  // The new rules beside the old file: sops matches path_regex relative to the config's directory.
  const staged = `${config}.tenantry-new`;
  writeFileSync(staged, sopsConfigText(opts.team, opts.recipients));
  const planned: { file: string; text: string }[] = [];
  try {
    for (const rel of gitTrackedFiles(top)) {
      if (rel === SOPS_CONFIG) continue;
      const file = join(top, rel);
      if (!isPlainFile(file)) continue;
      const text = readFileSync(file, "utf8");
      if (!text.includes("ENC[AES256_GCM,")) continue;
      const again = await sopsReencrypt(file, text, staged, identities);
      if (again !== null) planned.push({ file: rel, text: again });
    }
  } catch (e) {
    rmSync(staged, { force: true });
    throw e;
  }
  for (const p of planned) {
    const tmp = `${join(top, p.file)}.tenantry-tmp`;
    writeFileSync(tmp, p.text);
    renameSync(tmp, join(top, p.file));
  }
  renameSync(staged, config);
  return { repo: top, files: planned.map((p) => p.file), recipients: opts.recipients };
}
