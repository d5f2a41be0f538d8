// One reconcile of a GitSync, as a fixed pipeline with a named result per step, the way
// Flux's kustomize-controller reads:
//   target -> render (fetch -> build) -> lint -> apply -> prune   (the caller writes the status)
// The target is the API server the objects go to: the agent's own, or the one the GitSync's
// spec.kubeConfig names (target.ts). Whatever talks to the objects' API server (discovery in
// the lint, the apply and its skip-unchanged lists, quota reads, the prune) uses the target;
// the deploy key, the kubeconfig Secret, status and Events stay on the agent's own.
// Any failure ends the run with Ready=False and its reason; nothing is pruned unless the
// fetch, the build, the lint and the apply all succeeded and the render is not empty (or
// the GitSync allows an empty render), save quota-first's narrow case (quota-first.ts). The
// last good state stays applied. A cancelled run (deps.cancel) starts no write and throws.

import { createHash } from "node:crypto";
import { existsSync, rmSync, statSync } from "node:fs";
import { join, normalize, relative } from "node:path";
import { impersonate, type KubeAccess, withSignal } from "../cluster/access.js";
import { applyObjects, ApplyError, applyStage, FIELD_MANAGER } from "../cluster/apply.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal, ClusterConnectionError } from "../cluster/api-errors.js";
import { describeObject, type KubeObject } from "../model/object.js";
import { Cancelled, type Cancellation, mapLimit } from "../concurrency.js";
import { TenantryError } from "../errors.js";
import { findBinary } from "../toolchain.js";
import { buildSplit } from "../build/kustomize.js";
import { BuildError, LIMITS, REMOTE_RENDER_BYTES } from "../build/service.js";
import { applyIdentity, applyNamespacesOf, formatRevision, type GitSync, type InventoryEntry, isClusterScoped, kubeConfigRefusal, NAMESPACES_REFUSED, namespacesRefusal, parseDuration, teamNamespaceOf } from "../model/gitsync.js";
import { headerOf, inventoryOf, outsideNamespaces, staleEntries } from "./inventory.js";
import { INFLATED_MAX_BYTES, inventoryEntries, InventoryNotStored, TEAM_INFLATED_MAX_BYTES } from "../model/inventory-store.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import { ownershipLabels, SYNC_NAME_LABEL, SYNC_NAMESPACE_LABEL } from "../model/labels.js";
import { defaultNamespace, type ScopeOf, teamScopeProblems } from "../policies/tenant-scope.js";
import { RenderCache } from "./render-cache.js";
import { isQuotaRefusal, quotaFirstStale, refusedCounts } from "./quota-first.js";
import { guardRender } from "./team-guard.js";
import { FetchError, fetchSource, type GitCredentials, keyFingerprintOf, remoteRevision } from "./source.js";
import { KUBECONFIG_INVALID, KUBECONFIG_REFUSED, RemoteAccesses, type RemoteTarget } from "./target.js";


export type Step = "target" | "fetch" | "build" | "lint" | "apply" | "prune";

export interface Outcome {
  readonly ready: boolean;
  readonly step?: Step;
  readonly reason: string;
  readonly message: string;
  /** The revision fetched, when the fetch succeeded. */
  readonly revision?: string;
  /** Inventory after a successful apply (and prune). */
  readonly inventory?: readonly InventoryEntry[];
  readonly applied: number;
  readonly pruned: number;
  /** SHA256 fingerprint of the deploy key the fetch used, when it succeeded with one. */
  readonly keyFingerprint?: string;
}

function failed(step: Step, reason: string, message: string, revision?: string): Outcome {
  return { ready: false, step, reason, message, applied: 0, pruned: 0, ...(revision === undefined ? {} : { revision }) };
}

function withLabels(o: KubeObject, labels: Record<string, string>): KubeObject {
  return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...labels } } };
}

function ownedBy(o: KubeObject, gs: GitSync): boolean {
  const l = o.metadata.labels ?? {};
  return l[SYNC_NAME_LABEL] === gs.metadata.name && l[SYNC_NAMESPACE_LABEL] === gs.metadata.namespace;
}

