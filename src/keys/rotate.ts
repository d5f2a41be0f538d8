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
//
// The admin repo's copy of the public key is written all or nothing with its --commit (repo/
// atomic.ts, repo/commit.ts): if that write or commit fails, the Secret and the host go back
// to the old key too. Whenever a run says it rolled back, the Secret, the host, the work tree
// and git's HEAD are as before it.

import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { beginChanges, recoverRepo } from "../repo/changes.js";
import { restoreSnapshot, type Snapshot, snapshotFiles } from "../repo/atomic.js";
import { type Commit, commitChange } from "../repo/commit.js";
import { timestamp } from "./create.js";
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

  // Check everything first: the engine, the Secret and its key, the host and its token, the GitSync.
  if (target.engine === "flux") {
    // Rotation waits until the fetcher reports a fetch with the new key's fingerprint; Flux's
    // GitRepository records no fingerprint, so a rotation there could not tell the old key from
    // the new one and would revoke a key still in use.
    throw new TenantryError(
      `keys rotate ${who}: the admin repo runs on the flux engine, whose GitRepository does not say which key it fetched with: rotate by hand (keys create a new key, register it, wait for GitRepository ${target.gitSync.namespace}/${target.gitSync.name} to be Ready, then keys revoke the old one) or switch the engine`,
      ExitCode.invalid,
    );
  }
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
  let gitCommit: Commit | null = null;
  let pubBefore: Snapshot | null = null;
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
    // What an interrupted run left in the admin repo, before anything changes anywhere.
    for (const line of recoverRepo(target.root)) say(line);
    const now = opts.now ?? new Date();
    const created = timestamp(now);
    const pair = generateKeyPair(target.title);
    const pub = parsePublicKey(pair.publicKey);
    if (pub === null) throw new TenantryError("internal: the new public key does not parse", ExitCode.failure);
    // 1. register next to the old key (a distinct title: Gitea refuses a repeated one)
    const stamp = created.replace(/[-:]/g, "");
    const { key: added } = await ensureRegistered(adapter, pub, `${target.title}:${stamp}`, target.title, [previous]);
    say(`registered ${pair.fingerprint} on ${adapter.where} next to ${previous}`);
    // 2. switch the Secret in one write, then the admin repo's public half (and its commit)
    oldSecret = secret;
    const old = secret;
    /** Back to the old key after `why`: the Secret (when `switched` holds the new one), then the host. */
    const rollBack = async (why: unknown, switched: KeySecret | null): Promise<never> => {
      const left: string[] = [];
      if (switched !== null) {
        await store.write(target, { ...old, resourceVersion: switched.resourceVersion }).catch((r: unknown) => left.push(`putting ${previous} back into Secret ${target.namespace}/${target.secretName} failed (${(r as Error).message})`));
      }
      await adapter.remove(added).catch((r: unknown) => left.push(`removing the new key ${pair.fingerprint} from ${adapter.where} failed (${(r as Error).message}): remove it there by hand`));
      const message = (why as Error).message;
      if (left.length > 0) throw new TenantryError(`${message}; and ${left.join("; and ")}`, ExitCode.external);
      throw new TenantryError(`${message}; rolled back to ${previous}${switched === null ? "" : " (the Secret holds it again)"} and removed ${pair.fingerprint} from ${adapter.where}`, why instanceof TenantryError ? why.exitCode : ExitCode.failure);
    };
    let switched: KeySecret;
    try {
      switched = await store.write(target, {
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
      return rollBack(e, null);
    }
    try {
      pubBefore = snapshotFiles(target.root, [target.pubPath]);
      const tx = beginChanges(target.root, { writes: new Map([[target.pubPath, `${pair.publicKey}\n`]]), deletes: [] }, `write ${target.pubPath}`);
      // A failed commit undoes the file itself.
      if (opts.commit) gitCommit = await commitChange(tx, `Rotate the deploy key of ${target.label} to ${pair.fingerprint}`, [target.pubPath]);
      tx.finish();
    } catch (e) {
      return rollBack(e, switched);
    }
    secret = switched;
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
      // The reconcile just run could not fetch with the new key: go back to the old one, in the
      // cluster, in the admin repo (the file as it was, the commit taken back) and on the host.
      await store.write(target, { ...oldSecret, resourceVersion: secret.resourceVersion });
      if (pubBefore !== null) restoreSnapshot(target.root, pubBefore, { what: `put ${target.pubPath} back` });
      await gitCommit?.undo();
      await removeKeys(adapter, [fingerprint]);
      const undone = gitCommit === null ? "" : `, commit ${gitCommit.hash.slice(0, 7)} taken back`;
      throw new TenantryError(`the reconciler could not fetch with the new key (${readySummary(gs)}): rolled back to ${previous}${undone}, nothing changed; fix that, then rotate again`, ExitCode.external);
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
  return { previous, fingerprint, where: adapter.where, resumed, removed: removed.length, commit: gitCommit?.hash ?? null };
}
