// `tenantry keys rotate`: replaces a deploy key without a moment in which the reconciler has
// no working key:
//
//   1. a new key is registered next to the old one (both work on the host);
//   2. the Secret switches to the new key in one write, remembering the old one in
//      tenantry.dev/rotating-from (if that write fails, the new key is removed again);
//   3. wait until the GitSync reports a successful fetch with the new key's fingerprint;
//   4. only then the old key is removed from the host, and the marker from the Secret.
//
// A run that stops after 2 (timeout, host down) is resumed by running rotate again: it sees
// the marker, skips 1 and 2, and finishes 3 and 4. With --sync-now the fetch is not waited
// for but run (one reconcile); if it fails with the new key, the old key is put back.

import { join } from "node:path";
import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { commitAll } from "../repo/git.js";
import { timestamp } from "./create.js";
import { stageFile } from "../files.js";
import { readGitSync, readySummary, waitForFetchWith } from "./key-usage.js";
import { hostAdapter, recordedSpec } from "./hosts/index.js";
import type { HostAdapter, HostSpec } from "./hosts/types.js";
import { generateKeyPair, parsePublicKey, publicKeyOf } from "../model/ssh-key.js";
import { ensureRegistered, omit, removeKeys, withRegistration } from "./register.js";
import { ANNOTATION, type KeySecret, KeyStore } from "./secret.js";
import type { RepoTarget } from "./target.js";

export interface RotateOptions {
  readonly target: RepoTarget;
  readonly kc: KubeAccess;
  /** Where the key is registered; default: what the Secret recorded. */
  readonly spec?: HostSpec | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** Run one reconcile of the GitSync instead of waiting for the agent. */
  readonly syncNow: boolean;
  readonly commit: boolean;
  readonly now?: Date;
  readonly progress?: (line: string) => void;
}

export interface RotateResult {
  readonly previous: string;
  readonly fingerprint: string;
  readonly where: string;
  /** Whether this run picked up a rotation an earlier run had started. */
  readonly resumed: boolean;
  readonly removed: number;
  readonly commit: string | null;
}

function fingerprintOf(secret: KeySecret): string {
  const fp = secret.identity === undefined ? undefined : parsePublicKey(publicKeyOf(secret.identity))?.fingerprint;
  if (fp === undefined) throw new TenantryError("the Secret's identity is not a private key tenantry can read: create a new key with tenantry keys create --force", ExitCode.invalid);
  return fp;
}

/** The host where `secret`'s key is registered: `spec`, or what the Secret recorded. */
export function adapterFor(secret: KeySecret, spec: HostSpec | undefined, repoUrl: string | null, env: NodeJS.ProcessEnv | undefined, what: string): HostAdapter {
  const a = secret.annotations;
  const chosen = spec ?? recordedSpec(a[ANNOTATION.registered], a[ANNOTATION.apiUrl], a[ANNOTATION.repoPath]);
  if (chosen === undefined) {
    throw new TenantryError(`${what}: the key is not registered on a host yet (no ${ANNOTATION.registered}): run tenantry keys register first, or pass --host`, ExitCode.invalid);
  }
  return hostAdapter(chosen, repoUrl, env);
}

