// `tenantry secrets list`: the teams' age recipients as the admin repo holds them, or, with a
// team repo, each SOPS file there and the recipients it is encrypted for (read from its
// metadata by tenantry-build-sops; nothing is decrypted).

import { join } from "node:path";
import { readFileSync } from "node:fs";
import { sopsFileRecipients } from "../build/service.js";
import { listTeams } from "../repo/admin-repo.js";
import { gitTrackedFiles, isPlainFile, repoTop } from "./repo-files.js";

export interface TeamRecipients {
  readonly team: string;
  readonly recipients: readonly string[];
}

export function teamRecipients(root: string): TeamRecipients[] {
  return listTeams(root).map((t) => ({ team: t.name, recipients: t.ageRecipients }));
}

export interface FileRecipients {
  readonly file: string;
  readonly recipients: readonly string[];
}

export async function fileRecipients(dir: string): Promise<FileRecipients[]> {
  const top = repoTop(dir);
  const out: FileRecipients[] = [];
  for (const rel of gitTrackedFiles(top)) {
    const file = join(top, rel);
    if (!isPlainFile(file)) continue;
    const text = readFileSync(file, "utf8");
    if (!text.includes("ENC[AES256_GCM,")) continue;
    const recipients = await sopsFileRecipients(file, text);
    if (recipients !== null) out.push({ file: rel, recipients });
  }
  return out;
}
