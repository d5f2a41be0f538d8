// Webhook replay protection (src/agent/replay.ts) and delivery ids (src/agent/webhook.ts).

import { describe, expect, it } from "vitest";
import { deliveryKeys, ReplayGuard } from "../../src/agent/replay.js";
import { deliveryId } from "../../src/agent/webhook.js";

const body = (s: string): Buffer => Buffer.from(s);

describe("ReplayGuard", () => {
  it("a key seen within the window is a replay; after it, it counts again", () => {
    const g = new ReplayGuard(1000, 100);
    expect(g.replayed(deliveryKeys("a/x", "d1", body("1")), 0)).toBe(false);
    expect(g.replayed(deliveryKeys("a/x", "d1", body("2")), 500)).toBe(true);
    expect(g.replayed(deliveryKeys("a/x", "d9", body("1")), 999)).toBe(true);
    // Per GitSync: the same delivery to another GitSync is its own.
    expect(g.replayed(deliveryKeys("b/y", "d1", body("1")), 999)).toBe(false);
    expect(g.replayed(deliveryKeys("a/x", "d1", body("1")), 1000)).toBe(false);
  });

  it("a refused replay does not extend the window or record the new key", () => {
    const g = new ReplayGuard(1000, 100);
    g.replayed(deliveryKeys("a/x", "d1", body("1")), 0);
    expect(g.replayed(deliveryKeys("a/x", "d1", body("2")), 10)).toBe(true);
    expect(g.replayed(deliveryKeys("a/x", "d2", body("2")), 20)).toBe(false);
  });

  it("holds at most its bound, dropping the oldest", () => {
    const g = new ReplayGuard(60_000, 10);
    for (let i = 0; i < 1000; i++) g.replayed([`k${i}`], i);
    expect(g.size).toBe(10);
    expect(g.replayed(["k999"], 1000)).toBe(true);
    expect(g.replayed(["k0"], 1000)).toBe(false);
  });
});

describe("deliveryId", () => {
  it("reads each host's own header", () => {
    expect(deliveryId({ "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" }, "github")).toBe("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    expect(deliveryId({ "x-gitea-delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473", "x-github-delivery": "other" }, "gitea")).toBe("f6266f16-1bf3-46a5-9ea4-602e06ead473");
    expect(deliveryId({ "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e" }, "gitlab")).toBe("13792a34-cac6-4fda-95a8-c58e00a3954e");
  });

  it("ignores a missing, repeated or strange id (the body digest still counts)", () => {
    expect(deliveryId({}, "github")).toBeUndefined();
    expect(deliveryId({ "x-github-delivery": ["a", "b"] }, "github")).toBeUndefined();
    expect(deliveryId({ "x-github-delivery": "a b\n" }, "github")).toBeUndefined();
    expect(deliveryId({ "x-github-delivery": "x".repeat(129) }, "github")).toBeUndefined();
  });
});

describe("ReplayGuard.forget", () => {
  it("lets a delivery that could not be acted on come again", () => {
    const guard = new ReplayGuard(60_000, 10);
    const keys = deliveryKeys("team1/team1", "d-1", Buffer.from("{}"));
    expect(guard.replayed(keys, 0)).toBe(false);
    guard.forget(keys);
    expect(guard.replayed(keys, 1)).toBe(false);
    expect(guard.replayed(keys, 2)).toBe(true);
  });
});
