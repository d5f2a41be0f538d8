// `tenantry bootstrap`: one idempotent command from an admin repo checkout to a cluster that
// syncs it, in three steps:
//   1. deploy key: the admin repo's key into its Secret, registered read-only on the Git host
//      (when one is given), the host key pinned in the same Secret;
//   2. apply cluster/common through the build service, as the engine itself applies it;
//   3. wait until the engine's admin sync is Ready at the current spec (and, for tenantry's
//      agent, has fetched with this key).
// Everything that can be checked is checked before the first write (the kubeconfig, the token,
// the repo URL, the host key, the build, a server-side dry run), so most failures change
// nothing. A step that fails after writing undoes its own writes: the key is removed from
// the host again and a namespace it created is deleted; objects step 2 created are deleted.
// A step that finds everything as desired writes nothing, so a second run makes no writes.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubeAccess } from "../cluster/access.js";
import { applyObjects, ApplyError, applyStage } from "../cluster/apply.js";
import { apiRefusal, clusterFailure, KindNotServedError } from "../cluster/api-errors.js";
import { unchangedObjects } from "../cluster/live.js";
import { RestClient } from "../cluster/rest.js";
import { buildObjects } from "../build/kustomize.js";
import { COMMON } from "../build/admin-layout.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { readRepoFile } from "../repo/changes.js";
import { commitAll } from "../repo/git.js";
import { readClusterConfig } from "../repo/admin-repo.js";
import { stageFile } from "../files.js";
import { describeObject, type KubeObject } from "../model/object.js";
import { generateKeyPair, parsePublicKey, publicKeyOf, type PublicKey, requirePublicKey } from "../model/ssh-key.js";
import { hostAdapter } from "../keys/hosts/index.js";
import type { DeployKey, HostAdapter, HostSpec } from "../keys/hosts/types.js";
import { entriesFor, type HostKeyEntry, hostKeysFromText, hostPattern, isChange, mergeKnownHosts, parseKnownHosts, scanHostKeys } from "../keys/known-hosts.js";
import { ensureRegistered, withoutOurAnnotations, withRegistration } from "../keys/register.js";
import { ANNOTATION, KeyStore, type KeySecret } from "../keys/secret.js";
import { type RepoTarget, repoTarget } from "../keys/target.js";
import { timestamp } from "../keys/create.js";
import { describeSync, type EngineProfile, engineOf, engineProfile, readiness } from "./engine.js";

const run = promisify(execFile);

export const STEPS = {
  key: "step 1/3 (deploy key)",
  apply: "step 2/3 (apply cluster/common)",
  wait: "step 3/3 (wait for the admin sync)",
} as const;
export type Step = keyof typeof STEPS;

/** A step failed: says which, in one line, with the exit code of what failed. */
export class StepError extends TenantryError {
  override readonly name = "StepError";
  constructor(
    readonly step: Step,
    message: string,
    exitCode: TenantryError["exitCode"],
  ) {
    super(`${STEPS[step]}: ${message}`, exitCode);
  }
}

function asStepError(step: Step, e: unknown, server: string): unknown {
  if (e instanceof StepError) return e;
  const known = e instanceof TenantryError ? e : clusterFailure(e, server);
  if (known === undefined) return e;
  const text = known instanceof ValidationError ? known.problems.join("; ") : known instanceof ApplyError ? refusedText(known) : known.message.replaceAll("\n", "; ");
  return new StepError(step, text, known.exitCode);
}

function refusedText(e: ApplyError): string {
  return e.refused.map((r) => `${r.object}: ${r.refusal.message} (HTTP ${r.refusal.code})`).join("; ");
}

const FIX_COMMON = "fix cluster/common (or what it needs in the cluster) and run bootstrap again";

async function inStep<T>(step: Step, server: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asStepError(step, e, server);
  }
}