export async function readCredentials(agent: RestClient, gs: GitSync): Promise<GitCredentials | undefined> {
  const ref = gs.spec.secretRef;
  if (ref === undefined) return undefined;
  let secret: KubeObject;
  try {
    secret = await agent.readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: ref.name, namespace: gs.metadata.namespace } });
  } catch (e) {
    const r = apiRefusal(e);
    if (r?.code === 404) return undefined;
    throw new FetchError(`cannot read Secret ${gs.metadata.namespace}/${ref.name}: ${r?.message ?? String(e)}`);
  }
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  const get = (k: string): string | undefined => (data[k] === undefined ? undefined : Buffer.from(data[k], "base64").toString("utf8"));
  return { identity: get("identity"), knownHosts: get("known_hosts"), username: get("username"), password: get("password"), caCert: get("ca.crt") };
}

/** A Secret that cannot give a GitSync's age identities: the build fails, naming it (reason: whether a retry can help). */
class DecryptionKeyError extends Error {
  constructor(
    message: string,
    readonly reason: "DecryptionFailed" | "DecryptionSecretUnreadable" = "DecryptionFailed",
  ) {
    super(message);
  }
}

/** One age identity a line (X25519 or post-quantum), comments and blank lines as age allows. */
const AGE_IDENTITY_LINE = /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/;

/**
 * The age identities of `gs`'s spec.decryption (every key of its Secret ending in `.agekey`, in
 * key order), or undefined without one. Read with the agent's identity from the GitSync's own
 * namespace; they go to the build service over its pipe, never to disk.
 */
async function readAgeIdentities(agent: RestClient, gs: GitSync): Promise<string | undefined> {
  const ref = gs.spec.decryption?.secretRef;
  if (ref === undefined) return undefined;
  const name = `${gs.metadata.namespace}/${ref.name}`;
  let secret: KubeObject;
  try {
    secret = await agent.readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: ref.name, namespace: gs.metadata.namespace } });
  } catch (e) {
    const r = apiRefusal(e);
    if (r?.code === 404) throw new DecryptionKeyError(`spec.decryption names Secret ${name}, which does not exist: nothing was applied or pruned (\`tenantry secrets init\` makes it)`);
    throw new DecryptionKeyError(`cannot read Secret ${name} (spec.decryption): ${r?.message ?? String(e)}; nothing was applied or pruned`, "DecryptionSecretUnreadable");
  }
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  const keys = Object.keys(data).filter((k) => k.endsWith(".agekey")).sort();
  if (keys.length === 0) throw new DecryptionKeyError(`Secret ${name} (spec.decryption) holds no key ending in .agekey: nothing was applied or pruned`);
  const texts = keys.map((k) => {
    const text = Buffer.from(data[k] ?? "", "base64").toString("utf8").trim();
    const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
    // Checked here to name the key (the build service would refuse it without a name), never quoting it.
    if (lines.length === 0 || !lines.every((l) => AGE_IDENTITY_LINE.test(l))) throw new DecryptionKeyError(`Secret ${name} (spec.decryption) key ${k} is not a list of age identities (the lines age-keygen writes): nothing was applied or pruned`);
    return lines.join("\n");
  });
  return texts.join("\n");
}

export interface ReconcileDeps {
  /** The agent's own identity: reads Secrets, writes status and Events, applies cluster-scoped GitSyncs. */
  readonly agent: KubeAccess;
  readonly fetchTimeoutMs?: number;
  /**
   * Called before the apply with the previous inventory joined with the new one. Recording
   * it means that a run killed half-way leaves nothing orphaned: the next successful run
   * prunes whatever of it is no longer in Git.
   */
  readonly recordPending?: (entries: readonly InventoryEntry[]) => Promise<void>;
  /** Renders of revisions already built (default: one cache for the process). */
  readonly renders?: RenderCache;
  /** Accesses to the API servers of kubeconfig Secrets (default: one cache for the process). */
  readonly remotes?: RemoteAccesses;
  /**
   * Stops the run: kills git and kustomize, and no write starts once it is cancelled (the
   * caller's timeout, a lost lease, a shutdown). A cancelled run throws Cancelled.
   */
  readonly cancel?: Cancellation | undefined;
}

const processRenders = new RenderCache();
const processRemotes = new RemoteAccesses();

