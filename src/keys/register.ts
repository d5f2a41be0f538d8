// Registering a deploy key on its Git host, idempotently: the same key already there is
// success; a different key carrying our title is somebody's stale or foreign key and stops
// the run (reported, never removed or overwritten); a key that ended up with write access
// is removed again. The registration is recorded on the Secret afterwards: if that write
// fails, the key is still the stored one and the next run only records it.

import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { readRepoFile } from "../repo/changes.js";
import { hostAdapter, type HostSpec } from "./hosts/index.js";
import { type DeployKey, type HostAdapter, HostError } from "./hosts/types.js";
import { type PublicKey, parsePublicKey, publicKeyOf, requirePublicKey } from "../model/ssh-key.js";
import { ANNOTATION, KeyStore, type KeySecret } from "./secret.js";
import { isOurTitle, type RepoTarget } from "./target.js";

/** A different key with our title is on the host. */
export class ForeignKeyError extends HostError {
  override readonly name = "ForeignKeyError";
}

export interface Ensured {
  readonly key: DeployKey;
  /** False when the host already had it. */
  readonly added: boolean;
}

/**
 * Makes sure `pub` is a read-only deploy key on the host. `ours` are fingerprints of this
 * team's other keys that may carry our title (the key being rotated out).
 */
export async function ensureRegistered(adapter: HostAdapter, pub: PublicKey, title: string, baseTitle: string, ours: readonly string[] = []): Promise<Ensured> {
  const keys = await adapter.list();
  const foreign = keys.find((k) => isOurTitle(k.title, baseTitle) && k.fingerprint !== pub.fingerprint && !ours.includes(k.fingerprint));
  if (foreign !== undefined) {
    throw new ForeignKeyError(
      `${adapter.where} already has a deploy key titled "${foreign.title}" (${foreign.fingerprint || "unparsable key"}, id ${foreign.id}) that is not this key (${pub.fingerprint}): ` +
        "if it is stale, remove it on the host, then run again",
    );
  }
  const there = keys.filter((k) => k.fingerprint === pub.fingerprint);
  if (there.length > 0) {
    const writable = there.find((k) => !k.readOnly);
    if (writable !== undefined) {
      throw new HostError(`${adapter.where} has this key (${pub.fingerprint}, id ${writable.id}) with write access: remove it on the host, then run again to add it read-only`);
    }
    return { key: there[0] as DeployKey, added: false };
  }
  const key = await adapter.add(title, pub.key);
  if (!key.readOnly) {
    await adapter.remove(key);
    throw new HostError(`${adapter.where} registered the key with write access although read-only was asked: it was removed again; check the host's deploy-key settings`);
  }
  return { key, added: true };
}

/** Removes every key with one of `fingerprints` from the host; returns what was removed. */
export async function removeKeys(adapter: HostAdapter, fingerprints: readonly string[]): Promise<DeployKey[]> {
  const doomed = (await adapter.list()).filter((k) => k.fingerprint !== "" && fingerprints.includes(k.fingerprint));
  for (const k of doomed) await adapter.remove(k);
  return doomed;
}

/** Pure: `annotations` recording where `adapter` registers keys (see hosts/index.ts recordedSpec). */
export function withRegistration(annotations: Readonly<Record<string, string>>, adapter: HostAdapter): Record<string, string> {
  const { kind, repo, apiUrl, authorizedKeys } = adapter.spec;
  return {
    ...omit(annotations, [ANNOTATION.apiUrl, ANNOTATION.repoPath]),
    [ANNOTATION.registered]: kind === "ssh" ? `ssh:${authorizedKeys ?? ""}` : `${kind}:${repo}`,
    ...(kind === "ssh" ? { [ANNOTATION.repoPath]: repo } : apiUrl === undefined ? {} : { [ANNOTATION.apiUrl]: apiUrl }),
  };
}

/** `annotations` without `keys`. */
export function omit(annotations: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).filter(([k]) => !keys.includes(k)));
}

/** Our annotations removed from `annotations` (others, e.g. kubectl's, are kept). */
export function withoutOurAnnotations(annotations: Readonly<Record<string, string>>): Record<string, string> {
  return omit(annotations, Object.values(ANNOTATION));
}

export interface RegisterOptions {
  readonly target: RepoTarget;
  readonly spec: HostSpec;
  readonly env?: NodeJS.ProcessEnv;
  /** The cluster holding the Secret; null: none (bootstrap with --out), only the repo's .pub is used. */
  readonly kc: KubeAccess | null;
}

export interface RegisterResult {
  readonly where: string;
  readonly fingerprint: string;
  readonly added: boolean;
  /** Whether the Secret now records the registration. */
  readonly recorded: boolean;
}

/** The key to register: the Secret's (what the reconciler uses), checked against the admin repo's .pub. */
function keyToRegister(target: RepoTarget, secret: KeySecret | null): PublicKey {
  const pubText = readRepoFile(target.root, target.pubPath);
  const fromRepo = pubText === null ? null : requirePublicKey(pubText, target.pubPath);
  const fromSecret = secret?.identity === undefined ? null : parsePublicKey(secret.identityPub ?? publicKeyOf(secret.identity));
  if (fromSecret !== null && fromRepo !== null && fromSecret.fingerprint !== fromRepo.fingerprint) {
    throw new ValidationError([
      `${target.pubPath} (${fromRepo.fingerprint}) is not the key in Secret ${target.namespace}/${target.secretName} (${fromSecret.fingerprint}): ` +
        "the admin repo is behind the cluster (pull it) or the key was replaced; register the Secret's key after fixing the repo",
    ]);
  }
  const key = fromSecret ?? fromRepo;
  if (key === null) throw new TenantryError(`no deploy key for ${target.label}: neither ${target.pubPath} nor the Secret has one: run tenantry keys create first`, ExitCode.invalid);
  return key;
}

export async function registerKey(opts: RegisterOptions): Promise<RegisterResult> {
  const { target, spec } = opts;
  // Everything that can be checked without the host is checked first (token, repo, key).
  const adapter = hostAdapter(spec, target.repoUrl, opts.env);
  const store = opts.kc === null ? null : new KeyStore(opts.kc);
  const secret = store === null ? null : await store.read(target);
  const pub = keyToRegister(target, secret);
  const rotatingFrom = secret?.annotations[ANNOTATION.rotatingFrom];
  const { added } = await ensureRegistered(adapter, pub, target.title, target.title, rotatingFrom === undefined ? [] : [rotatingFrom]);
  let recorded = false;
  if (store !== null && secret?.identity !== undefined) {
    await store.write(target, { ...secret, annotations: withRegistration(secret.annotations, adapter) });
    recorded = true;
  }
  return { where: adapter.where, fingerprint: pub.fingerprint, added, recorded };
}
