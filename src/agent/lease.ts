// Leader election with a coordination.k8s.io Lease, so two agents never apply at once. The
// rules are client-go's (k8s.io/client-go/tools/leaderelection), judged by the local clock only:
// - a leader acts only while `now < lastRenew + renewDeadline`, lastRenew being when its last
//   successful renewal *started*; a renewal that fails, hangs or conflicts past that deadline
//   ends its leadership, and a 409 (someone else wrote the Lease) ends it at once;
// - another replica's Lease is judged by when this replica last *saw it change* (holder,
//   renewTime, resourceVersion), never by the timestamps in it: it may be taken once it has
//   not changed for leaseDuration by our clock. leaseDuration > renewDeadline is the margin
//   that covers clock rate differences and a leader paused mid-write.
// Every update carries the resourceVersion it read, so of two replicas taking a free Lease one
// gets 409. The decisions are pure (LeaseView); the I/O is LeaderElector's.

import { type KubeAccess, withSignal } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { apiRefusal } from "../cluster/api-errors.js";
import type { KubeObject } from "../model/object.js";

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseTimings {
  /** How long another replica's unchanged Lease is respected (client-go LeaseDuration). */
  readonly leaseMs: number;
  /** How long a leader acts after its last successful renewal started (client-go RenewDeadline). */
  readonly renewDeadlineMs: number;
  /** How often to try to acquire or renew (client-go RetryPeriod). */
  readonly retryMs: number;
}

/** client-go's defaults. */
export const DEFAULT_TIMINGS: LeaseTimings = { leaseMs: 15_000, renewDeadlineMs: 10_000, retryMs: 2_000 };

/** What this replica saw of the Lease, and when by its own clock. */
export interface Observed {
  /** holderIdentity, renewTime and resourceVersion as one string: any change is a sign of life. */
  readonly record: string;
  readonly holder: string;
  readonly at: number;
}

type LeaseObject = KubeObject & { spec?: LeaseSpec };

function recordOf(lease: LeaseObject | undefined): string {
  return lease === undefined ? "" : JSON.stringify([lease.spec?.holderIdentity ?? "", lease.spec?.renewTime ?? "", lease.metadata.resourceVersion ?? ""]);
}

/** The observation after reading `lease` at `now`: unchanged records keep the time first seen. */
export function observe(before: Observed | undefined, lease: LeaseObject | undefined, now: number): Observed {
  const record = recordOf(lease);
  if (before !== undefined && before.record === record) return before;
  return { record, holder: lease?.spec?.holderIdentity ?? "", at: now };
}

/** Whether `me` may write the Lease (take or renew it) given what it observed. */
export function mayTake(seen: Observed, me: string, now: number, t: LeaseTimings): boolean {
  if (seen.holder === "" || seen.holder === me) return true;
  return seen.at + t.leaseMs <= now;
}

/** Whether a leader whose last successful renewal started at `lastRenew` may still act at `now`. */
export function stillLeading(lastRenew: number | undefined, now: number, t: LeaseTimings): boolean {
  return lastRenew !== undefined && now < lastRenew + t.renewDeadlineMs;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  /** When the last successful acquire/renew started; undefined while not leading. */
  private lastRenew: number | undefined;
  private seen: Observed | undefined;
  /** Counts leadership terms: work started in one term is invalid in any other. */
  private termCount = 0;
  private readonly header: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };

  constructor(
    private readonly kc: KubeAccess,
    namespace: string,
    name: string,
    readonly identity: string,
    readonly timings: LeaseTimings = DEFAULT_TIMINGS,
    private readonly clock: () => number = Date.now,
  ) {
    this.header = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace } };
  }

  /** Whether this replica leads now, by the local clock. */
  isLeader(): boolean {
    return stillLeading(this.lastRenew, this.clock(), this.timings);
  }

  /** How long this replica still leads by its clock, or undefined when it does not. */
  leftMs(): number | undefined {
    return this.isLeader() && this.lastRenew !== undefined ? this.lastRenew + this.timings.renewDeadlineMs - this.clock() : undefined;
  }

  /** The current term while leading, else undefined; see `holds`. */
  term(): number | undefined {
    return this.isLeader() ? this.termCount : undefined;
  }

  /** Whether work started in `term` may still write: the same term, and still leading now. */
  holds(term: number | undefined): boolean {
    return term !== undefined && term === this.termCount && this.isLeader();
  }

  private path(): string {
    const m = this.header.metadata;
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(m.namespace)}/leases/${encodeURIComponent(m.name)}`;
  }

  /**
   * One attempt to acquire or renew; returns whether this replica leads afterwards. Throws
   * when the API server cannot be asked; leadership then lapses at its deadline by itself.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const started = this.clock();
    const wasLeading = this.isLeader();
    // The attempt is bounded by the renew deadline as a whole (a signal, not only each
    // request's socket timeout, which Node fires late on a connection still being opened).
    const timeoutMs = this.timings.renewDeadlineMs;
    const client = RestClient.forConfig(withSignal(this.kc, AbortSignal.timeout(timeoutMs)));
    let current: LeaseObject | undefined;
    try {
      current = await client.request<LeaseObject>({ method: "GET", path: this.path(), timeoutMs });
    } catch (e) {
      if (apiRefusal(e)?.code !== 404) throw e;
    }
    this.seen = observe(this.seen, current, this.clock());
    if (!mayTake(this.seen, this.identity, this.clock(), this.timings)) {
      this.lastRenew = undefined;
      return false;
    }
    const taking = current?.spec?.holderIdentity !== this.identity;
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timings.leaseMs / 1000),
      renewTime: microTime(started),
      acquireTime: taking ? microTime(started) : current?.spec?.acquireTime ?? microTime(started),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (taking && current !== undefined ? 1 : 0),
    };
    try {
      const stored =
        current === undefined
          ? await client.request<LeaseObject>({ method: "POST", path: this.path().replace(/\/[^/]+$/, ""), body: { ...this.header, spec }, timeoutMs })
          : await client.request<LeaseObject>({ method: "PUT", path: this.path(), body: { ...this.header, metadata: { ...this.header.metadata, resourceVersion: current.metadata.resourceVersion }, spec }, timeoutMs });
      this.seen = observe(this.seen, stored, this.clock());
      if (!wasLeading) this.termCount++;
      this.lastRenew = started;
    } catch (e) {
      const code = apiRefusal(e)?.code;
      if (code !== 409 && code !== 422) throw e;
      this.lastRenew = undefined; // another replica wrote the Lease: it leads now
    }
    return this.isLeader();
  }

  /** Gives the lease up (on shutdown) so another replica can take over at once. */
  async release(): Promise<void> {
    if (!this.isLeader()) return;
    this.lastRenew = undefined;
    const client = RestClient.forConfig(this.kc);
    const current = await client.request<LeaseObject>({ method: "GET", path: this.path(), timeoutMs: 5_000 }).catch(() => undefined);
    if (current?.spec?.holderIdentity !== this.identity) return;
    await client
      .request({ method: "PUT", path: this.path(), body: { ...this.header, metadata: { ...this.header.metadata, resourceVersion: current.metadata.resourceVersion }, spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1 } }, timeoutMs: 5_000 })
      .catch(() => undefined);
  }
}