const whoamiCache = new WeakMap<KubeAccess, Promise<string>>();
/** One impersonating access per identity, so its connection (and pool) is reused across runs. */
const asCache = new WeakMap<KubeAccess, Map<string, KubeAccess>>();

/**
 * Who `base` is on its API server (a SelfSubjectReview), asked once per access; a failed
 * answer is not kept. `signal` aborts the request (base is shared by runs and has none).
 */
function identityOf(base: KubeAccess, signal?: AbortSignal): Promise<string> {
  let me = whoamiCache.get(base);
  if (me === undefined) {
    const asked = RestClient.forConfig(signal === undefined ? base : withSignal(base, signal)).whoami();
    whoamiCache.set(base, asked);
    asked.catch(() => {
      if (whoamiCache.get(base) === asked) whoamiCache.delete(base);
    });
    me = asked;
  }
  return me;
}

/**
 * The access to apply with on `base`'s API server: `base` itself, or the GitSync's
 * ServiceAccount there by impersonation; with `signal` when given.
 */
export async function applyConfig(base: KubeAccess, gs: GitSync, signal?: AbortSignal): Promise<KubeAccess> {
  const withRun = (a: KubeAccess): KubeAccess => (signal === undefined ? a : withSignal(a, signal));
  const user = applyIdentity(gs);
  if (user === undefined) return withRun(base);
  // A team's own agent already runs as the team (and a remote kubeconfig may be the team's
  // own): it has no right to impersonate, nor need.
  if ((await identityOf(base, signal)) === user) return withRun(base);
  let byUser = asCache.get(base);
  if (byUser === undefined) {
    byUser = new Map();
    asCache.set(base, byUser);
  }
  let as = byUser.get(user);
  if (as === undefined) {
    as = impersonate(base, user);
    byUser.set(user, as);
  }
  return withRun(as);
}

type Rendered = { readonly objects: KubeObject[]; readonly revision: string; readonly keyFingerprint?: string | undefined } | { readonly failure: Outcome };

/**
 * The objects of `gs` at its ref's current commit. A commit already rendered for this
 * GitSync (same path, same kustomize) is taken from the render cache after one
 * `git ls-remote`, without cloning or building; anything else is fetched and built.
 */