export interface BootstrapOptions {
  readonly kc: KubeAccess;
  /** The admin repo's root. */
  readonly root: string;
  /** Where to register the deploy key; none: not registered (the Secret keeps any earlier registration). */
  readonly host?: HostSpec | undefined;
  /** The environment the host's token is read from (hosts/index.ts TOKEN_ENV). */
  readonly env?: NodeJS.ProcessEnv;
  /** Pin the host key from this known_hosts file instead of ssh-keyscan. */
  readonly knownHostsFile?: string | undefined;
  readonly timeoutMs: number;
  /** Commit a new or repaired cluster/common/deploy-key.pub. */
  readonly commit: boolean;
  /** A finished step, in words. */
  readonly progress?: (line: string) => void;
  readonly pollMs?: number;
  readonly now?: () => Date;
}

export interface KeyOutcome {
  readonly fingerprint: string;
  readonly created: boolean;
  readonly secret: string;
  /** `ssh /path/authorized_keys`, `github acme/admin`; null: not registered by this run. */
  readonly registeredOn: string | null;
  readonly registeredNow: boolean;
  /** The pinned host (`[host]:port`) and its key fingerprints. */
  readonly pinned: { readonly pattern: string; readonly fingerprints: readonly string[]; readonly changed: boolean };
  /** The admin repo's .pub, when this run wrote it. */
  readonly pubWritten: string | null;
  /** A different key the repo's .pub held before (left registered on the host). */
  readonly replacedPub: string | null;
  readonly commit: string | null;
}

export interface BootstrapResult {
  readonly engine: EngineProfile["name"];
  /** null: the admin repo is not fetched over SSH, so it has no deploy key. */
  readonly key: KeyOutcome | null;
  readonly applied: number;
  readonly unchanged: number;
  readonly sync: readonly { readonly object: string; readonly revision: string | null }[];
  /** Writes this run sent to the API server (0 when everything was in place). */
  readonly writes: number;
  readonly notes: readonly string[];
}

/** Host and port of an SSH repo URL (`ssh://…` or scp-like `user@host:path`); null for any other. */
export function sshEndpoint(url: string): { host: string; port: number } | null {
  if (!url.includes("://")) {
    const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):.+$/.exec(url);
    return scp?.[1] === undefined ? null : { host: scp[1].replace(/^\[|\]$/g, ""), port: 22 };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== "ssh:") return null;
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port === "" ? 22 : Number(u.port) };
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const sortedEntries = (r: Readonly<Record<string, string>>): [string, string][] => Object.entries(r).sort(([x], [y]) => x.localeCompare(y));

interface KeyPlan {
  readonly target: RepoTarget;
  readonly adapter: HostAdapter | null;
  readonly pub: PublicKey;
  /** The new private key, when the Secret holds none. */
  readonly privateKey: string | null;
  /** What the Secret should hold; null when it already does. */
  readonly write: KeySecret | null;
  readonly secretExists: boolean;
  /** The .pub to write into the admin repo, when it is missing or is not this key. */
  readonly pubText: string | null;
  readonly replacedPub: string | null;
  /** Fingerprints of our other keys that may carry our title on the host. */
  readonly ours: readonly string[];
  readonly pinned: KeyOutcome["pinned"];
}

