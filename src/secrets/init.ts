// `tenantry secrets init <team>`: an age key pair for the team's SOPS files. The identity is
// made by the build service (filippo.io/age in tenantry-build-sops) and goes straight into
// Secret <team>-sops-age in the cluster: never into Git, onto disk or the terminal. The
// recipient goes into the admin repo (team.yaml, and age.pub beside it; the team's GitSync or
// Flux Kustomization gains spec.decryption) and into the team repo's .sops.yaml. Idempotent: a
// Secret already there is kept, and its recipients are what the repos get.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { KubeAccess } from "../cluster/access.js";
import { ageKeygen, ageRecipientsOf } from "../build/service.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { createTeam, type CreateTeamResult } from "../generate/team.js";
import { teamNameProblems } from "../model/names.js";
import { readTeamSpec } from "../repo/admin-repo.js";
import type { Templates } from "../render/repos.js";
import { AgeSecretStore, ageSecretName, FIRST_AGE_KEY } from "./age-secret.js";
import { SOPS_CONFIG, sopsConfigText } from "./sops-config.js";

export interface SecretsInitResult {
  readonly secret: string;
  /** Whether the Secret was made now (false: it was there, and kept). */
  readonly created: boolean;
  readonly recipients: readonly string[];
  readonly admin: CreateTeamResult;
  /** The .sops.yaml text, and where it was written (null: not written, --team-repo-dir not given). */
  readonly sopsConfig: string;
  readonly sopsConfigWritten: string | null;
}

/** Writes `text` to `file` through a temporary file and a rename: never half a file. */
function writeWhole(file: string, text: string): void {
  const tmp = `${file}.tenantry-tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export async function secretsInit(opts: {
  readonly templates: Templates;
  readonly root: string;
  readonly team: string;
  readonly kc: KubeAccess;
  readonly teamRepoDir?: string | undefined;
  readonly commit: boolean;
}): Promise<SecretsInitResult> {
  const { team, root } = opts;
  const named = teamNameProblems(team);
  if (named.length > 0) throw new ValidationError(named);
  const spec = readTeamSpec(root, team);
  if (spec === null) throw new TenantryError(`team ${team} is not in the admin repo ${root}: create it first (scripts/create-team.sh ${team})`, ExitCode.invalid);
  if (spec.isolation !== "namespace") throw new TenantryError(`team ${team} has its own control plane (isolation ${spec.isolation}): SOPS decryption is not yet supported there`, ExitCode.invalid);
  const repoDir = opts.teamRepoDir === undefined ? null : resolve(opts.teamRepoDir);
  if (repoDir !== null && !existsSync(join(repoDir, ".git"))) throw new TenantryError(`--team-repo-dir ${repoDir} is not a checkout of a Git repo: pass a clone of team ${team}'s repo`, ExitCode.invalid);

  const store = new AgeSecretStore(opts.kc);
  const existing = await store.read(team);
  let recipients: string[];
  let created = false;
  if (existing !== null && existing.identities.size > 0) {
    recipients = await ageRecipientsOf([...existing.identities.values()].join("\n"));
    if (spec.ageRecipients.length > 0 && spec.ageRecipients.join(",") !== recipients.join(",")) {
      throw new TenantryError(`Secret ${team}/${ageSecretName(team)} holds identities for ${recipients.join(", ")}, not the recipients the admin repo records (${spec.ageRecipients.join(", ")}): it was changed outside tenantry; delete it and run init again (the team re-encrypts), or restore it`, ExitCode.failure);
    }
    // Written again with tenantry's labels (a Secret from before they were set, or made by hand).
    if (existing.labeled !== true) await store.write(team, existing);
  } else {
    if (existing !== null) throw new TenantryError(`Secret ${team}/${ageSecretName(team)} exists but holds no key ending in .agekey: it is not tenantry's; delete it, then run this again`, ExitCode.failure);
    const key = await ageKeygen();
    await store.write(team, { identities: new Map([[FIRST_AGE_KEY, key.identity]]) });
    recipients = [key.recipient];
    created = true;
  }

  const admin = await createTeam(opts.templates, root, team, { ageRecipients: recipients }, { dryRun: false, commit: opts.commit });
  const sopsConfig = sopsConfigText(team, recipients);
  let written: string | null = null;
  if (repoDir !== null) {
    const file = join(repoDir, SOPS_CONFIG);
    const before = existsSync(file) ? readFileSync(file, "utf8") : null;
    if (before !== sopsConfig) writeWhole(file, sopsConfig);
    written = file;
  }
  return { secret: `${team}/${ageSecretName(team)}`, created, recipients, admin, sopsConfig, sopsConfigWritten: written };
}