export async function rotateKey(opts: RotateOptions): Promise<RotateResult> {
  const { target, kc } = opts;
  const say = opts.progress ?? (() => undefined);
  const store = new KeyStore(kc);
  const who = target.team ?? "--admin";

  // Check everything first: the Secret and its key, the host and its token, the GitSync.
  let secret = await store.read(target);
  if (secret?.identity === undefined) {
    throw new TenantryError(`Secret ${target.namespace}/${target.secretName} holds no deploy key: create one with tenantry keys create ${who}`, ExitCode.invalid);
  }
  const adapter = adapterFor(secret, opts.spec, target.repoUrl, opts.env, `cannot rotate the key of ${target.label}`);
  if ((await readGitSync(kc, target)) === null) {
    throw new TenantryError(
      `GitSync ${target.gitSync.namespace}/${target.gitSync.name} does not exist: rotate waits for it to fetch with the new key; sync the admin repo first`,
      ExitCode.invalid,
    );
  }

  const current = fingerprintOf(secret);
  const marker = secret.annotations[ANNOTATION.rotatingFrom];
  let previous: string;
  let resumed = false;
  let oldSecret: KeySecret | null = null;
  let commit: string | null = null;
  if (marker !== undefined && marker !== "") {
    // An earlier run switched the Secret already: make sure the new key is still on the host.
    previous = marker;
    resumed = true;
    say(`resuming the rotation from ${previous} to ${current}`);
    const pub = parsePublicKey(publicKeyOf(secret.identity));
    if (pub === null) throw new TenantryError("the Secret's identity has no readable public half: create a new key with tenantry keys create --force", ExitCode.invalid);
    await ensureRegistered(adapter, pub, target.title, target.title, [previous]);
  } else {
    previous = current;
    const now = opts.now ?? new Date();
    const created = timestamp(now);
    const pair = generateKeyPair(target.title);
    const pub = parsePublicKey(pair.publicKey);
    if (pub === null) throw new TenantryError("internal: the new public key does not parse", ExitCode.failure);
    // 1. register next to the old key (a distinct title: Gitea refuses a repeated one)
    const stamp = created.replace(/[-:]/g, "");
    const { key: added } = await ensureRegistered(adapter, pub, `${target.title}:${stamp}`, target.title, [previous]);
    say(`registered ${pair.fingerprint} on ${adapter.where} next to ${previous}`);
    // 2. switch the Secret in one write
    oldSecret = secret;
    const pubFile = stageFile(join(target.root, target.pubPath), `${pair.publicKey}\n`);
    try {
      secret = await store.write(target, {
        ...secret,
        identity: pair.privateKey,
        identityPub: `${pair.publicKey}\n`,
        annotations: {
          ...withRegistration(secret.annotations, adapter),
          [ANNOTATION.fingerprint]: pair.fingerprint,
          [ANNOTATION.created]: created,
          [ANNOTATION.rotatingFrom]: previous,
        },
      });
    } catch (e) {
      pubFile.discard();
      await adapter.remove(added).catch((r: unknown) => {
        throw new TenantryError(`${(e as Error).message}; and removing the new key ${pair.fingerprint} from ${adapter.where} failed too (${(r as Error).message}): remove it there by hand`, ExitCode.external);
      });
      throw e;
    }
    pubFile.commit();
    if (opts.commit) commit = await commitAll(target.root, `Rotate the deploy key of ${target.label} to ${pair.fingerprint}`, [target.pubPath]);
    say(`Secret ${target.namespace}/${target.secretName} now holds ${pair.fingerprint}`);
  }
  const fingerprint = fingerprintOf(secret);

  // 3. the reconciler must fetch with the new key before the old one goes
  if (opts.syncNow) {
    const { runSync } = await import("../sync/run.js");
    await runSync(kc, { kind: "gitsyncs", namespace: target.gitSync.namespace, name: target.gitSync.name });
  } else {
    say(`waiting up to ${Math.round(opts.timeoutMs / 1000)} s for GitSync ${target.gitSync.namespace}/${target.gitSync.name} to fetch with ${fingerprint}`);
  }
  const { ok, gs } = await waitForFetchWith(kc, target, fingerprint, opts.syncNow ? 0 : opts.timeoutMs);
  if (!ok) {
    if (opts.syncNow && oldSecret !== null) {
      // The reconcile just run could not fetch with the new key: go back to the old one.
      await store.write(target, { ...oldSecret, resourceVersion: secret.resourceVersion });
      stageFile(join(target.root, target.pubPath), oldSecret.identityPub ?? `${publicKeyOf(oldSecret.identity ?? "")}\n`).commit();
      await removeKeys(adapter, [fingerprint]);
      throw new TenantryError(`the reconciler could not fetch with the new key (${readySummary(gs)}): rolled back to ${previous}, nothing changed; fix that, then rotate again`, ExitCode.external);
    }
    throw new TenantryError(
      `GitSync ${target.gitSync.namespace}/${target.gitSync.name} has not fetched with the new key ${fingerprint} ` +
        `${opts.syncNow ? "" : `within ${Math.round(opts.timeoutMs / 1000)} s `}(${readySummary(gs)}): both keys stay registered and the Secret holds the new one; ` +
        `once the reconciler has fetched, run tenantry keys rotate ${who} again to remove the old key`,
      ExitCode.failure,
    );
  }
  say(`GitSync ${target.gitSync.namespace}/${target.gitSync.name} fetched with ${fingerprint}`);

  // 4. the old key goes; then the marker
  const removed = previous === fingerprint ? [] : await removeKeys(adapter, [previous]);
  await store.write(target, { ...secret, annotations: omit(secret.annotations, [ANNOTATION.rotatingFrom]) });
  return { previous, fingerprint, where: adapter.where, resumed, removed: removed.length, commit };
}