async function render(gs: GitSync, deps: ReconcileDeps, agent: RestClient): Promise<Rendered> {
  const renders = deps.renders ?? processRenders;
  const gsKey = `${gs.metadata.namespace}/${gs.metadata.name}`;
  let creds: GitCredentials | undefined;
  try {
    creds = await readCredentials(agent, gs);
  } catch (e) {
    if (e instanceof FetchError) return { failure: failed("fetch", "GitOperationFailed", e.message) };
    throw e;
  }
  const keyFingerprint = keyFingerprintOf(gs.spec.url, creds);
  const fetchOptions = { timeoutMs: deps.fetchTimeoutMs, signal: deps.cancel?.signal };
  // spec.path as written (normalised, never resolved), so a changed path never hits an old render.
  const pathKey = normalize(gs.spec.path ?? "./");
  let ageIdentities: string | undefined;
  try {
    ageIdentities = await readAgeIdentities(agent, gs);
  } catch (e) {
    if (e instanceof DecryptionKeyError) return { failure: failed("build", e.reason, e.message) };
    throw e;
  }
  let tool: string;
  try {
    // A render decrypted with other identities is another render (a retired key must fail).
    tool = ageIdentities === undefined ? findBinary("build").file : `${findBinary("build-sops").file}#${createHash("sha256").update(ageIdentities).digest("hex")}`;
    if (gs.spec.allowPlainSecrets === true) tool += "#plain"; // a render allowed plain is not one refused
  } catch (e) {
    if (e instanceof TenantryError) return { failure: failed("build", "BuildFailed", e.message) };
    throw e;
  }
  const last = renders.keyOf(gsKey);
  if (last !== undefined && last.path === pathKey && last.tool === tool) {
    let head: string;
    try {
      head = await remoteRevision(gs.spec.url, gs.spec.ref, creds, fetchOptions);
    } catch (e) {
      if (e instanceof FetchError) return { failure: failed("fetch", "GitOperationFailed", e.message) };
      throw e;
    }
    const objects = head === last.sha ? renders.get(gsKey, last) : undefined;
    if (objects !== undefined) return { objects, revision: formatRevision(gs.spec.ref, head), keyFingerprint };
  }

  let source;
  try {
    source = await fetchSource(gs.spec.url, gs.spec.ref, creds, fetchOptions);
  } catch (e) {
    if (e instanceof FetchError) return { failure: failed("fetch", "GitOperationFailed", e.message) };
    throw e;
  }
  const revision = formatRevision(gs.spec.ref, source.sha);
  const refused = (reason: string, message: string): Rendered => ({ failure: { ...failed("build", reason, message, revision), ...(keyFingerprint === undefined ? {} : { keyFingerprint }) } });
  try {
    const path = normalize(join(source.dir, gs.spec.path ?? "./"));
    const dir = relative(source.dir, path) || ".";
    if (dir.startsWith("..") || !existsSync(path) || !statSync(path).isDirectory()) {
      return refused("BuildFailed", `path ${gs.spec.path ?? "./"} does not exist in ${revision}`);
    }
    // The build service refuses remote bases, Helm, anything outside the checkout, and bounds size and time.
    let objects: KubeObject[];
    try {
      objects = await buildSplit(source.dir, dir, {
        timeoutMs: buildTimeoutMs(gs),
        limits: { renderBytes: renderBytesOf(gs) },
        ...(deps.cancel === undefined ? {} : { signal: deps.cancel.signal }),
        ...(ageIdentities === undefined ? {} : { ageIdentities }),
        // A team's Secrets go into Git encrypted (unless the admin allows plain ones).
        refusePlainSecrets: !isClusterScoped(gs) && gs.spec.allowPlainSecrets !== true,
      });
    } catch (e) {
      if (e instanceof BuildError && e.reason === "RenderTooLarge" && gs.spec.kubeConfig !== undefined) {
        return refused(e.reason, `${e.message} (the limit of a GitSync with spec.kubeConfig, whose render this agent parses); nothing was applied or pruned`);
      }
      if (e instanceof BuildError) return refused(e.reason === "BadRequest" ? "BuildFailed" : e.reason, e.message);
      if (e instanceof TenantryError) return refused("BuildFailed", e.message);
      throw e;
    }
    renders.set(gsKey, { sha: source.sha, path: pathKey, tool }, objects);
    return { objects, revision, keyFingerprint };
  } finally {
    rmSync(source.scratch, { recursive: true, force: true });
  }
}

/** The most `gs`'s render may be: REMOTE_RENDER_BYTES with spec.kubeConfig, else the service's limit. */
export function renderBytesOf(gs: Pick<GitSync, "spec">): number {
  return gs.spec.kubeConfig === undefined ? LIMITS.renderBytes : REMOTE_RENDER_BYTES;
}

/** How long one build may take: the GitSync's spec.timeout, else the service's limit. */
function buildTimeoutMs(gs: GitSync): number {
  if (gs.spec.timeout === undefined) return LIMITS.timeoutMs;
  try {
    return parseDuration(gs.spec.timeout);
  } catch {
    return LIMITS.timeoutMs; // the CRD validates the pattern; a stored oddity gets the default
  }
}

/**
 * Deletes the `stale` objects this GitSync applied and still owns: workloads first,
 * definitions (Namespaces, CRDs) last; within a stage, in parallel. Already gone is fine;
 * what the API server refuses is returned.
 */
async function pruneStale(gs: GitSync, applier: KubeAccess, stale: readonly InventoryEntry[], cancel: Cancellation | undefined): Promise<{ pruned: number; refused: { entry: InventoryEntry; message: string }[] }> {
  const client = RestClient.forConfig(applier);
  const refused: { entry: InventoryEntry; message: string }[] = [];
  let pruned = 0;
  for (const stage of [2, 1, 0]) {
    const entries = stale.filter((e) => applyStage(headerOf(e)) === stage);
    const results = await mapLimit(entries, 8, async (entry): Promise<boolean> => {
      const h = headerOf(entry);
      try {
        const live = await client.readObject(h);
        if (!ownedBy(live, gs)) return false;
        cancel?.check();
        await client.deleteObject(h);
        return true;
      } catch (e) {
        if (e instanceof Cancelled) throw e;
        const r = apiRefusal(e);
        if (r?.code !== 404) refused.push({ entry, message: `${describeObject(h)}: ${r?.message ?? String(e)}` });
        return false;
      }
    });
    pruned += results.filter(Boolean).length;
  }
  return { pruned, refused };
}

