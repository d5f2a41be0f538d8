// `tenantry agent`: the long-running reconciler. Lists the GitSyncs in its scope, runs each
// on its interval (with jitter, backoff and a timeout), at once when its spec changes or a
// signed webhook push arrives; only the Lease holder reconciles; SIGTERM drains and exits.
// A run is cancelled (git and kustomize killed, no write started after) when it overruns its
// timeout, when this replica stops holding the Lease, or at shutdown; its slot is freed only
// once it has stopped, so a GitSync never has two runs in flight.

import { hostname } from "node:os";
import { type KubeAccess, withSignal } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { Reflector } from "../cluster/reflector.js";
import { apiRefusal } from "../cluster/api-errors.js";
import { GITSYNC_API_VERSION, GITSYNC_KIND, type GitSync, type InventoryEntry, parseDuration } from "../model/gitsync.js";
import { SYSTEM_NAMESPACE } from "../model/names.js";
import type { KubeObject } from "../model/object.js";
import { Cancelled, type Cancellation } from "../concurrency.js";
import { type Outcome, reconcile } from "../sync/reconcile.js";
import { recordOutcome, recordPendingInventory } from "../sync/gitsync-status.js";
import { LeaderElector, type LeaseTimings } from "./lease.js";
import { defaultScheduleOptions, Schedule } from "./schedule.js";

export interface AgentEvents {
  reconciled(key: string, outcome: Outcome, seconds: number): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentOptions {
  readonly kubeconfig: KubeAccess;
  /** Only GitSyncs in this namespace; all namespaces when undefined. */
  readonly namespace?: string | undefined;
  readonly leaderElect: boolean;
  readonly identity?: string;
  /**
   * The GitSyncs are watched; this is the first wait before watching again after a failure,
   * and the least time between two requests a replica that does not lead records for one GitSync.
   */
  readonly pollMs?: number;
  readonly concurrency?: number;
  /** A webhook push runs a GitSync no sooner than this after its last run started. */
  readonly triggerSpacingMs?: number;
  /** Lease timings (client-go's defaults when undefined). */
  readonly leaseTimings?: LeaseTimings | undefined;
  readonly events: AgentEvents;
}

/** How long a webhook token read from its Secret is used. */
const TOKEN_TTL_MS = 30_000;

/** What the agent keeps of each GitSync between runs (a run reads the GitSync itself). */
interface Kept {
  readonly uid: string | undefined;
  readonly generation: number | undefined;
  readonly webhookSecret: string | undefined;
  readonly requestedAt: string | undefined;
}

function kept(o: KubeObject): Kept {
  const gs = o as unknown as GitSync;
  const uid = gs.metadata.uid;
  return { uid: typeof uid === "string" ? uid : undefined, generation: gs.metadata.generation, webhookSecret: gs.spec.webhookSecretRef?.name, requestedAt: gs.status?.requestedAt };
}

function splitKey(key: string): { namespace: string; name: string } {
  const [namespace = "", name = ""] = key.split("/");
  return { namespace, name };
}

function timeoutOf(gs: GitSync): number {
  try {
    return parseDuration(gs.spec.timeout ?? gs.spec.interval);
  } catch {
    return 60_000;
  }
}

export class Agent {
  readonly schedule: Schedule;
  readonly elector: LeaderElector | undefined;
  private readonly client: RestClient;
  private stopping = false;
  /** The GitSyncs in scope, watched. */
  private readonly gitsyncs: Reflector<Kept>;
  /** Ends the watch at shutdown. */
  private readonly watching = new AbortController();
  /** The reflector's change count last acted on. */
  private seenChanges = -1;
  /** Each watched GitSync's uid. */
  private readonly uids = new Map<string, string | undefined>();
  private wake: (() => void) | undefined;
  /** Wakes sleeps (the lease loop's) at shutdown. */
  private readonly stoppers = new Set<() => void>();
  /** Set when the drain at shutdown ran out: running reconciles were cancelled. */
  private cancelling: Cancelled | undefined;
  /** The lease loop runs until this is set: after the drain, so drained runs keep their lease. */
  private leaseDone = false;
  private readonly running = new Set<Promise<void>>();
  /** The cancellation of each running reconcile. */
  private readonly cancels = new Set<AbortController>();
  /** Each listed GitSync's webhook Secret name (from the list: no read per request). */
  private readonly hookSecretNames = new Map<string, string | undefined>();
  /** Webhook tokens read lately, by GitSync: a delivery costs the API server at most one read per TTL. */
  private readonly hookTokens = new Map<string, { token: Promise<string | undefined>; until: number }>();
  /** The last seen `status.requestedAt` of each GitSync (a push received by another replica). */
  private readonly requested = new Map<string, string | undefined>();
  /** When this replica (not leading) last asked the leader to run each GitSync. */
  private readonly asked = new Map<string, number>();
  private readonly askPending = new Set<string>();

