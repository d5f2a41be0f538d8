// The overlays of create-team --from, built while the next teams are planned
// (src/generate/teams.ts OverlayBuilds), with the real kustomize, from memory: a team whose
// files a later team's plan changes is built again, so what is reported is the build of what
// is written; nothing is written to the repo (or anywhere) to build; what an overlay reads
// beyond its own files (app templates) comes from the repo, confined as every build is.

import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OverlayBuilds } from "../../src/generate/teams.js";
import { tempDir } from "../helpers/cli.js";

const kustomization = (resources: string[]): string => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `- ${r}\n`).join("")}`;
const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

describe("OverlayBuilds", () => {
  it("builds each overlay as it is laid out, and again when a later plan changes one of its files", async () => {
    const root = tempDir();
    const builds = new OverlayBuilds(root);
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
    } finally {
      await builds.drain();
    }
    // Built from memory: nothing was written.
    expect(readdirSync(root)).toEqual([]);
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
      await builds.drain();
    }
  });

  it("reads what the overlay names beyond its files from the repo, and refuses a way out of it", async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, "kustomization.yaml"), kustomization(["cm.yaml"]));
    writeFileSync(join(outside, "cm.yaml"), configMap("secret-elsewhere"));
    mkdirSync(join(root, "apps/web"), { recursive: true });
    writeFileSync(join(root, "apps/web/kustomization.yaml"), kustomization(["cm.yaml"]));
    writeFileSync(join(root, "apps/web/cm.yaml"), configMap("web"));
    symlinkSync(outside, join(root, "apps/evil"));
    // A template whose kustomization is a symlink to a file of the team being built: on disk it is
    // the committed file, in the request tenantry's render; the walk would check one text and
    // kustomize build the other.
    mkdirSync(join(root, "apps/twin"));
    mkdirSync(join(root, "cluster/c"), { recursive: true });
    writeFileSync(join(root, "cluster/c/inner.yaml"), kustomization(["https://example.com/remote.yaml"]));
    symlinkSync("../../cluster/c/inner.yaml", join(root, "apps/twin/kustomization.yaml"));
    const builds = new OverlayBuilds(root);
    try {
      builds.lay({ name: "a", apps: [] }, new Map([["cluster/a/kustomization.yaml", kustomization(["cm.yaml", "../../apps/web"])], ["cluster/a/cm.yaml", configMap("a")]]), []);
      builds.lay({ name: "b", apps: [] }, new Map([["cluster/b/kustomization.yaml", kustomization(["../../apps/evil"])]]), []);
      builds.lay({ name: "c", apps: [] }, new Map([["cluster/c/kustomization.yaml", kustomization(["../../apps/twin"])], ["cluster/c/inner.yaml", kustomization(["cm.yaml"])], ["cluster/c/cm.yaml", configMap("c")]]), []);
      const { objects, problems } = await builds.settle([{ name: "a", apps: [] }, { name: "b", apps: [] }, { name: "c", apps: [] }]);
      expect(objects).toEqual([2, 0, 0]);
      expect(problems).toEqual([
        'team b: cluster/b/kustomization.yaml: resources entry "../../apps/evil" leads outside the checkout',
        "team c: apps/twin/kustomization.yaml: it is a symlink to a file or directory the build takes from the request, not the disk: the build is refused",
      ]);
    } finally {
      await builds.drain();
    }
    expect(readdirSync(root).sort()).toEqual(["apps", "cluster"]);
  });
});
