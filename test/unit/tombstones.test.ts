// Tombstones (src/model/tombstones.ts): parsed with every problem named, formatted stably (the
// same list in any order gives the same bytes), round-tripped, and found in a render.

import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import {
  formatTombstones,
  parseTombstones,
  readTombstones,
  teamTombstone,
  type Tombstone,
  tombstonesOfRender,
  withoutTombstone,
  withTombstone,
} from "../../src/model/tombstones.js";

const at = "2024-05-01T12:00:00Z";
const team2: Tombstone = { kind: "Team", name: "team2", deletedAt: at, by: "alice@acme.dev" };
const app: Tombstone = { kind: "Deployment", namespace: "shop", name: "web", deletedAt: "2024-06-01T08:30:00Z", by: "bob" };

describe("formatTombstones", () => {
  it("is stable: sorted by kind, namespace, name; timestamps quoted; namespace only when there is one", () => {
    const text = formatTombstones([team2, app]);
    expect(formatTombstones([app, team2])).toBe(text);
    expect(text.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      "- kind: Deployment",
      "  namespace: shop",
      "  name: web",
      '  deletedAt: "2024-06-01T08:30:00Z"',
      "  by: bob",
      "- kind: Team",
      "  name: team2",
      '  deletedAt: "2024-05-01T12:00:00Z"',
      "  by: alice@acme.dev",
      "",
    ]);
  });

  it("round-trips, including values YAML would read as something else", () => {
    // A namespace may be named "yes" (a team may not: the templates write a team name bare).
    const odd: Tombstone = { kind: "Namespace", name: "yes", deletedAt: at, by: "no: really # not a comment" };
    for (const list of [[], [team2], [team2, app], [odd]]) {
      expect(parseTombstones(formatTombstones(list))).toEqual([...list].sort((a, b) => (a.kind < b.kind ? -1 : 1)));
    }
    expect(formatTombstones([])).toMatch(/\n\[\]\n$/);
  });
});

describe("parseTombstones", () => {
  it("reads an empty or comment-only file as none", () => {
    expect(parseTombstones("")).toEqual([]);
    expect(parseTombstones("# nothing yet\n")).toEqual([]);
  });

  it("reports every problem at once, each naming the file and entry", () => {
    const text = [
      "- kind: team",
      "  name: Team_2",
      "  deletedAt: yesterday",
      "- kind: Team",
      "  namespace: shop",
      "  name: kube-system",
      "  deletedAt: 2024-05-01T12:00:00Z",
      "  by: ''",
      "  reason: oops",
      "- just a string",
    ].join("\n");
    let error: unknown;
    try {
      parseTombstones(text, "cluster/teams/tombstones/tombstones.yaml");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems).toEqual([
      'cluster/teams/tombstones/tombstones.yaml: entry 1: kind "team" is not a Kubernetes kind (like Team, Namespace, Deployment)',
      `cluster/teams/tombstones/tombstones.yaml: entry 1: name "Team_2" is not a DNS-1123 subdomain: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
      'cluster/teams/tombstones/tombstones.yaml: entry 1: deletedAt "yesterday" is not a UTC time like 2024-05-01T12:00:00Z',
      "cluster/teams/tombstones/tombstones.yaml: entry 1: by is missing (who asked for the deletion)",
      'cluster/teams/tombstones/tombstones.yaml: entry 2: unknown field "reason" (fields: kind, namespace, name, deletedAt, by)',
      'cluster/teams/tombstones/tombstones.yaml: entry 2: team name "kube-system" is reserved (default, tenantry, kube-*, *-system): choose another name',
      "cluster/teams/tombstones/tombstones.yaml: entry 2: a Team has no namespace: remove namespace",
      "cluster/teams/tombstones/tombstones.yaml: entry 2: by is missing (who asked for the deletion)",
      "cluster/teams/tombstones/tombstones.yaml: entry 3: is not a mapping of kind, namespace, name, deletedAt, by",
    ]);
  });

  it("refuses malformed YAML, a mapping instead of a list, and two records of one deletion", () => {
    expect(readTombstones("- kind: [\n").problems[0]).toMatch(/^cluster\/teams\/tombstones\/tombstones.yaml: malformed YAML \(.*\): fix it or restore it with git$/);
    expect(readTombstones("kind: Team\n").problems).toEqual(["cluster/teams/tombstones/tombstones.yaml: is not a list of tombstones (- kind: Team, name: …, deletedAt: …, by: …)"]);
    const twice = `${formatTombstones([team2])}${formatTombstones([{ ...team2, by: "carol" }]).replace(/^#.*\n/gm, "")}`;
    expect(readTombstones(twice).problems).toEqual(["cluster/teams/tombstones/tombstones.yaml: entries 1 and 2 both record Team team2: keep one"]);
  });
});

describe("withTombstone and withoutTombstone", () => {
  it("replace the record of the same target, and remove it", () => {
    const later = teamTombstone("team2", new Date("2025-01-01T00:00:00.123Z"), "carol");
    expect(later.deletedAt).toBe("2025-01-01T00:00:00Z");
    expect(withTombstone([team2, app], later)).toEqual([app, later]);
    expect(withoutTombstone([team2, app], { kind: "Team", name: "team2" })).toEqual([app]);
    expect(withoutTombstone([team2, app], { kind: "Deployment", name: "web" })).toEqual([team2, app]);
  });
});

describe("tombstonesOfRender", () => {
  const cm = (data: unknown) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "tenantry-tombstones", namespace: "tenantry-system" }, data });

  it("finds the ConfigMap in tenantry-system and reads its tombstones.yaml", () => {
    expect(tombstonesOfRender([cm({ "tombstones.yaml": formatTombstones([team2]) })])).toEqual({ tombstones: [team2], problems: [] });
    expect(tombstonesOfRender([])).toEqual({ tombstones: [], problems: [] });
    // Only the one in tenantry-system counts: a team cannot forge deletions in its own namespace.
    expect(tombstonesOfRender([{ ...cm({ "tombstones.yaml": formatTombstones([team2]) }), metadata: { name: "tenantry-tombstones", namespace: "team1" } }]).tombstones).toEqual([]);
  });

  it("a ConfigMap without the key, or with a malformed list, gives no tombstones and the problem", () => {
    expect(tombstonesOfRender([cm({})])).toEqual({ tombstones: [], problems: ["ConfigMap tenantry-system/tenantry-tombstones has no tombstones.yaml"] });
    const r = tombstonesOfRender([cm({ "tombstones.yaml": "- kind: Team\n" })]);
    expect(r.tombstones).toEqual([]);
    expect(r.problems[0]).toBe("ConfigMap tenantry-system/tenantry-tombstones: entry 1: name is missing");
  });
});