  constructor(private readonly o: AgentOptions) {
    this.client = RestClient.forConfig(o.kubeconfig);
    this.schedule = new Schedule({ ...defaultScheduleOptions, ...(o.triggerSpacingMs === undefined ? {} : { triggerSpacingMs: o.triggerSpacingMs }) });
    const identity = o.identity ?? `${hostname()}-${process.pid}`;
    this.elector = o.leaderElect ? new LeaderElector(o.kubeconfig, o.namespace ?? SYSTEM_NAMESPACE, "tenantry-agent", identity, o.leaseTimings) : undefined;
    this.gitsyncs = new Reflector<Kept>({
      client: RestClient.forConfig(withSignal(o.kubeconfig, this.watching.signal)),
      apiVersion: GITSYNC_API_VERSION,
      kind: GITSYNC_KIND,
      namespace: o.namespace,
      project: kept,
      retryMs: o.pollMs ?? 2_000,
      onChange: () => this.wake?.(),
      onError: (e) => {
        if (apiRefusal(e)?.code === 410) this.o.events.info("the GitSync watch fell too far behind; listing them again");
        else this.o.events.error("watching GitSyncs failed; retrying", { error: e instanceof Error ? e.message : String(e) });
      },
    });
  }

  /** How many watch events and lists the GitSync mirror took (for tests). */
  get watchCounts(): { lists: number; events: number } {
    return { lists: this.gitsyncs.lists, events: this.gitsyncs.watchEvents };
  }

  private stopRequested(): boolean {
    return this.stopping;
  }

  /** Ready once the GitSyncs were listed and, with leader election, whether or not we lead. */
  ready(): boolean {
    return this.gitsyncs.synced && !this.stopping;
  }

  /**
   * A webhook push: reconcile this GitSync as soon as the schedule allows; when that is (ms),
   * or undefined if unknown. A replica that does not lead records the request in the GitSync's
   * status (`requestedAt`, the status subresource being all an agent may write) for the leader
   * to see at its next list, so no push is lost to the Service picking the wrong replica.
   */
  async trigger(namespace: string, name: string): Promise<number | undefined> {
    const key = `${namespace}/${name}`;
    if (this.schedule.get(key) === undefined) return undefined;
    if (this.elector !== undefined && !this.elector.isLeader()) {
      // At most one request per GitSync per poll interval (a flood of pushes costs the API
      // server one status write per interval); a push inside that interval is asked for once
      // more at its end, so none is lost.
      const poll = this.o.pollMs ?? 2_000;
      const last = this.asked.get(key);
      const wait = last === undefined ? 0 : last + poll - Date.now();
      if (wait > 0) {
        if (!this.askPending.has(key)) {
          this.askPending.add(key);
          setTimeout(() => {
            this.askPending.delete(key);
            this.askLeader(namespace, name).catch((e: unknown) => {
              this.o.events.error("asking the leader to run a pushed GitSync failed", { gitsync: key, error: e });
            });
          }, wait).unref();
        }
        return Date.now() + wait + poll;
      }
      await this.askLeader(namespace, name);
      return Date.now() + poll;
    }
    const due = this.schedule.trigger(key, Date.now());
    if (due !== undefined) this.wake?.();
    return due;
  }

