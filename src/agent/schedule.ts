// When each GitSync is due: on its interval with jitter, at once when its spec changed,
// with exponential backoff after failures, and soon after a webhook push, but no sooner
// than the trigger spacing after its last run started and never inside a failure backoff
// (whoever holds a webhook secret cannot make the agent hammer a repo or the API server).
// Pure: the agent feeds it events and asks it what to run; time is passed in.

import { parseDuration } from "../model/gitsync.js";

export interface Entry {
  readonly key: string;
  /** When to reconcile next (ms since epoch). */
  readonly due: number;
  readonly failures: number;
  readonly running: boolean;
  readonly generation: number | undefined;
  /** When the last run started, for the trigger spacing. */
  readonly lastStarted: number | undefined;
  /** A push arrived while it ran: run again (the run may have fetched the older commit). */
  readonly triggered: boolean;
  /** A push is waiting for this run: it goes before runs only their interval made due. */
  readonly pushed?: boolean;
}

export interface ScheduleOptions {
  /** Fraction of the interval added or removed at random (0.1 = ±10%). */
  readonly jitter: number;
  /** First retry delay after a failure; doubles each time, capped at the interval. */
  readonly backoffBaseMs: number;
  /** A push runs a GitSync no sooner than this after its last run started. */
  readonly triggerSpacingMs: number;
  readonly random: () => number;
}

export const DEFAULT_TRIGGER_SPACING_MS = 10_000;

export const defaultScheduleOptions: ScheduleOptions = { jitter: 0.1, backoffBaseMs: 2_000, triggerSpacingMs: DEFAULT_TRIGGER_SPACING_MS, random: Math.random };

export function jittered(ms: number, o: ScheduleOptions): number {
  return Math.round(ms * (1 + o.jitter * (2 * o.random() - 1)));
}

/** Delay after a run: the interval on success; backoff (base * 2^(n-1), capped) after the n-th failure. */
export function delayAfter(intervalMs: number, failures: number, o: ScheduleOptions): number {
  if (failures === 0) return jittered(intervalMs, o);
  return jittered(Math.min(intervalMs, o.backoffBaseMs * 2 ** (failures - 1)), o);
}

export class Schedule {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: ScheduleOptions = defaultScheduleOptions) {}

  /** Makes the schedule hold exactly `present` (key -> generation); new or changed ones are due now. */
  sync(present: ReadonlyMap<string, number | undefined>, now: number): void {
    for (const key of [...this.entries.keys()]) if (!present.has(key) && this.entries.get(key)?.running !== true) this.entries.delete(key);
    for (const [key, generation] of present) {
      const e = this.entries.get(key);
      if (e === undefined) this.entries.set(key, { key, due: now, failures: 0, running: false, generation, lastStarted: undefined, triggered: false });
      else if (e.generation !== generation) this.entries.set(key, { ...e, due: now, generation });
    }
  }

  /** Drops `key` unless it is running: a GitSync deleted and made again under its name starts afresh. */
  forget(key: string): void {
    if (this.entries.get(key)?.running !== true) this.entries.delete(key);
  }

  /**
   * A webhook push: runs this key as soon as the spacing allows, unless it is backing off
   * after failures (the backoff stands). When it is running, once more after it finishes.
   * Returns when it is due, or undefined for an unknown key.
   */
  trigger(key: string, now: number): number | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.running) {
      this.entries.set(key, { ...e, triggered: true, pushed: true });
      return Math.max(now, this.earliestTriggered(e));
    }
    if (e.failures > 0) return e.due;
    const due = Math.min(e.due, Math.max(now, this.earliestTriggered(e)));
    this.entries.set(key, { ...e, due, pushed: true });
    return due;
  }

  private earliestTriggered(e: Entry): number {
    return e.lastStarted === undefined ? -Infinity : e.lastStarted + this.options.triggerSpacingMs;
  }

  /**
   * Keys due at `now` that are not running, oldest first, and marks them running; but those a
   * push waits for go first, in all slots but one. An agent with more due than it can run
   * would otherwise put a push behind every overdue periodic run (at 5000 GitSyncs, minutes),
   * and pushes in every slot (a team may ask for one each trigger spacing) would starve the
   * others' intervals, drift repair and retries: the oldest due keeps the last slot.
   */
  take(now: number, limit: number): string[] {
    const due = [...this.entries.values()].filter((e) => !e.running && e.due <= now).sort((a, b) => a.due - b.due);
    const pushed = due.filter((e) => e.pushed === true).slice(0, Math.max(0, limit - 1));
    const first = new Set(pushed);
    const taken = [...pushed, ...due.filter((e) => !first.has(e)).slice(0, Math.max(0, limit - pushed.length))];
    for (const e of taken) this.entries.set(e.key, { ...e, running: true, lastStarted: now, triggered: false, pushed: false });
    return taken.map((e) => e.key);
  }

  finished(key: string, ok: boolean, interval: string, now: number): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    const failures = ok ? 0 : e.failures + 1;
    let intervalMs: number;
    try {
      intervalMs = parseDuration(interval);
    } catch {
      intervalMs = 60_000;
    }
    let due = now + delayAfter(intervalMs, failures, this.options);
    if (e.triggered && failures === 0) due = Math.min(due, Math.max(now, this.earliestTriggered(e)));
    // A failed run backs off like any other: a push waiting on it does not jump the queue.
    this.entries.set(key, { ...e, running: false, failures, due, triggered: false, pushed: e.pushed === true && failures === 0 });
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  runningCount(): number {
    return [...this.entries.values()].filter((e) => e.running).length;
  }
}