/** Step 1's checks and decisions: reads only (the Secret, the host's keys by ssh-keyscan). */
async function planKey(opts: BootstrapOptions, target: RepoTarget, url: string, endpoint: { host: string; port: number }): Promise<KeyPlan> {
  const adapter = opts.host === undefined ? null : hostAdapter(opts.host, url, opts.env);
  const store = new KeyStore(opts.kc);
  const secret = await store.read(target);

  const pattern = hostPattern(endpoint.host, endpoint.port);
  let scanned: HostKeyEntry[];
  if (opts.knownHostsFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.knownHostsFile, "utf8");
    } catch (e) {
      throw new ValidationError([`--known-hosts ${opts.knownHostsFile}: ${(e as Error).message}`]);
    }
    scanned = hostKeysFromText(text, opts.knownHostsFile, endpoint.host, endpoint.port);
  } else {
    scanned = await scanHostKeys(endpoint.host, endpoint.port);
  }
  const existingHosts = secret?.knownHosts ?? "";
  const before = entriesFor(parseKnownHosts(existingHosts, "known_hosts").entries, pattern);
  if (isChange(before, scanned)) {
    throw new TenantryError(
      `the host key of ${pattern} changed: Secret ${target.namespace}/${target.secretName} pins ${before.map((e) => e.fingerprint).join(", ")}, the host now shows ${scanned.map((e) => e.fingerprint).join(", ")}: ` +
        `check the new fingerprint with the host's operator, pin it with tenantry keys known-hosts ${endpoint.host} --port ${endpoint.port} ${target.team === null ? "--admin" : `--team ${target.team}`} --force, then run bootstrap again`,
      ExitCode.invalid,
    );
  }
  const fingerprints = [...new Set(scanned.map((e) => e.fingerprint))].sort();
  const pinnedAlready = before.length > 0 && sameJson([...new Set(before.map((e) => e.fingerprint))].sort(), fingerprints);
  const knownHosts = pinnedAlready ? existingHosts : mergeKnownHosts(existingHosts, pattern, scanned);

  const pubInRepo = readRepoFile(opts.root, target.pubPath);
  const repoPub = pubInRepo === null ? null : requirePublicKey(pubInRepo, target.pubPath);
  const rotatingFrom = secret?.annotations[ANNOTATION.rotatingFrom];
  const ours = rotatingFrom === undefined ? [] : [rotatingFrom];
  if (secret?.identity !== undefined) {
    const pubLine = secret.identityPub ?? `${publicKeyOf(secret.identity)}\n`;
    const pub = parsePublicKey(pubLine);
    if (pub === null) {
      throw new TenantryError(`Secret ${target.namespace}/${target.secretName} holds a key tenantry cannot read: replace it with tenantry keys create --admin --force, then run bootstrap again`, ExitCode.invalid);
    }
    if (repoPub !== null && repoPub.fingerprint !== pub.fingerprint) {
      throw new ValidationError([
        `${target.pubPath} (${repoPub.fingerprint}) is not the key in Secret ${target.namespace}/${target.secretName} (${pub.fingerprint}): ` +
          "the admin repo is behind the cluster (pull it), or the repo's key is another cluster's; tenantry keys list shows the cluster's key",
      ]);
    }
    const annotations = adapter === null ? secret.annotations : withRegistration(secret.annotations, adapter);
    const changed = knownHosts !== existingHosts || !sameJson(sortedEntries(annotations), sortedEntries(secret.annotations));
    return {
      target,
      adapter,
      pub,
      privateKey: null,
      write: changed ? { ...secret, knownHosts, annotations } : null,
      secretExists: true,
      pubText: repoPub === null ? pubLine : null,
      replacedPub: null,
      ours,
      pinned: { pattern, fingerprints, changed: !pinnedAlready },
    };
  }
  const pair = generateKeyPair(target.title);
  const pub = parsePublicKey(pair.publicKey);
  if (pub === null) throw new TenantryError("the new deploy key could not be read back: this is a bug in tenantry", ExitCode.internal);
  const base = { ...withoutOurAnnotations(secret?.annotations ?? {}), [ANNOTATION.fingerprint]: pair.fingerprint, [ANNOTATION.created]: timestamp(opts.now?.() ?? new Date()), [ANNOTATION.registered]: "" };
  return {
    target,
    adapter,
    pub,
    privateKey: pair.privateKey,
    write: {
      identity: pair.privateKey,
      identityPub: `${pair.publicKey}\n`,
      knownHosts,
      annotations: adapter === null ? base : withRegistration(base, adapter),
      resourceVersion: secret?.resourceVersion,
    },
    secretExists: secret !== null,
    pubText: `${pair.publicKey}\n`,
    // The repo's key (another cluster's, or made with --out) stays where it is registered.
    replacedPub: repoPub?.fingerprint ?? null,
    ours: repoPub === null ? ours : [...ours, repoPub.fingerprint],
    pinned: { pattern, fingerprints, changed: !pinnedAlready },
  };
}

async function exists(api: RestClient, o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<boolean> {
  try {
    await api.readObject({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }) } });
    return true;
  } catch (e) {
    // A kind not served yet (its CRD comes in this very apply) has no objects either.
    if (apiRefusal(e)?.code === 404 || e instanceof KindNotServedError) return false;
    throw e;
  }
}

async function deleteQuietly(api: RestClient, o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<string | null> {
  try {
    await api.deleteObject({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }) } });
    return null;
  } catch (e) {
    if (apiRefusal(e)?.code === 404) return null;
    return `${describeObject(o)} could not be deleted again (${apiRefusal(e)?.message ?? String(e)}): delete it by hand`;
  }
}

