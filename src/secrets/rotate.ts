// `tenantry secrets rotate <team>` (admin side): a new age identity beside the old ones in
// Secret <team>-sops-age, never in place of them, so every file of the team's repo still
// decrypts while the team re-encrypts (`secrets reencrypt`); the new recipient joins team.yaml
// and age.pub. `secrets retire` (not yet built) is to remove the old identity once the team's
// last applied revision decrypts without it.

import type { KubeAccess } from "../cluster/access.js";
import { ageKeygen, ageRecipientsOf } from "../build/service.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { createTeam, type CreateTeamResult } from "../generate/team.js";
import { teamNameProblems } from "../model/names.js";
import { readTeamSpec } from "../repo/admin-repo.js";
import type { Templates } from "../render/repos.js";
import { AgeSecretStore, ageSecretName, nextAgeKey } from "./age-secret.js";

export interface RotateResult {
  readonly secret: string;
  /** The key the new identity went under (age-2.agekey, …). */
  readonly key: string;
  readonly recipient: string;
  /** Every recipient, oldest first: what team.yaml and age.pub now hold. */
  readonly recipients: readonly string[];
  readonly admin: CreateTeamResult;
}

export async function secretsRotate(opts: { readonly templates: Templates; readonly root: string; readonly team: string; readonly kc: KubeAccess; readonly commit: boolean }): Promise<RotateResult> {
  const { team, root } = opts;
  const named = teamNameProblems(team);
  if (named.length > 0) throw new ValidationError(named);
  const spec = readTeamSpec(root, team);
  if (spec === null) throw new TenantryError(`team ${team} is not in the admin repo ${root}: create it first (scripts/create-team.sh ${team})`, ExitCode.invalid);
  const store = new AgeSecretStore(opts.kc);
  const secret = await store.read(team);
  if (secret === null || secret.identities.size === 0) throw new TenantryError(`team ${team} has no age identity to rotate (Secret ${team}/${ageSecretName(team)}): run tenantry secrets init ${team} first`, ExitCode.invalid);
  const made = await ageKeygen();
  const key = nextAgeKey(secret);
  const identities = new Map([...secret.identities, [key, made.identity]]);
  // Replaces exactly the version read: a concurrent rotation gets 409, not a lost identity.
  await store.write(team, { identities, resourceVersion: secret.resourceVersion });
  const recipients = await ageRecipientsOf([...identities.values()].join("\n"));
  const admin = await createTeam(opts.templates, root, team, { ageRecipients: recipients }, { dryRun: false, commit: opts.commit });
  return { secret: `${team}/${ageSecretName(team)}`, key, recipient: made.recipient, recipients, admin };
}
