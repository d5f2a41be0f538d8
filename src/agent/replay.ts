// Replay protection for webhooks, pure (time is passed in): a delivery seen once within the
// window is not acted on again. A delivery is known by its id header (GitHub, Gitea, GitLab
// each send one) and by its body's digest, so a captured request replayed with a new id is
// caught too. Memory is bounded: the oldest entries go first.

import { createHash } from "node:crypto";

export const DEFAULT_REPLAY_WINDOW_MS = 15 * 60_000;
export const DEFAULT_REPLAY_ENTRIES = 10_000;

export class ReplayGuard {
  /** key -> when it stops counting; insertion order is expiry order (the window is fixed). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs = DEFAULT_REPLAY_WINDOW_MS,
    private readonly maxEntries = DEFAULT_REPLAY_ENTRIES,
  ) {}

  /**
   * Whether any of `keys` was seen within the window: a replay. Otherwise records them all
   * and returns false.
   */
  replayed(keys: readonly string[], now: number): boolean {
    this.expire(now);
    if (keys.some((k) => this.seen.has(k))) return true;
    for (const k of keys) this.seen.set(k, now + this.windowMs);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (oldest.done === true) break;
      this.seen.delete(oldest.value);
    }
    return false;
  }

  /** Forgets `keys`: a delivery that could not be acted on may come again. */
  forget(keys: readonly string[]): void {
    for (const k of keys) this.seen.delete(k);
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    for (const [k, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(k);
    }
  }
}

/** The keys one delivery to one GitSync is known by. */
export function deliveryKeys(gitsync: string, deliveryId: string | undefined, body: Buffer): string[] {
  const digest = createHash("sha256").update(body).digest("hex");
  return [...(deliveryId === undefined ? [] : [`${gitsync} id ${deliveryId}`]), `${gitsync} body ${digest}`];
}