function withLabels(o: KubeObject, labels: Readonly<Record<string, string>>): KubeObject {
  return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...labels } } };
}

/** Step 1's writes, in the order that keeps a failure from leaving anything behind. */
async function applyKey(opts: BootstrapOptions, plan: KeyPlan, common: readonly KubeObject[], engine: EngineProfile, counter: { writes: number }): Promise<KeyOutcome> {
  const { target, adapter } = plan;
  const api = RestClient.forConfig(opts.kc);
  const store = new KeyStore(opts.kc);
  let createdNamespace: KubeObject | null = null;
  let added: DeployKey | null = null;
  let registeredNow = false;
  try {
    // The Secret needs its namespace, which cluster/common defines: made now, as step 2 will apply it.
    if (plan.write !== null && !plan.secretExists) {
      const ns = common.find((o) => o.kind === "Namespace" && o.metadata.name === target.namespace) ?? { apiVersion: "v1", kind: "Namespace", metadata: { name: target.namespace } };
      if (!(await exists(api, ns))) {
        await api.apply(withLabels(ns, engine.labels), { fieldManager: engine.fieldManager, force: true });
        counter.writes++;
        createdNamespace = ns;
      }
    }
    // Registered before the Secret is written: a host that refuses leaves no Secret behind.
    if (adapter !== null) {
      const r = await ensureRegistered(adapter, plan.pub, target.title, target.title, plan.ours);
      registeredNow = r.added;
      if (r.added) added = r.key;
    }
    if (plan.write !== null) {
      await store.write(target, plan.write);
      counter.writes++;
    }
  } catch (e) {
    const left: string[] = [];
    if (added !== null && adapter !== null) {
      await adapter.remove(added).catch((why: unknown) => {
        left.push(`the key ${plan.pub.fingerprint} stays on ${adapter.where} (${(why as Error).message}): remove it there`);
      });
    }
    if (createdNamespace !== null) {
      const why = await deleteQuietly(api, createdNamespace);
      if (why !== null) left.push(why);
    }
    if (left.length === 0) throw e;
    const text = e instanceof Error ? e.message : String(e);
    throw new TenantryError(`${text}; undoing it failed: ${left.join("; ")}`, e instanceof TenantryError ? e.exitCode : ExitCode.external);
  }
  let commit: string | null = null;
  if (plan.pubText !== null) {
    // Only once the private half is stored, as keys create does.
    stageFile(join(opts.root, target.pubPath), plan.pubText).commit();
    if (opts.commit) commit = await commitAll(opts.root, `Deploy key ${plan.pub.fingerprint} for the admin repo (tenantry bootstrap)`, [target.pubPath]);
  }
  return {
    fingerprint: plan.pub.fingerprint,
    created: plan.privateKey !== null,
    secret: `${target.namespace}/${target.secretName}`,
    registeredOn: adapter?.where ?? null,
    registeredNow,
    pinned: plan.pinned,
    pubWritten: plan.pubText === null ? null : target.pubPath,
    replacedPub: plan.replacedPub,
    commit,
  };
}

/** The kinds that CRDs among `objects` define and the cluster does not serve yet. */
async function kindsDefinedHere(api: RestClient, objects: readonly KubeObject[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition") continue;
    const spec = (o as { spec?: { group?: string; names?: { kind?: string }; versions?: { name?: string }[] } }).spec;
    for (const v of spec?.versions ?? []) {
      const apiVersion = `${spec?.group ?? ""}/${v.name ?? ""}`;
      const kind = spec?.names?.kind ?? "";
      if (!(await api.serves(apiVersion, kind))) out.add(`${apiVersion} ${kind}`);
    }
  }
  return out;
}

/**
 * Step 2: what is not yet as desired, server-side dry run first (refusals change nothing),
 * then applied in stages; if that fails, what this step created is deleted again.
 */
