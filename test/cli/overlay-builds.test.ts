// The overlays of create-team --from, built while the next teams are planned
// (src/generate/teams.ts OverlayBuilds), with the real kustomize: a team whose files a later
// team's plan changes is built again, so what is reported is the build of what is written.

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OverlayBuilds } from "../../src/generate/teams.js";
import { tempDir } from "../helpers/cli.js";

const kustomization = (resources: string[]): string => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `- ${r}\n`).join("")}`;
const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

describe("OverlayBuilds", () => {
  it("builds each overlay as it is laid out, and again when a later plan changes one of its files", async () => {
    const builds = new OverlayBuilds(tempDir());
    try {
      builds.lay({ name: "a", apps: [] }, new Map([["cluster/a/kustomization.yaml", kustomization(["cm.yaml"])], ["cluster/a/cm.yaml", configMap("a")]]), []);
      expect(await builds.settle([{ name: "a", apps: [] }])).toEqual({ objects: [1], problems: [] });
      // Team b's plan rewrites a's file (as --allow-from rewrites the allowing team's policies): a's first build is stale.
      builds.lay(
        { name: "b", apps: [] },
        new Map([
          ["cluster/b/kustomization.yaml", kustomization(["cm.yaml"])],
          ["cluster/b/cm.yaml", `${configMap("b")}---\n${configMap("b2")}`],
          ["cluster/a/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n"],
          ["cluster/teams/kustomization.yaml", kustomization(["../a", "../b"])],
        ]),
        [],
      );
      const { objects, problems } = await builds.settle([{ name: "a", apps: [] }, { name: "b", apps: [] }]);
      expect(objects[1]).toBe(2);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^team a: .*cm\.yaml/);
      // Only the teams built are laid out: not the teams list.
      expect(existsSync(`${builds.dir}/cluster/teams`)).toBe(false);
    } finally {
      await builds.remove();
    }
    expect(existsSync(builds.dir)).toBe(false);
  });

  it("a later plan that mends a broken overlay: the report is of the mended one", async () => {
    const builds = new OverlayBuilds(tempDir());
    try {
      builds.lay({ name: "a", apps: [] }, new Map([["cluster/a/kustomization.yaml", kustomization(["cm.yaml", "gone.yaml"])], ["cluster/a/cm.yaml", configMap("a")], ["cluster/a/gone.yaml", "{"]]), []);
      expect((await builds.settle([{ name: "a", apps: [] }])).problems).toHaveLength(1);
      builds.lay({ name: "b", apps: [] }, new Map([["cluster/b/kustomization.yaml", kustomization(["cm.yaml"])], ["cluster/b/cm.yaml", configMap("b")], ["cluster/a/kustomization.yaml", kustomization(["cm.yaml"])]]), ["cluster/a/gone.yaml"]);
      // The stale first build of a failed; only the rebuild's result is reported.
      expect(await builds.settle([{ name: "a", apps: [] }, { name: "b", apps: [] }])).toEqual({ objects: [1, 1], problems: [] });
    } finally {
      await builds.remove();
    }
  });
});
