// Leader election (src/agent/lease.ts): who may take the Lease.

import { describe, expect, it } from "vitest";
import { canAcquire } from "../../src/agent/lease.js";

describe("leases", () => {
  const now = Date.parse("2026-01-01T00:00:30Z");
  it("free, expired or our own lease can be taken; a live one of another cannot", () => {
    expect(canAcquire(undefined, "me", now)).toBe(true);
    expect(canAcquire({ holderIdentity: "" }, "me", now)).toBe(true);
    expect(canAcquire({ holderIdentity: "me", renewTime: "2026-01-01T00:00:29Z", leaseDurationSeconds: 15 }, "me", now)).toBe(true);
    expect(canAcquire({ holderIdentity: "other", renewTime: "2026-01-01T00:00:20Z", leaseDurationSeconds: 15 }, "me", now)).toBe(false);
    expect(canAcquire({ holderIdentity: "other", renewTime: "2026-01-01T00:00:10Z", leaseDurationSeconds: 15 }, "me", now)).toBe(true);
  });
});