async function applyCommon(opts: BootstrapOptions, objects: readonly KubeObject[], engine: EngineProfile, counter: { writes: number }): Promise<{ applied: number; unchanged: number }> {
  const api = RestClient.forConfig(opts.kc);
  const selector = Object.entries(engine.labels).map(([k, v]) => `${k}=${v}`).join(",");
  const unchanged = await unchangedObjects(api, objects, { labelSelector: selector }, engine.fieldManager);
  const changed = objects.filter((_, i) => !unchanged.has(i));
  if (changed.length === 0) return { applied: 0, unchanged: unchanged.size };

  const existed = await Promise.all(changed.map((o) => exists(api, o)));
  const newNamespaces = new Set(changed.filter((o, i) => o.kind === "Namespace" && existed[i] === false).map((o) => o.metadata.name));
  const notYetServed = await kindsDefinedHere(api, changed);
  // What can be dry-run now: not a kind a CRD of this apply defines, not in a namespace it makes.
  const checkable = changed.filter((o) => !notYetServed.has(`${o.apiVersion} ${o.kind}`) && !newNamespaces.has(o.metadata.namespace ?? ""));
  try {
    await applyObjects(opts.kc, checkable, { fieldManager: engine.fieldManager, force: true, dryRun: true });
  } catch (e) {
    if (!(e instanceof ApplyError)) throw e;
    throw new TenantryError(`${refusedText(e)}: the API server refused ${e.refused.length === 1 ? "it" : "them"} in a dry run, nothing of cluster/common was changed; ${FIX_COMMON}`, e.exitCode);
  }

  try {
    const summary = await applyObjects(opts.kc, changed, { fieldManager: engine.fieldManager, force: true });
    counter.writes += summary.applied;
    return { applied: summary.applied, unchanged: unchanged.size };
  } catch (e) {
    counter.writes += changed.length; // at most; the exact number is not known after a failure
    const created = changed.filter((_, i) => existed[i] === false);
    const left: string[] = [];
    for (const stage of [2, 1, 0]) {
      for (const o of created.filter((x) => applyStage(x) === stage)) {
        const why = await deleteQuietly(api, o);
        if (why !== null) left.push(why);
      }
    }
    const text = e instanceof ApplyError ? refusedText(e) : e instanceof TenantryError ? e.message.replaceAll("\n", "; ") : undefined;
    if (text === undefined) throw e;
    const undone = left.length === 0 ? `the ${created.length} object${created.length === 1 ? "" : "s"} this run had created ${created.length === 1 ? "was" : "were"} deleted again` : `undoing it failed: ${left.join("; ")}`;
    throw new TenantryError(`${text}: ${undone}; ${FIX_COMMON}`, e instanceof TenantryError ? e.exitCode : ExitCode.external);
  }
}

async function readOrNull(api: RestClient, s: { apiVersion: string; kind: string; namespace: string; name: string }): Promise<KubeObject | null> {
  try {
    return await api.readObject({ apiVersion: s.apiVersion, kind: s.kind, metadata: { name: s.name, namespace: s.namespace } });
  } catch (e) {
    if (apiRefusal(e)?.code === 404 || e instanceof KindNotServedError) return null;
    throw e;
  }
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Step 3: reads only, until every admin sync object is Ready for its current spec. */
async function waitReady(opts: BootstrapOptions, engine: EngineProfile, key: string | undefined): Promise<{ object: string; revision: string | null }[]> {
  const api = RestClient.forConfig(opts.kc);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const states = await Promise.all(engine.adminSync.map(async (s) => readiness(engine, s, await readOrNull(api, s), key)));
    if (states.every((r) => r.done)) return engine.adminSync.map((s, i) => ({ object: describeSync(s), revision: states[i]?.revision ?? null }));
    if (Date.now() >= deadline) {
      const why = states.find((r) => !r.done)?.why ?? "not Ready";
      throw new TenantryError(`${why} after ${formatMs(opts.timeoutMs)}: ${engine.startHint}; tenantry status shows the sync, then run bootstrap again (or give more --timeout)`, ExitCode.failure);
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now()))));
  }
}

async function checkoutHead(root: string): Promise<string | null> {
  try {
    return (await run("git", ["rev-parse", "HEAD"], { cwd: root })).stdout.trim();
  } catch {
    return null;
  }
}