/** What one run knows once the source is built: its revision, the key it fetched with, the inventory before it. */
interface Run {
  readonly gs: GitSync;
  readonly deps: ReconcileDeps;
  readonly revision: string;
  readonly keyFingerprint: string | undefined;
  readonly previous: readonly InventoryEntry[];
  /** Stale entries the team guard holds back (team-guard.ts): never pruned, still in the inventory. */
  readonly held: ReadonlySet<string>;
}

/** What Git no longer has and may be pruned: stale entries the team guard does not hold. */
function prunable(run: Run, current: readonly InventoryEntry[]): InventoryEntry[] {
  return staleEntries(run.previous, current).filter((e) => !run.held.has(e.id));
}

/** An outcome of `run` that carries the deploy key's fingerprint of a fetch that succeeded. */
function keyed(run: Pick<Run, "keyFingerprint">, o: Outcome): Outcome {
  return run.keyFingerprint === undefined ? o : { ...o, keyFingerprint: run.keyFingerprint };
}

type Staged<T> = { readonly ok: T } | { readonly failure: Outcome };

/**
 * lint: a team's render may only hold namespaced objects of its team's namespace (those
 * without one go there) or of the extra namespaces its spec.namespaces lists, as the target
 * API server's discovery says; then every object gets the GitSync's ownership labels.
 */
async function lint(run: Run, target: RestClient, rendered: readonly KubeObject[]): Promise<Staged<KubeObject[]>> {
  const { gs } = run;
  let objects = [...rendered];
  const scopes = new Map<string, "namespaced" | "cluster" | "unknown">();
  for (const o of objects) {
    const k = `${o.apiVersion} ${o.kind}`;
    if (!scopes.has(k)) scopes.set(k, await target.scopeOf(o.apiVersion, o.kind));
  }
  const scopeOf: ScopeOf = (o) => scopes.get(`${o.apiVersion} ${o.kind}`) ?? "unknown";
  const labels = ownershipLabels(gs);
  if (!isClusterScoped(gs)) {
    const team = teamNamespaceOf(gs);
    objects = defaultNamespace(objects, team, scopeOf);
    const problems = teamScopeProblems(objects, team, scopeOf, applyNamespacesOf(gs));
    if (problems.length > 0) return { failure: keyed(run, failed("lint", "LintFailed", `nothing of ${run.revision} was applied: ${problems.join("; ")}`, run.revision)) };
  }
  return { ok: objects.map((o) => withLabels(o, labels)) };
}

/**
 * apply: server-side apply of every object as the GitSync's identity, skipping what is
 * already as Git says (listed by this GitSync's labels; a team's in its own namespace, as the
 * team). Before it, the union of the old and new inventories is recorded, so a run killed
 * half-way leaves nothing orphaned.
 */
