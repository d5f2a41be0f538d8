// The admin repo's overlays (src/build/admin-layout.ts): what validate and plan build part by part.

import { describe, expect, it } from "vitest";
import { layoutOf } from "../../src/build/admin-layout.js";

const root = "resources:\n  - cluster/common\n  - cluster/teams\n";

describe("admin layout", () => {
  it("a plain repo is built per overlay", () => {
    expect(layoutOf(root, "resources:\n  - ../team1\n  - ../team2\n")).toEqual({ teams: ["team1", "team2"], plain: true, units: ["cluster/common", "cluster/team1", "cluster/team2"] });
  });

  it("delete-team's tombstones directory is one more part, not a reason to build the whole root", () => {
    expect(layoutOf(root, "resources:\n  - ../team1\n  - tombstones\n")).toEqual({ teams: ["team1"], plain: true, units: ["cluster/common", "cluster/team1", "cluster/teams/tombstones"] });
  });

  it("anything else in cluster/teams builds the whole root", () => {
    expect(layoutOf(root, "resources:\n  - ../team1\n  - extra.yaml\n").units).toEqual(["."]);
  });
});
