// Remote bases in kustomizations (src/build/closure.ts): every one named.

import { describe, expect, it } from "vitest";
import { remoteBaseProblems } from "../../src/build/closure.js";

describe("remoteBaseProblems", () => {
  it("names every remote entry and nothing local", () => {
    expect(remoteBaseProblems("k.yaml", "resources:\n  - ./app\n  - https://example.com/x.yaml\n  - github.com/acme/repo//base\n")).toHaveLength(2);
    expect(remoteBaseProblems("k.yaml", "resources: [./app, ../base]\n")).toEqual([]);
  });
});