async function apply(run: Run, applier: KubeAccess, objects: readonly KubeObject[]): Promise<Staged<{ unchanged: number; pruned: number }>> {
  const { gs, deps, previous } = run;
  const current = inventoryOf(objects);
  const union = new Map([...previous, ...current].map((e) => [e.id, e]));
  // Nothing new to remember when every object is already in the recorded inventory.
  if (deps.recordPending !== undefined && union.size !== previous.length) {
    deps.cancel?.check();
    try {
      await deps.recordPending([...union.values()].sort((a, b) => a.id.localeCompare(b.id)));
    } catch (e) {
      if (!(e instanceof InventoryNotStored)) throw e;
      return { failure: keyed(run, failed("apply", e.reason, `nothing of ${run.revision} was applied: ${e.message}`, run.revision)) };
    }
  }
  const labelSelector = `${SYNC_NAMESPACE_LABEL}=${gs.metadata.namespace},${SYNC_NAME_LABEL}=${gs.metadata.name}`;
  // A team with extra namespaces lists in each of them (as the team: it may not list cluster-wide).
  const extra = (gs.spec.namespaces ?? []).length > 0;
  const skipUnchanged = isClusterScoped(gs) ? { labelSelector } : extra ? { labelSelector, namespaces: applyNamespacesOf(gs) } : { labelSelector, namespace: teamNamespaceOf(gs) };
  const applyAll = () => applyObjects(applier, objects, { fieldManager: FIELD_MANAGER, force: true, skipUnchanged, cancel: deps.cancel });
  try {
    return { ok: { unchanged: (await applyAll()).unchanged, pruned: 0 } };
  } catch (e) {
    if (!(e instanceof ApplyError)) throw e;
    const applyFailed = (): Staged<never> => ({ failure: keyed(run, { ...failed("apply", "ApplyFailed", e.message.replaceAll("\n", "; "), run.revision), inventory: afterFailedApply(run, current, e) }) });
    // Quota-first (quota-first.ts): only for count quotas that the revision fits by itself.
    const counts = gs.spec.prune === false ? undefined : refusedCounts(e.refused);
    if (counts === undefined) return applyFailed();
    let stale: InventoryEntry[] | undefined;
    try {
      const quotaRun = { objects, inventory: new Set([...previous, ...current].map((x) => x.id)), stale: prunable(run, current), labelled: (o: KubeObject) => ownedBy(o, gs) };
      stale = await quotaFirstStale(RestClient.forConfig(applier), counts, quotaRun);
    } catch (again) {
      if (again instanceof Cancelled) throw again;
      stale = undefined; // what could not be read is no reason to delete anything
    }
    if (stale === undefined) return applyFailed();
    return applyFreeingQuota(run, applier, stale, current, applyAll);
  }
}

/**
 * The inventory after an apply that failed: the previous one and what of this revision may
 * have been applied. Not what the API server refused outright or what was never sent (a later
 * stage), unless the previous inventory had it: this GitSync never wrote those, and a prune of
 * them would read objects its identity may not even read (a refused kind), failing every run
 * after. An answer that may have come after the write (5xx, 408, 429) keeps the object.
 */
