// A YAML document's value (src/model/yaml-value.ts): an alias bomb ("billion laughs") in a
// file tenantry reads is a problem naming that file, never an error tenantry did not expect.

import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { loadedEntries } from "../../src/build/closure.js";
import { ValidationError } from "../../src/errors.js";
import { parseClusterConfig } from "../../src/model/cluster-config.js";
import { parseObjects } from "../../src/model/object.js";
import { parseTeamSpec } from "../../src/model/team-spec.js";
import { readTombstones } from "../../src/model/tombstones.js";
import { documentValue } from "../../src/model/yaml-value.js";

/** Nine levels of nine aliases: 9^9 strings once expanded, far past the yaml library's limit. */
const BOMB = [
  'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
  ..."bcdefghi".split("").map((n, i) => `${n}: &${n} [${Array(9).fill(`*${"abcdefghi"[i] ?? ""}`).join(", ")}]`),
  "",
].join("\n");

const BOMB_PROBLEM = "its aliases expand past the limit a YAML reader allows (an alias bomb?): fix the file or restore it with git";

function problemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).problems;
  }
  throw new Error("expected a ValidationError");
}

describe("documentValue", () => {
  it("gives the value of a document, aliases and all", () => {
    expect(documentValue(parseDocument("a: &x [1, 2]\nb: *x\n"))).toEqual({ value: { a: [1, 2], b: [1, 2] } });
  });

  it("gives a reason, not a throw, for an alias bomb", () => {
    expect(documentValue(parseDocument(BOMB))).toEqual({ problem: "its aliases expand past the limit a YAML reader allows (an alias bomb?)" });
  });
});

describe("an alias bomb is a ValidationError naming the file", () => {
  it.each([
    ["tenantry.yaml", (): unknown => parseClusterConfig(BOMB, "tenantry.yaml")],
    ["cluster/team1/team.yaml", (): unknown => parseTeamSpec(BOMB, "cluster/team1/team.yaml")],
    ["cluster/team1/app.yaml", (): unknown => parseObjects(BOMB, "cluster/team1/app.yaml")],
  ])("%s", (file, read) => {
    expect(problemsOf(read)).toEqual([`${file}: ${BOMB_PROBLEM}`]);
  });

  it("tombstones: a problem of the file, like its other problems", () => {
    expect(readTombstones(BOMB, "cluster/teams/tombstones/tombstones.yaml")).toEqual({
      tombstones: [],
      problems: ["cluster/teams/tombstones/tombstones.yaml: its aliases expand past the limit a YAML reader allows (an alias bomb?): fix it or restore it with git"],
    });
  });

  it("a kustomization's loaded entries: the bomb loads nothing (the build says what is wrong)", () => {
    expect(loadedEntries(`${BOMB}---\nresources: [../team1]\n`)).toEqual([{ field: "resources", entry: "../team1" }]);
  });
});