  /** Records a push in the GitSync's status for the leader (see trigger). */
  private async askLeader(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    this.asked.set(key, Date.now());
    try {
      await this.client.patchStatus({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name, namespace } }, { requestedAt: new Date().toISOString() });
    } catch (e) {
      this.asked.delete(key); // not asked: the next push (or the Git host's redelivery) asks again
      throw e;
    }
  }

  /**
   * The webhook token of a GitSync in scope, or undefined. Only GitSyncs the agent has listed
   * are looked up, their Secret's name comes from the list, and a token is kept for
   * TOKEN_TTL_MS: requests naming anything else cost the API server nothing, and a flood of
   * deliveries one read per TTL.
   */
  webhookSecret(namespace: string, name: string): Promise<string | undefined> {
    const key = `${namespace}/${name}`;
    const secretName = this.hookSecretNames.get(key);
    if (secretName === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    const cached = this.hookTokens.get(key);
    if (cached !== undefined && cached.until > now) return cached.token;
    const token = this.client
      .readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: secretName, namespace } })
      .then((secret) => {
        const data = (secret as { data?: Record<string, string> }).data?.token;
        return data === undefined ? undefined : Buffer.from(data, "base64").toString("utf8");
      })
      .catch((e: unknown) => {
        this.hookTokens.delete(key); // a failed read is not kept
        if (apiRefusal(e)?.code === 404) return undefined;
        throw e;
      });
    this.hookTokens.set(key, { token, until: now + TOKEN_TTL_MS });
    return token;
  }

  /** Acts on the watched GitSyncs: new, changed and deleted ones, and pushes recorded by another replica. */
  private refresh(): void {
    if (!this.gitsyncs.synced || this.gitsyncs.changes === this.seenChanges) return;
    this.seenChanges = this.gitsyncs.changes;
    const items = this.gitsyncs.snapshot();
    const now = Date.now();
    for (const [key, k] of items) {
      // Deleted and made again between two looks: a new GitSync, not a changed one.
      if (this.uids.has(key) && this.uids.get(key) !== k.uid) this.schedule.forget(key);
      this.uids.set(key, k.uid);
    }
    for (const key of [...this.uids.keys()]) if (!items.has(key)) this.uids.delete(key);
    this.schedule.sync(new Map([...items].map(([key, k]) => [key, k.generation])), now);
    for (const key of [...this.hookSecretNames.keys()]) {
      if (items.has(key)) continue;
      this.hookSecretNames.delete(key);
      this.hookTokens.delete(key);
      this.requested.delete(key);
      this.asked.delete(key);
    }
    for (const [key, k] of items) {
      if (this.hookSecretNames.get(key) !== k.webhookSecret) this.hookTokens.delete(key);
      this.hookSecretNames.set(key, k.webhookSecret);
      // A new request from another replica (not the one seen at this agent's first list).
      if (this.requested.has(key) && k.requestedAt !== undefined && k.requestedAt !== this.requested.get(key)) this.schedule.trigger(key, now);
      this.requested.set(key, k.requestedAt);
    }
  }

  /** Cancels every running reconcile (they stop before their next write). */
  private cancelAll(reason: Cancelled): void {
    if (reason.why === "shutdown") this.cancelling = reason;
    for (const c of this.cancels) if (!c.signal.aborted) c.abort(reason);
  }

  /**
   * The cancellation of one run: its timeout, a shutdown, or this replica no longer holding the
   * Lease of the term the run started in (judged at each check by the local clock: after a
   * pause the process's I/O callbacks run before its timers).
   */
  private cancellation(controller: AbortController, term: number | undefined): Cancellation {
    return {
      signal: controller.signal,
      check: () => {
        if (this.elector !== undefined && !this.elector.holds(term) && !controller.signal.aborted) {
          controller.abort(new Cancelled("this replica no longer holds the lease", "lease"));
        }
        controller.signal.throwIfAborted();
      },
    };
  }

  private async runOne(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const started = Date.now();
    let ok = false;
    let interval = "1m";
    const term = this.elector?.term();
    // Two cancellations: the run's (its timeout, a lost lease, a shutdown) and the standing one
    // (a lost lease, a shutdown) under which a timed-out run still records that it timed out.
    // Each aborts its requests on the wire too (withSignal), not only before the next one.
    const run = new AbortController();
    const standing = new AbortController();
    this.cancels.add(run);
    this.cancels.add(standing);
    let timer: NodeJS.Timeout | undefined;
    try {
      const gs = (await this.client.readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name, namespace } })) as GitSync;
      interval = gs.spec.interval;
      if (gs.spec.suspend === true) {
        ok = true;
        return;
      }
      const limit = timeoutOf(gs);
      timer = setTimeout(() => {
        this.o.events.info("reconcile timed out; cancelling it", { gitsync: key, timeout: gs.spec.timeout ?? gs.spec.interval });
        run.abort(new Cancelled(`reconcile took longer than ${gs.spec.timeout ?? gs.spec.interval}; it was stopped before its next write`, "timeout"));
      }, limit);
      const runAccess = withSignal(this.o.kubeconfig, run.signal);
      const deps = { agent: runAccess, fetchTimeoutMs: limit, cancel: this.cancellation(run, term), recordPending: (entries: readonly InventoryEntry[]) => recordPendingInventory(runAccess, gs, entries) };
      let outcome: Outcome;
      try {
        outcome = await reconcile(gs, deps);
      } catch (e) {
        if (e instanceof Cancelled && e.why !== "timeout") {
          ok = true; // not a failure of the GitSync: whoever leads next runs it
          this.o.events.info("reconcile cancelled", { gitsync: key, reason: e.message });
          return;
        }
        if (apiRefusal(e)?.code === 404 && (await this.gone(gs))) {
          ok = true;
          return;
        }
        // Timed out, or broke on something outside the GitSync (the API server unreachable, a
        // connection dropped): still a condition on the GitSync, while the API server takes one.
        outcome = e instanceof Cancelled ? { ready: false, reason: "ReconcileTimeout", message: e.message, applied: 0, pruned: 0 } : { ready: false, reason: "ReconcileError", message: `the reconcile broke off: ${e instanceof Error ? e.message : String(e)}; nothing was pruned`, applied: 0, pruned: 0 };
      }
      clearTimeout(timer);
      const statusCheck = this.cancellation(standing, term);
      try {
        statusCheck.check();
      } catch {
        ok = true;
        this.o.events.info("reconcile finished after this replica lost the lease or began shutting down; its status is not written", { gitsync: key });
        return;
      }
      await recordOutcome(withSignal(this.o.kubeconfig, standing.signal), gs, outcome, new Date(), () => {
        statusCheck.check();
      });
      ok = outcome.ready;
      this.o.events.reconciled(key, outcome, (Date.now() - started) / 1000);
    } catch (e) {
      if (e instanceof Cancelled) {
        ok = true;
        this.o.events.info("reconcile cancelled", { gitsync: key, reason: e.message });
        return;
      }
      if (apiRefusal(e)?.code === 404) {
        ok = true;
        return;
      }
      this.o.events.error("reconcile failed", { gitsync: key, error: e instanceof Error ? e.message : String(e) });
    } finally {
      clearTimeout(timer);
      this.cancels.delete(run);
      this.cancels.delete(standing);
      this.schedule.finished(key, ok, interval, Date.now());
      // Deleted while it ran: the schedule kept it until now; the next look drops it.
      if (!this.gitsyncs.has(key)) this.seenChanges = -1;
    }
  }

  /** Whether the GitSync itself is gone (a 404 during its run may be of anything else). */
  private async gone(gs: GitSync): Promise<boolean> {
    try {
      await this.client.readObject({ apiVersion: GITSYNC_API_VERSION, kind: GITSYNC_KIND, metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace } });
      return false;
    } catch (e) {
      return apiRefusal(e)?.code === 404;
    }
  }


  /**
   * Holds the Lease: tries to acquire or renew it every retry period until `stopping`. When
   * leadership ends (a failed or late renewal past the deadline, or another replica's write)
   * running reconciles are cancelled.
   */
  private async lead(): Promise<void> {
    const elector = this.elector;
    if (elector === undefined) return;
    let was = false;
    // Leadership ends at its deadline by the clock, whatever the renewal in flight is doing:
    // a timer then cancels the running reconciles (their requests on the wire too).
    let watchdog: NodeJS.Timeout | undefined;
    const settle = (): void => {
      const leads = elector.isLeader();
      if (leads !== was) this.o.events.info(leads ? "became leader" : "lost leadership", { identity: elector.identity });
      if (was && !leads) this.cancelAll(new Cancelled("this replica no longer holds the lease", "lease"));
      was = leads;
      clearTimeout(watchdog);
      const left = elector.leftMs();
      if (leads && left !== undefined) watchdog = setTimeout(settle, left + 1);
    };
    while (!this.leaseDone) {
      try {
        await elector.tryAcquireOrRenew();
      } catch (e) {
        this.o.events.error("renewing the lease failed", { identity: elector.identity, error: e instanceof Error ? e.message : String(e) });
      }
      settle();
      await this.sleep(elector.timings.retryMs);
    }
    clearTimeout(watchdog);
  }

  /** Waits `ms`, or less when the agent stops. */
  private sleep(ms: number): Promise<void> {
    if (this.leaseDone) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.stoppers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.stoppers.add(done);
    });
  }

  /** Runs until `signal` aborts; then drains running reconciles (30 s, then cancels them) and releases the lease. */
  async run(signal: AbortSignal): Promise<void> {
    const concurrency = Math.max(1, this.o.concurrency ?? 4);
    if (signal.aborted) this.stopping = true;
    signal.addEventListener("abort", () => {
      this.stopping = true;
      this.watching.abort(new Cancelled("the agent is shutting down", "shutdown"));
      this.wake?.();
    });
    const watched = this.gitsyncs.run(this.watching.signal).catch((e: unknown) => {
      this.o.events.error("the GitSync watch stopped", { error: e instanceof Error ? e.message : String(e) });
    });
    const leading = this.lead();
    while (!this.stopping) {
      try {
        this.refresh();
        if (!this.stopRequested() && (this.elector === undefined || this.elector.isLeader())) {
          for (const key of this.schedule.take(Date.now(), concurrency - this.running.size)) {
            const p = this.runOne(key).finally(() => this.running.delete(p));
            this.running.add(p);
          }
        }
      } catch (e) {
        this.o.events.error("agent loop", { error: e instanceof Error ? e.message : String(e) });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.allSettled([...this.running]).then(() => true),
      new Promise<false>((resolve) => {
        drainTimer = setTimeout(() => {
          resolve(false);
        }, 30_000);
      }),
    ]);
    clearTimeout(drainTimer);
    if (!drained) {
      this.cancelAll(new Cancelled("the agent is shutting down", "shutdown"));
      await Promise.allSettled([...this.running]);
    }
    this.leaseDone = true;
    for (const stop of this.stoppers) stop();
    this.watching.abort(new Cancelled("the agent is shutting down", "shutdown"));
    await watched;
    await leading;
    await this.elector?.release();
  }
}