function afterFailedApply(run: Pick<Run, "previous">, current: readonly InventoryEntry[], e: ApplyError): InventoryEntry[] {
  const unapplied = new Set(inventoryOf(e.unapplied).map((x) => x.id));
  const had = new Set(run.previous.map((x) => x.id));
  const union = new Map([...run.previous, ...current.filter((x) => had.has(x.id) || !unapplied.has(x.id))].map((x) => [x.id, x]));
  return [...union.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Quota-first (quota-first.ts decided it may): prune `stale` first and apply again. The
 * quota controller gives freed quota back asynchronously (usually within a second, longer on
 * a busy control plane): try again each second for up to 10 s.
 */
async function applyFreeingQuota(
  run: Run,
  applier: KubeAccess,
  stale: readonly InventoryEntry[],
  current: readonly InventoryEntry[],
  applyAll: () => Promise<{ unchanged: number }>,
): Promise<Staged<{ unchanged: number; pruned: number }>> {
  const { pruned, refused } = await pruneStale(run.gs, applier, stale, run.deps.cancel);
  const stillThere = new Set(refused.map((r) => r.entry.id));
  const gone = new Set(stale.filter((x) => !stillThere.has(x.id)).map((x) => x.id));
  const deadline = Date.now() + 10_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    run.deps.cancel?.check();
    try {
      return { ok: { unchanged: (await applyAll()).unchanged, pruned } };
    } catch (again) {
      if (!(again instanceof ApplyError)) throw again;
      if (Date.now() < deadline && again.refused.every(isQuotaRefusal)) continue;
      const message = `${again.message.replaceAll("\n", "; ")} (after pruning ${String(pruned)} objects Git no longer has, to free quota)`;
      const kept = { previous: run.previous.filter((x) => !gone.has(x.id)) };
      return { failure: keyed(run, { ...failed("apply", "ApplyFailed", message, run.revision), inventory: afterFailedApply(kept, current, again) }) };
    }
  }
}

/** prune: what the previous inventory has and this render does not, unless spec.prune is false. */
async function prune(run: Run, applier: KubeAccess, current: readonly InventoryEntry[]): Promise<Staged<number>> {
  if (run.gs.spec.prune === false) return { ok: 0 };
  const { pruned, refused } = await pruneStale(run.gs, applier, prunable(run, current), run.deps.cancel);
  if (refused.length === 0) return { ok: pruned };
  // Keep what could not be pruned (or is held) in the inventory, so the next run tries again.
  const kept = run.previous.filter((e) => run.held.has(e.id));
  const inventory = [...current, ...kept, ...refused.map((r) => r.entry)].sort((a, b) => a.id.localeCompare(b.id));
  return { failure: keyed(run, { ...failed("prune", "PruneFailed", refused.map((r) => r.message).join("; "), run.revision), inventory }) };
}

/**
 * Runs the pipeline for `gs`: target, fetch and build (render), lint, apply, prune. The
 * caller records the outcome as the GitSync's status (gitsync-status.ts). Never throws for a
 * failure of the GitSync's own making, nor because another API server it names does not
 * answer; a failure to reach the agent's own API server is thrown.
 */
export async function reconcile(gs: GitSync, deps: ReconcileDeps): Promise<Outcome> {
  const agent = RestClient.forConfig(deps.agent);
  const refusal = kubeConfigRefusal(gs);
  if (refusal !== undefined) return failed("target", KUBECONFIG_REFUSED, `${refusal}. Nothing was applied or pruned.`);
  const namespaces = namespacesRefusal(gs);
  if (namespaces !== undefined) return failed("target", NAMESPACES_REFUSED, `${namespaces}. Nothing was applied or pruned.`);
  const target = await (deps.remotes ?? processRemotes).resolve(agent, gs);
  if ("failure" in target) return failed("target", target.failure.reason, target.failure.message);
  deps.cancel?.check();

  const rendered = await render(gs, deps, agent);
  deps.cancel?.check(); // a cancelled fetch or build reads as a failed one: say it was cancelled
  if ("failure" in rendered) return rendered.failure;
  let previous: readonly InventoryEntry[];
  try {
    // A team's own agent may write a team GitSync's status: its inventory is bounded tighter.
    previous = inventoryEntries(gs.status?.inventory, gs.metadata.namespace === SYSTEM_NAMESPACE ? INFLATED_MAX_BYTES : TEAM_INFLATED_MAX_BYTES);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return keyed({ keyFingerprint: rendered.keyFingerprint }, failed("apply", "InventoryUnreadable", `${why}; nothing was applied or pruned (an admin may clear status.inventory, leaving what this GitSync applied before unpruned)`, rendered.revision));
  }
  const run: Run = { gs, deps, revision: rendered.revision, keyFingerprint: rendered.keyFingerprint, previous, held: new Set() };
  if (rendered.objects.length === 0 && gs.spec.allowEmpty !== true) {
    return keyed(run, failed("build", "EmptyRender", `${run.revision} renders no objects; nothing was applied or pruned (set spec.allowEmpty to allow it)`, run.revision));
  }
  const remote = target.remote;
  if (remote === undefined) return lintApplyPrune(run, agent, () => applyConfig(deps.agent, gs), rendered.objects);
  try {
    return await onRemote(run, remote, rendered.objects);
  } catch (e) {
    // The other API server did not answer (or not over TLS we trust): a condition, like a
    // refused apply, naming the server and the Secret; nothing is pruned.
    if (e instanceof ClusterConnectionError && e.server === remote.access.cluster.server) {
      return keyed(run, failed("apply", "ApplyFailed", `${e.message} (the API server of kubeconfig ${remote.source}); nothing was pruned`, run.revision));
    }
    throw e;
  }
}

/**
 * The pipeline on the API server of a kubeconfig Secret: first who the kubeconfig is there
 * (which also proves the server answers and takes its credentials), then as on the agent's
 * own, with that server's discovery and the GitSync's identity there.
 */
async function onRemote(run: Run, remote: RemoteTarget, objects: readonly KubeObject[]): Promise<Outcome> {
  const signal = run.deps.agent.signal;
  const server = remote.access.cluster.server;
  let applier: KubeAccess;
  try {
    applier = await applyConfig(remote.access, run.gs, signal);
  } catch (e) {
    const r = apiRefusal(e);
    if (r?.code === 401) {
      const message = `kubeconfig ${remote.source}: the API server at ${server} did not accept its credentials (401 Unauthorized): put a kubeconfig with valid credentials there. Nothing was applied or pruned.`;
      return keyed(run, failed("target", KUBECONFIG_INVALID, message, run.revision));
    }
    if (r !== undefined) {
      return keyed(run, failed("apply", "ApplyFailed", `the API server at ${server} (kubeconfig ${remote.source}) would not say who the kubeconfig is: ${r.message} (HTTP ${String(r.code)}); nothing was applied or pruned`, run.revision));
    }
    throw e;
  }
  const target = RestClient.forConfig(signal === undefined ? remote.access : withSignal(remote.access, signal));
  return lintApplyPrune(run, target, () => Promise.resolve(applier), objects);
}

/**
 * Which of a team's `outside` entries (objects in namespaces spec.namespaces no longer lists)
 * stay in the inventory: those still there and still this GitSync's, as its identity reads
 * them. Gone (404), or out of the team's reach (403: its RoleBinding there went with the
 * namespace), an entry is forgotten, since the team could never prune it; any other failure keeps it.
 */
async function heldOutside(gs: GitSync, applier: KubeAccess, outside: readonly InventoryEntry[]): Promise<InventoryEntry[]> {
  if (outside.length === 0) return [];
  const client = RestClient.forConfig(applier);
  const kept = await mapLimit(outside, 8, async (entry): Promise<boolean> => {
    try {
      return ownedBy(await client.readObject(headerOf(entry)), gs);
    } catch (e) {
      const code = apiRefusal(e)?.code;
      return code !== 404 && code !== 403;
    }
  });
  return outside.filter((_, i) => kept[i] === true);
}

/** lint, apply, prune on the target API server (`target`: its client as the agent or kubeconfig; `applierOf`: who applies there). */
async function lintApplyPrune(run: Run, target: RestClient, applierOf: () => Promise<KubeAccess>, rendered: readonly KubeObject[]): Promise<Outcome> {
  const linted = await lint(run, target, rendered);
  if ("failure" in linted) return linted.failure;
  const objects = linted.ok;
  // A team that vanished from Git without a tombstone keeps every object (team-guard.ts).
  const guard = guardRender(run.previous, objects);
  const current = inventoryOf(objects);
  // A team's objects in a namespace its spec.namespaces no longer lists are never pruned
  // (heldOutside): the namespace may have been dropped by mistake, and leaving is the admin
  // repo's to decide (a tombstone deletes the namespace with everything in it).
  const outside = isClusterScoped(run.gs) ? [] : outsideNamespaces(staleEntries(run.previous, current), applyNamespacesOf(run.gs));
  const guarded: Run = { ...run, held: new Set([...guard.keep, ...outside].map((e) => e.id)) };

  const applier = await applierOf();
  const applied = await apply(guarded, applier, objects);
  if ("failure" in applied) return applied.failure;

  const pruned = await prune(guarded, applier, current);
  if ("failure" in pruned) return pruned.failure;
  const held = await heldOutside(run.gs, applier, outside);

  const total = applied.ok.pruned + pruned.ok;
  const heldNote = held.length === 0 ? "" : `; kept ${held.length} objects in namespaces spec.namespaces no longer lists (${[...new Set(held.map((e) => headerOf(e).metadata.namespace))].join(", ")}), not pruned: the admin repo deletes a namespace`;
  const message = `Applied revision: ${run.revision} (${objects.length} objects, ${applied.ok.unchanged} unchanged${total > 0 ? `, pruned ${total}` : ""}${heldNote})`;
  const inventory = [...current, ...guard.keep, ...held].sort((a, b) => a.id.localeCompare(b.id));
  const done = { revision: run.revision, inventory, applied: objects.length, pruned: total };
  if (guard.reason !== null) return keyed(run, { ready: false, step: "prune", reason: guard.reason, message: `${guard.message ?? ""}. ${message}`, ...done });
  return keyed(run, { ready: true, reason: "ReconciliationSucceeded", message, ...done });
}
