// Leader election (src/agent/lease.ts): client-go's rules, judged by the local clock only.

import { describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS as t, mayTake, observe, stillLeading } from "../../src/agent/lease.js";

const lease = (holder: string, renewTime: string, resourceVersion: string) => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l", resourceVersion }, spec: { holderIdentity: holder, renewTime, leaseDurationSeconds: 15 } });

describe("leases", () => {
  it("a free Lease, or our own, may be written at once", () => {
    expect(mayTake(observe(undefined, undefined, 0), "me", 0, t)).toBe(true);
    expect(mayTake(observe(undefined, lease("", "", "1"), 0), "me", 0, t)).toBe(true);
    expect(mayTake(observe(undefined, lease("me", "2000-01-01T00:00:00Z", "1"), 0), "me", 0, t)).toBe(true);
  });

  it("another's Lease is judged by when we saw it change, never by its timestamps", () => {
    // Its renewTime is far in the past (a clock behind ours): still respected for leaseDuration after we first saw it.
    let seen = observe(undefined, lease("other", "1999-01-01T00:00:00Z", "1"), 1_000);
    expect(mayTake(seen, "me", 1_000 + t.leaseMs - 1, t)).toBe(false);
    // Unchanged: the first sighting's time stands.
    seen = observe(seen, lease("other", "1999-01-01T00:00:00Z", "1"), 10_000);
    expect(seen.at).toBe(1_000);
    expect(mayTake(seen, "me", 1_000 + t.leaseMs, t)).toBe(true);
    // A renewal (any change) restarts the count, even with a renewTime in the future.
    seen = observe(seen, lease("other", "2999-01-01T00:00:00Z", "2"), 12_000);
    expect(mayTake(seen, "me", 12_000 + t.leaseMs - 1, t)).toBe(false);
    expect(mayTake(seen, "me", 12_000 + t.leaseMs, t)).toBe(true);
  });

  it("a leader acts only until lastRenew + renewDeadline by its own clock", () => {
    expect(stillLeading(undefined, 0, t)).toBe(false);
    expect(stillLeading(5_000, 5_000 + t.renewDeadlineMs - 1, t)).toBe(true);
    expect(stillLeading(5_000, 5_000 + t.renewDeadlineMs, t)).toBe(false);
    // The margin: a leader stops acting before another may take its Lease.
    expect(t.renewDeadlineMs).toBeLessThan(t.leaseMs);
  });
});