export async function bootstrap(opts: BootstrapOptions): Promise<BootstrapResult> {
  const server = opts.kc.cluster.server;
  const progress = opts.progress ?? (() => undefined);
  const notes: string[] = [];
  const counter = { writes: 0 };

  // Everything checked first, each check under the step it belongs to; nothing is written yet.
  const config = await inStep("key", server, () => Promise.resolve(readClusterConfig(opts.root)));
  const engine = engineProfile(engineOf(config));
  // The engine pins where the admin key lives (docs/engines.md); keys/target.ts names the rest.
  const target = await inStep("key", server, () => Promise.resolve({ ...repoTarget(null, opts.root), namespace: engine.keySecret.namespace, secretName: engine.keySecret.name }));
  const url = target.repoUrl;
  if (url === null) {
    throw new StepError("key", `${join(opts.root, "tenantry.yaml")} has no spec.gitUrl: set it to the admin repo's URL (what the admin sync fetches), then run again`, ExitCode.invalid);
  }
  const endpoint = sshEndpoint(url);
  if (endpoint === null && opts.host !== undefined) {
    throw new StepError("key", `the admin repo's URL ${url} is not an SSH URL, so it has no deploy key to register: leave out --host, or set spec.gitUrl to the repo's ssh:// or git@host:path URL`, ExitCode.invalid);
  }
  const keyPlan = endpoint === null ? null : await inStep("key", server, () => planKey(opts, target, url, endpoint));
  const common = await inStep("apply", server, async () => (await buildObjects({ root: opts.root, dir: COMMON })).map((o) => withLabels(o, engine.labels)));

  // 1. deploy key
  let key: KeyOutcome | null = null;
  if (keyPlan === null) {
    progress(`${STEPS.key}: skipped: ${url} is not fetched over SSH, so the admin repo has no deploy key`);
  } else {
    key = await inStep("key", server, () => applyKey(opts, keyPlan, common, engine, counter));
    const parts = [
      key.created ? `created ${key.fingerprint} in Secret ${key.secret}` : `${key.fingerprint} in Secret ${key.secret}`,
      key.registeredOn === null ? "not registered by this run (pass --host to register it)" : `${key.registeredNow ? "registered" : "already registered"} read-only on ${key.registeredOn}`,
      `${key.pinned.changed ? "pinned" : "pinned already"}: ${key.pinned.pattern} ${key.pinned.fingerprints.join(", ")}`,
    ];
    progress(`${STEPS.key}: ${parts.join("; ")}`);
    if (key.pubWritten !== null) notes.push(key.commit === null ? `Wrote ${key.pubWritten}: commit and push it (or run with --commit).` : `Committed ${key.pubWritten} (${key.commit.slice(0, 7)}): push it.`);
    if (key.replacedPub !== null) notes.push(`${target.pubPath} held ${key.replacedPub} before: if no other cluster uses that key, remove it from the Git host.`);
    if (opts.knownHostsFile === undefined && key.pinned.changed) notes.push("The host key was scanned over the network: compare the fingerprints above with the ones the Git host's operator publishes.");
  }

  // 2. cluster/common
  const applied = await inStep("apply", server, () => applyCommon(opts, common, engine, counter));
  progress(`${STEPS.apply}: ${applied.applied === 0 ? "nothing to change" : `applied ${applied.applied}`}, ${applied.unchanged} unchanged (${common.length} objects)`);

  // 3. the admin sync
  progress(`${STEPS.wait}: waiting up to ${formatMs(opts.timeoutMs)} for ${engine.adminSync.map(describeSync).join(" and ")} to be Ready`);
  const sync = await inStep("wait", server, () => waitReady(opts, engine, key?.fingerprint));
  progress(`${STEPS.wait}: ${sync.map((s) => `${s.object} Ready${s.revision === null ? "" : ` at ${s.revision}`}`).join("; ")}`);
  const head = await checkoutHead(opts.root);
  const revision = sync.find((s) => s.revision !== null)?.revision ?? null;
  if (head !== null && revision !== null && !revision.endsWith(head)) {
    notes.push(`The admin sync applied ${revision}; this checkout is at ${head.slice(0, 7)}: push it, and the engine applies it.`);
  }
  return { engine: engine.name, key, applied: applied.applied, unchanged: applied.unchanged, sync, writes: counter.writes, notes };
}
