// `tenantry keys create`: a new ed25519 deploy key. The private half goes into the
// deploy-key Secret (or, to bootstrap without a cluster, a 0600 file outside any repo); the
// public half into the admin repo. The public file is staged first and moved into place only
// once the private half is stored, so a failure leaves neither half behind.

import { join } from "node:path";
import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { readRepoFile } from "../repo/changes.js";
import { commitAll } from "../repo/git.js";
import { stageFile, writePrivateFile } from "../files.js";
import { outFileProblems } from "./out-file.js";
import { generateKeyPair, parsePublicKey, publicKeyOf } from "../model/ssh-key.js";
import { withoutOurAnnotations } from "./register.js";
import { ANNOTATION, KeyStore } from "./secret.js";
import type { RepoTarget } from "./target.js";

export interface CreateOptions {
  readonly target: RepoTarget;
  /** Where the private key goes: the cluster's Secret, or a file. */
  readonly into: { readonly kc: KubeAccess } | { readonly out: string };
  readonly force: boolean;
  readonly commit: boolean;
  readonly now?: Date;
}

export interface CreateResult {
  readonly fingerprint: string;
  readonly publicKey: string;
  /** For --show-private only: the caller must not print it otherwise. */
  readonly privateKey: string;
  /** `Secret <ns>/<name>` or the file. */
  readonly storedIn: string;
  readonly pubPath: string;
  /** The fingerprint of the key this one replaced (--force). */
  readonly replaced: string | null;
  readonly commit: string | null;
}

export function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, "Z");
}

export async function createKey(opts: CreateOptions): Promise<CreateResult> {
  const { target } = opts;
  const now = opts.now ?? new Date();
  const problems: string[] = [];
  const existingPub = readRepoFile(target.root, target.pubPath);
  const existingPubKey = existingPub === null ? null : parsePublicKey(existingPub);
  let replaced: string | null = null;

  let store: KeyStore | null = null;
  let secret = null;
  if ("out" in opts.into) {
    problems.push(...(await outFileProblems(opts.into.out, opts.force)));
  } else {
    store = new KeyStore(opts.into.kc);
    secret = await store.read(target);
    if (secret?.identity !== undefined) {
      const fp = parsePublicKey(publicKeyOf(secret.identity))?.fingerprint ?? "an unreadable key";
      replaced = fp;
      if (!opts.force) {
        throw new TenantryError(
          `Secret ${target.namespace}/${target.secretName} already holds deploy key ${fp}: replace it without downtime with tenantry keys rotate ${target.team ?? "--admin"} (or pass --force to overwrite it now)`,
          ExitCode.invalid,
        );
      }
    }
  }
  if (replaced === null && existingPubKey !== null) {
    replaced = existingPubKey.fingerprint;
    if (!opts.force) {
      problems.push(
        `${target.pubPath} already holds deploy key ${existingPubKey.fingerprint} (made with --out?): keep using it, or pass --force to make a new one (then register the new key)`,
      );
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);

  const pair = generateKeyPair(target.title);
  const pub = stageFile(join(target.root, target.pubPath), `${pair.publicKey}\n`);
  let storedIn: string;
  try {
    if (store !== null) {
      await store.write(target, {
        identity: pair.privateKey,
        identityPub: `${pair.publicKey}\n`,
        knownHosts: secret?.knownHosts,
        annotations: { ...withoutOurAnnotations(secret?.annotations ?? {}), [ANNOTATION.fingerprint]: pair.fingerprint, [ANNOTATION.created]: timestamp(now), [ANNOTATION.registered]: "" },
        resourceVersion: secret?.resourceVersion,
      });
      storedIn = `Secret ${target.namespace}/${target.secretName}`;
    } else {
      const out = (opts.into as { out: string }).out;
      // Without --force the file must not exist, checked again atomically; a symlink is replaced, never followed.
      writePrivateFile(out, pair.privateKey, { noClobber: !opts.force });
      storedIn = out;
    }
  } catch (e) {
    pub.discard();
    throw e;
  }
  pub.commit();
  const commit = opts.commit ? await commitAll(target.root, `Deploy key ${pair.fingerprint} for ${target.label}`, [target.pubPath]) : null;
  return { fingerprint: pair.fingerprint, publicKey: pair.publicKey, privateKey: pair.privateKey, storedIn, pubPath: target.pubPath, replaced, commit };
}
