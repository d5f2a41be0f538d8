// `tenantry secrets retire <team>` (admin side): the last step of a rotation. The identities of
// Secret <team>-sops-age other than the newest are removed, but only when the revision the
// team's GitSync last applied builds with the newest identity alone: fetched (with the team's
// deploy key) and built by the build service exactly as the reconciler would, so retiring can
// never leave the applied revision undecryptable. The retired recipients leave team.yaml and
// age.pub.

import { join, normalize, relative } from "node:path";
import { rmSync } from "node:fs";
import type { KubeAccess } from "../cluster/access.js";
import { apiRefusal } from "../cluster/api-errors.js";
import { RestClient } from "../cluster/rest.js";
import { buildSplit } from "../build/kustomize.js";
import { ageRecipientsOf, BuildError } from "../build/service.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { createTeam, type CreateTeamResult } from "../generate/team.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync } from "../model/gitsync.js";
import { teamNameProblems } from "../model/names.js";
import { readTeamSpec } from "../repo/admin-repo.js";
import type { Templates } from "../render/repos.js";
import { fetchSource, FetchError } from "../sync/source.js";
import { readCredentials } from "../sync/reconcile.js";
import { AgeSecretStore, ageSecretName } from "./age-secret.js";

export interface RetireResult {
  readonly secret: string;
  readonly retired: readonly string[];
  readonly kept: string;
  readonly revision: string;
  readonly recipients: readonly string[];
  readonly admin: CreateTeamResult;
}

export async function secretsRetire(opts: { readonly templates: Templates; readonly root: string; readonly team: string; readonly kc: KubeAccess; readonly commit: boolean }): Promise<RetireResult> {
  const { team, root } = opts;
  const named = teamNameProblems(team);
  if (named.length > 0) throw new ValidationError(named);
  if (readTeamSpec(root, team) === null) throw new TenantryError(`team ${team} is not in the admin repo ${root}`, ExitCode.invalid);
  const store = new AgeSecretStore(opts.kc);
  const secret = await store.read(team);
  const keys = [...(secret?.identities.keys() ?? [])];
  const newest = keys[keys.length - 1];
  if (secret === null || newest === undefined || keys.length < 2) throw new TenantryError(`Secret ${team}/${ageSecretName(team)} holds ${String(keys.length)} age identit${keys.length === 1 ? "y" : "ies"}: nothing to retire (tenantry secrets rotate ${team} adds a new one)`, ExitCode.invalid);
  const keep = secret.identities.get(newest) ?? "";

  const api = RestClient.forConfig(opts.kc);
  let gs: GitSync;
  try {
    gs = (await api.readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: team, namespace: team } })) as GitSync;
  } catch (e) {
    if (apiRefusal(e)?.code === 404) throw new TenantryError(`GitSync ${team}/${team} does not exist: retire checks the revision it applied (under engine flux, not yet supported)`, ExitCode.invalid);
    throw e;
  }
  const applied = gs.status?.lastAppliedRevision;
  const sha = applied === undefined ? undefined : /sha1:([0-9a-f]{40})$/.exec(applied)?.[1];
  if (applied === undefined || sha === undefined) throw new TenantryError(`GitSync ${team}/${team} has applied no revision yet: nothing shows the new identity suffices; retire after it applies one`, ExitCode.failure);
  let source;
  try {
    source = await fetchSource(gs.spec.url, { commit: sha }, await readCredentials(api, gs));
  } catch (e) {
    if (e instanceof FetchError) throw new TenantryError(`cannot fetch ${applied} of ${gs.spec.url} to check it: ${e.message}`, ExitCode.external);
    throw e;
  }
  try {
    const dir = relative(source.dir, normalize(join(source.dir, gs.spec.path ?? "./"))) || ".";
    await buildSplit(source.dir, dir, { ageIdentities: keep });
  } catch (e) {
    if (e instanceof BuildError) throw new TenantryError(`${applied}, what GitSync ${team}/${team} applied last, does not build with the newest identity (${newest}) alone: ${e.message}; nothing was retired (the team re-encrypts with tenantry secrets reencrypt and pushes first)`, ExitCode.failure);
    throw e;
  } finally {
    rmSync(source.scratch, { recursive: true, force: true });
  }
  // A revision applied meanwhile was not checked: read the GitSync again right before the write.
  const now = ((await api.readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: team, namespace: team } })) as GitSync).status?.lastAppliedRevision;
  if (now !== applied) throw new TenantryError(`GitSync ${team}/${team} applied ${now ?? "nothing"} while ${applied} was being checked: nothing was retired; run it again`, ExitCode.failure);
  await store.write(team, { identities: new Map([[newest, keep]]), resourceVersion: secret.resourceVersion });
  const recipients = await ageRecipientsOf(keep);
  const admin = await createTeam(opts.templates, root, team, { ageRecipients: recipients }, { dryRun: false, commit: opts.commit });
  return { secret: `${team}/${ageSecretName(team)}`, retired: keys.slice(0, -1), kept: newest, revision: applied, recipients, admin };
}
