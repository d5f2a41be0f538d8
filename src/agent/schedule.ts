// When each GitSync is due: on its interval with jitter, at once when its spec changed,
// with exponential backoff after failures. Pure: the agent feeds it events and asks it
// what to run; time is passed in.

import { parseDuration } from "../model/gitsync.js";

export interface Entry {
  readonly key: string;
  /** When to reconcile next (ms since epoch). */
  readonly due: number;
  readonly failures: number;
  readonly running: boolean;
  readonly generation: number | undefined;
}

export interface ScheduleOptions {
  /** Fraction of the interval added or removed at random (0.1 = ±10%). */
  readonly jitter: number;
  /** First retry delay after a failure; doubles each time, capped at the interval. */
  readonly backoffBaseMs: number;
  readonly random: () => number;
}

export const defaultScheduleOptions: ScheduleOptions = { jitter: 0.1, backoffBaseMs: 2_000, random: Math.random };

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
      if (e === undefined) this.entries.set(key, { key, due: now, failures: 0, running: false, generation });
      else if (e.generation !== generation) this.entries.set(key, { ...e, due: now, generation });
    }
  }

  /** Runs this key as soon as possible (a webhook push). */
  trigger(key: string, now: number): boolean {
    const e = this.entries.get(key);
    if (e === undefined) return false;
    this.entries.set(key, { ...e, due: Math.min(e.due, now) });
    return true;
  }

  /** Keys due at `now` that are not running, oldest first; marks them running. */
  take(now: number, limit: number): string[] {
    const due = [...this.entries.values()].filter((e) => !e.running && e.due <= now).sort((a, b) => a.due - b.due).slice(0, limit);
    for (const e of due) this.entries.set(e.key, { ...e, running: true });
    return due.map((e) => e.key);
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
    this.entries.set(key, { ...e, running: false, failures, due: now + delayAfter(intervalMs, failures, this.options) });
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  runningCount(): number {
    return [...this.entries.values()].filter((e) => e.running).length;
  }
}
