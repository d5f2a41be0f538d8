// Bounded fan-out and cancellation (src/concurrency.ts).

import { describe, expect, it } from "vitest";
import { mapLimit } from "../../src/concurrency.js";

describe("mapLimit", () => {
  it("keeps input order and at most `limit` running", async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(most).toBe(2);
  });

  it("after a failure starts nothing more, and throws only once the running calls have settled", async () => {
    const started: number[] = [];
    let settled = 0;
    const run = mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 0) throw new Error("first fails");
      await new Promise((r) => setTimeout(r, 30));
      settled++;
      return n;
    });
    await expect(run).rejects.toThrow("first fails");
    // 0 failed at once, 1 was running: it finished before the error was thrown; 2.. never started.
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(1);
  });
});
