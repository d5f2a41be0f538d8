// The GitSync vocabulary (src/model/gitsync.ts): durations, revisions, conditions.

import { describe, expect, it } from "vitest";
import { formatRevision, nextConditions, parseDuration } from "../../src/model/gitsync.js";

describe("GitSync helpers", () => {
  it("parse durations", () => {
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(() => parseDuration("soon")).toThrow();
    expect(() => parseDuration("1m garbage")).toThrow();
  });

  it("format revisions like Flux", () => {
    expect(formatRevision({ branch: "main" }, "abc")).toBe("main@sha1:abc");
    expect(formatRevision({ tag: "v1" }, "abc")).toBe("v1@sha1:abc");
    expect(formatRevision({ commit: "abc" }, "abc")).toBe("sha1:abc");
    expect(formatRevision(undefined, "abc")).toBe("main@sha1:abc");
  });

  it("keep lastTransitionTime while a condition's status holds, and mark build errors Stalled", () => {
    const first = nextConditions(undefined, { status: "False", reason: "BuildFailed", message: "x" }, 1, "t1");
    expect(first.map((c) => [c.type, c.status])).toEqual([["Ready", "False"], ["Stalled", "True"]]);
    const second = nextConditions(first, { status: "False", reason: "GitOperationFailed", message: "y" }, 1, "t2");
    expect(second).toHaveLength(1);
    expect(second[0]?.lastTransitionTime).toBe("t1");
    expect(nextConditions(second, { status: "True", reason: "ReconciliationSucceeded", message: "z" }, 2, "t3")[0]?.lastTransitionTime).toBe("t3");
  });
});
