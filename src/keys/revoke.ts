// `tenantry keys revoke` (and `delete-team --revoke-keys`): the key leaves the host first,
// then the Secret (its known_hosts stays for a later key), then the admin repo's public
// half. If a step fails, running revoke again finishes the job: each step is idempotent.

import type { KubeAccess } from "../cluster/access.js";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal } from "../cluster/api-errors.js";
import { ExitCode, TenantryError } from "../errors.js";
import { readRepoFile } from "../repo/changes.js";
import type { HostSpec } from "./hosts/types.js";
import { parsePublicKey, publicKeyOf } from "../model/ssh-key.js";
import { removeKeys, withoutOurAnnotations } from "./register.js";
import { adapterFor } from "./rotate.js";
import { ANNOTATION, clusterError, KeyStore } from "./secret.js";
import type { KeyTarget } from "./target.js";

export interface RevokeOptions {
  readonly kc: KubeAccess;
  readonly target: KeyTarget;
  /** Where the key is registered; default: what the Secret recorded. */
  readonly spec?: HostSpec | undefined;
  /** The repo URL, for --host defaults (owner/name, repo path). */
  readonly repoUrl?: string | null;
  /** The admin repo: its copy of the public key is removed too. */
  readonly adminRoot?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RevokeResult {
  readonly fingerprints: readonly string[];
  /** `github acme/team1`, or null when the key was never registered. */
  readonly where: string | null;
  readonly removedFromHost: number;
  readonly secret: "cleared" | "deleted" | "absent";
  readonly pubRemoved: boolean;
}

/** Revokes the deploy key of `target`: host, Secret, admin repo. Exported for delete-team. */
export async function revokeDeployKey(opts: RevokeOptions): Promise<RevokeResult> {
  const { target, kc } = opts;
  const store = new KeyStore(kc);
  const secret = await store.read(target);
  const fingerprints = new Set<string>();
  if (secret?.identity !== undefined) {
    const fp = parsePublicKey(secret.identityPub ?? publicKeyOf(secret.identity))?.fingerprint;
    if (fp !== undefined) fingerprints.add(fp);
  }
  const rotatingFrom = secret?.annotations[ANNOTATION.rotatingFrom];
  if (rotatingFrom !== undefined && rotatingFrom !== "") fingerprints.add(rotatingFrom);
  const pubText = opts.adminRoot === undefined ? null : readRepoFile(opts.adminRoot, target.pubPath);
  const pubFp = pubText === null ? undefined : parsePublicKey(pubText)?.fingerprint;
  if (pubFp !== undefined) fingerprints.add(pubFp);
  if (fingerprints.size === 0) {
    throw new TenantryError(`${target.label} has no deploy key (none in Secret ${target.namespace}/${target.secretName}${opts.adminRoot === undefined ? "" : ` nor ${target.pubPath}`}): nothing to revoke`, ExitCode.invalid);
  }

  // 1. the host
  const registered = secret?.annotations[ANNOTATION.registered];
  let where: string | null = null;
  let removed = 0;
  if (opts.spec !== undefined || (registered !== undefined && registered !== "")) {
    const adapter = adapterFor(secret ?? { annotations: {} }, opts.spec, opts.repoUrl ?? null, opts.env, `cannot revoke the key of ${target.label}`);
    where = adapter.where;
    removed = (await removeKeys(adapter, [...fingerprints])).length;
  }

  // 2. the Secret: without the key and our annotations; deleted when nothing else is left
  let state: RevokeResult["secret"] = "absent";
  if (secret !== null) {
    if (secret.knownHosts !== undefined && secret.knownHosts.trim() !== "") {
      await store.write(target, { knownHosts: secret.knownHosts, annotations: withoutOurAnnotations(secret.annotations), resourceVersion: secret.resourceVersion });
      state = "cleared";
    } else {
      try {
        await RestClient.forConfig(kc).deleteObject({ apiVersion: "v1", kind: "Secret", metadata: { name: target.secretName, namespace: target.namespace } });
      } catch (e) {
        if (apiRefusal(e)?.code !== 404) throw clusterError(e, kc, `delete Secret ${target.namespace}/${target.secretName}`);
      }
      state = "deleted";
    }
  }

  // 3. the admin repo's public half
  let pubRemoved = false;
  if (opts.adminRoot !== undefined && existsSync(join(opts.adminRoot, target.pubPath))) {
    rmSync(join(opts.adminRoot, target.pubPath));
    pubRemoved = true;
  }
  return { fingerprints: [...fingerprints], where, removedFromHost: removed, secret: state, pubRemoved };
}
