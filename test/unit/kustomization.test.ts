// The resources-list editor must give the same result on its line-by-line fast path as
// through the yaml Document API, and keep a person's comments either way.

import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { addResource, listResources, removeResource } from "../../src/repo/kustomization.js";

const F = "k.yaml";
const generated = "# One line per team.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n";

describe("kustomization resources", () => {
  it("adds to an empty list and to a block list, keeping comments", () => {
    const one = addResource(generated, F, "../team1");
    expect(one).toBe("# One line per team.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../team1\n");
    const commented = one.replace("  - ../team1\n", "  # the first team\n  - ../team1\n");
    const two = addResource(commented, F, "../team2");
    expect(two).toContain("  # the first team\n  - ../team1\n  - ../team2\n");
    expect(listResources(two, F)).toEqual(["../team1", "../team2"]);
    expect(addResource(two, F, "../team2")).toBe(two);
  });

  it("removes entries and writes [] when the last one goes", () => {
    const two = addResource(addResource(generated, F, "../a"), F, "../b");
    const one = removeResource(two, F, "../a");
    expect((parse(one) as { resources: string[] }).resources).toEqual(["../b"]);
    expect((parse(removeResource(one, F, "../b")) as { resources: unknown }).resources).toEqual([]);
    expect(removeResource(one, F, "../zzz")).toBe(one);
  });

  it("the fast path agrees with the Document API path", () => {
    let fast = generated;
    // A flow-style key makes the file leave the simple grammar: the Document API edits it.
    let slow = generated.replace("apiVersion: kustomize.config.k8s.io/v1beta1", "apiVersion: kustomize.config.k8s.io/v1beta1\nlabels: []");
    for (const team of ["../a", "../b", "../c"]) {
      fast = addResource(fast, F, team);
      slow = addResource(slow, F, team);
    }
    fast = removeResource(fast, F, "../b");
    slow = removeResource(slow, F, "../b");
    expect((parse(fast) as { resources: string[] }).resources).toEqual((parse(slow) as { resources: string[] }).resources);
  });

  it("still refuses what is not a Kustomization", () => {
    expect(() => addResource("kind: Deployment\nresources: []\n", F, "../a")).toThrow(/not a Kustomization/);
    expect(() => addResource("resources: [../a\n", F, "../b")).toThrow(/malformed YAML/);
  });
});
