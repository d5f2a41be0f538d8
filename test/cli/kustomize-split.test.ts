// The split build of an aggregating kustomization gives exactly the objects kustomize's
// own build of the whole tree gives, and never follows a cycle the whole build would refuse.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDir, buildSplit } from "../../src/build/kustomize.js";
import { type KubeObject } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";

function sorted(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => JSON.stringify(o)).sort();
}

describe("buildSplit", () => {
  it("equals the whole build of an admin repo with three teams", async () => {
    const admin = await makeAdminRepo([["t1"], ["t2", "--allow-from", "t1"], ["t3", "--node-pool", "p=t3"]]);
    const [whole, split] = await Promise.all([buildDir(admin), buildSplit(admin, ".")]);
    expect(split.length).toBe(whole.length);
    expect(sorted(split)).toEqual(sorted(whole));
  });

  it("falls back to kustomize for a kustomization with transformers, and refuses duplicates like kustomize", async () => {
    const admin = await makeAdminRepo([["t1"]]);
    writeFileSync(join(admin, "cluster/teams/kustomization.yaml"), "resources:\n  - ../t1\ncommonAnnotations:\n  note: hello\n");
    const split = await buildSplit(admin, ".");
    expect(split.filter((o) => o.metadata.namespace === "t1").every((o) => o.metadata.annotations?.note === "hello")).toBe(true);
    writeFileSync(join(admin, "cluster/teams/kustomization.yaml"), "resources:\n  - ../t1\n  - ../t1/\n");
    await expect(buildSplit(admin, ".")).rejects.toThrow(/defined twice/);
  });

  it("refuses a cycle of aggregating kustomizations instead of following it", async () => {
    const admin = await makeAdminRepo([["t1"]]);
    writeFileSync(join(admin, "cluster/teams/kustomization.yaml"), "resources:\n  - ../t1\n");
    writeFileSync(join(admin, "cluster/t1/kustomization.yaml"), "resources:\n  - ../teams\n");
    await expect(buildSplit(admin, ".")).rejects.toThrow("kustomizations form a cycle: cluster/teams -> cluster/t1 -> cluster/teams");
  });
});
