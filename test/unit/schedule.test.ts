// The agent's schedule (src/agent/schedule.ts): intervals with jitter, failure backoff,
// webhook triggers spaced and never inside a backoff.

import { describe, expect, it } from "vitest";
import { delayAfter, Schedule } from "../../src/agent/schedule.js";

const fixed = { jitter: 0.1, backoffBaseMs: 2000, triggerSpacingMs: 0, random: () => 0.5 };

describe("schedule", () => {
  it("runs new GitSyncs at once, then on their interval", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/x", 1]]), 1000);
    expect(s.take(1000, 4)).toEqual(["a/x"]);
    expect(s.take(1000, 4)).toEqual([]); // running
    s.finished("a/x", true, "1m", 2000);
    expect(s.take(2000 + 59_999, 4)).toEqual([]);
    expect(s.take(2000 + 60_000, 4)).toEqual(["a/x"]);
  });

  it("backs off exponentially after failures, capped at the interval", () => {
    expect([1, 2, 3, 4, 10].map((n) => delayAfter(60_000, n, fixed))).toEqual([2000, 4000, 8000, 16000, 60000]);
    expect(delayAfter(60_000, 0, fixed)).toBe(60_000);
  });

  it("jitter stays within ±10%", () => {
    expect(delayAfter(60_000, 0, { ...fixed, random: () => 0 })).toBe(54_000);
    expect(delayAfter(60_000, 0, { ...fixed, random: () => 1 })).toBe(66_000);
  });

  it("a changed generation or a webhook makes it due now; removed ones leave", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/x", 1], ["b/y", 1]]), 0);
    s.take(0, 4);
    s.finished("a/x", true, "1h", 0);
    s.finished("b/y", true, "1h", 0);
    s.sync(new Map([["a/x", 2]]), 10);
    expect(s.get("b/y")).toBeUndefined();
    expect(s.take(10, 4)).toEqual(["a/x"]);
    s.finished("a/x", true, "1h", 10);
    expect(s.trigger("a/x", 20)).toBe(20);
    expect(s.take(20, 4)).toEqual(["a/x"]);
    expect(s.trigger("nope/none", 20)).toBeUndefined();
  });

  it("a GitSync made again under its name (forgotten) starts afresh: due now, no backoff; a running one is kept", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/x", 1]]), 0);
    s.take(0, 4);
    s.finished("a/x", false, "1h", 0);
    s.take(2000, 4);
    s.finished("a/x", false, "1h", 2000); // two failures: backing off
    expect(s.get("a/x")?.failures).toBe(2);
    s.forget("a/x");
    s.sync(new Map([["a/x", 1]]), 3000); // the same generation, a new object
    expect(s.get("a/x")?.failures).toBe(0);
    expect(s.take(3000, 4)).toEqual(["a/x"]);
    s.forget("a/x"); // running: kept until it finishes
    expect(s.get("a/x")?.running).toBe(true);
  });

  it("a flood of pushes runs a GitSync at most once per spacing, and none is lost", () => {
    const s = new Schedule({ ...fixed, triggerSpacingMs: 10_000 });
    s.sync(new Map([["a/x", 1]]), 0);
    s.take(0, 4);
    s.finished("a/x", true, "1h", 500);
    // 1,000 pushes in the next second: one run, 10 s after the last one started.
    for (let t = 1000; t < 2000; t++) expect(s.trigger("a/x", t)).toBe(10_000);
    expect(s.take(9_999, 4)).toEqual([]);
    expect(s.take(10_000, 4)).toEqual(["a/x"]);
    // A push while it runs: once more after it, spaced from this start.
    expect(s.trigger("a/x", 10_500)).toBe(20_000);
    s.finished("a/x", true, "1h", 11_000);
    expect(s.take(19_999, 4)).toEqual([]);
    expect(s.take(20_000, 4)).toEqual(["a/x"]);
    s.finished("a/x", true, "1h", 20_100);
    expect(s.get("a/x")?.due).toBe(20_100 + 3_600_000);
  });

  it("a push does not skip a failure backoff", () => {
    const s = new Schedule({ ...fixed, triggerSpacingMs: 0 });
    s.sync(new Map([["a/x", 1]]), 0);
    for (let failures = 1, now = 0; failures <= 4; failures++) {
      s.take(now, 4);
      s.finished("a/x", false, "1h", now);
      const due = now + 2000 * 2 ** (failures - 1);
      expect(s.trigger("a/x", now + 1)).toBe(due);
      expect(s.take(due - 1, 4)).toEqual([]);
      now = due;
    }
    // A push during a run that then fails: the backoff still stands.
    s.take(16_000 + 14_000, 4);
    s.trigger("a/x", 30_001);
    s.finished("a/x", false, "1h", 30_002);
    expect(s.get("a/x")?.due).toBe(30_002 + 32_000);
  });

  it("a pushed GitSync runs before every overdue periodic one (a saturated agent still answers a push)", () => {
    const s = new Schedule({ ...fixed, triggerSpacingMs: 0 });
    const keys = Array.from({ length: 100 }, (_, i) => `t${String(i)}/t${String(i)}`);
    s.sync(new Map(keys.map((k) => [k, 1])), 0);
    // Everything ran once and is overdue again; t99 ran last, so it would run last.
    for (const [i] of keys.entries()) {
      const [k = ""] = s.take(i, 1);
      s.finished(k, true, "1m", i);
    }
    expect(s.get("t99/t99")?.due).toBe(99 + 60_000);
    expect(s.trigger("t99/t99", 200_000)).toBe(99 + 60_000); // due long since, behind 99 others
    expect(s.take(200_000, 4)[0]).toBe("t99/t99");
    // Taken, it is an ordinary GitSync again: the next push is needed to jump the queue.
    s.finished("t99/t99", true, "1m", 200_100);
    expect(s.get("t99/t99")?.pushed).toBe(false);
  });

  it("pushes never take every slot: the oldest periodic run keeps one, and a failing GitSync does not jump the queue", () => {
    const s = new Schedule({ ...fixed, triggerSpacingMs: 0 });
    const keys = Array.from({ length: 10 }, (_, i) => `t${String(i)}/t${String(i)}`);
    s.sync(new Map(keys.map((k) => [k, 1])), 0);
    for (const [i] of keys.entries()) {
      const [k = ""] = s.take(i, 1);
      s.finished(k, true, "1m", i);
    }
    // Five teams push at once; t0 is the oldest periodic run.
    for (const k of keys.slice(5)) s.trigger(k, 100_000);
    const taken = s.take(100_000, 4);
    expect(taken.slice(0, 3)).toEqual(["t5/t5", "t6/t6", "t7/t7"]);
    expect(taken[3]).toBe("t0/t0");
    // With one slot, oldest first: pushes take no precedence.
    expect(s.take(100_000, 1)).toEqual(["t1/t1"]);
    // A run that fails while a push waits backs off like any other.
    s.trigger("t1/t1", 100_001);
    s.finished("t1/t1", false, "1m", 100_002);
    expect(s.get("t1/t1")?.pushed).toBe(false);
  });

  it("respects the concurrency limit", () => {
    const s = new Schedule(fixed);
    s.sync(new Map([["a/1", 1], ["a/2", 1], ["a/3", 1]]), 0);
    expect(s.take(0, 2)).toHaveLength(2);
    expect(s.runningCount()).toBe(2);
  });
});
