// The split build of an aggregating kustomization gives exactly the objects kustomize's
// own build of the whole tree gives, and never follows a cycle the whole build would refuse.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDir, buildSplit } from "../../src/build/kustomize.js";
import { BuildError, LIMITS, REMOTE_RENDER_BYTES } from "../../src/build/service.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { type KubeObject } from "../../src/model/object.js";
import { renderBytesOf } from "../../src/sync/reconcile.js";
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

/** A checkout whose `dir`s each render one ConfigMap of `bytes` bytes of data; "." aggregates them when there are several. */
function bigRepo(dirs: readonly string[], bytes: number): string {
  const root = mkdtempSync(join(tmpdir(), "tenantry-big-render-"));
  for (const d of dirs) {
    mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, d, "kustomization.yaml"), `configMapGenerator:\n  - name: big-${d.replace(/\W/g, "")}\n    files: [big.txt]\ngeneratorOptions:\n  disableNameSuffixHash: true\n`);
    writeFileSync(join(root, d, "big.txt"), "x".repeat(bytes));
  }
  if (dirs.length > 1) writeFileSync(join(root, "kustomization.yaml"), `resources:\n${dirs.map((d) => `  - ${d}\n`).join("")}`);
  return root;
}

describe("the render limit of a GitSync with spec.kubeConfig (the system agent parses that team's render)", () => {
  const gs = (spec: Partial<GitSync["spec"]>): GitSync => ({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "t", namespace: "tenantry-system" }, spec: { url: "file:///x", interval: "1m", ...spec } });
  const remote = gs({ serviceAccountName: "t", targetNamespace: "t", kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: "t-system", key: "kubeconfig-incluster" } } });
  const MiB = 1024 * 1024;

  it("is 4 MiB there; the admin's and a namespace team's stay the service's 64 MiB", () => {
    expect(REMOTE_RENDER_BYTES).toBe(4 * MiB);
    expect(renderBytesOf(remote)).toBe(REMOTE_RENDER_BYTES);
    expect(renderBytesOf(gs({}))).toBe(LIMITS.renderBytes);
    const team: GitSync = { ...gs({ serviceAccountName: "t1" }), metadata: { name: "t1", namespace: "t1" } };
    expect(renderBytesOf(team)).toBe(64 * MiB);
  });

  it("a 5 MiB render is RenderTooLarge with it, and builds with the default", async () => {
    const root = bigRepo(["."], 5 * MiB);
    const e: unknown = await buildSplit(root, ".", { limits: { renderBytes: renderBytesOf(remote) } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect((e as BuildError).reason).toBe("RenderTooLarge");
    expect(await buildSplit(root, ".", { limits: { renderBytes: renderBytesOf(gs({})) } })).toHaveLength(1);
  });

  it("bounds the parts of an aggregating kustomization together, before the part past it is parsed", async () => {
    const root = bigRepo(["a", "b"], 3 * MiB);
    const e: unknown = await buildSplit(root, ".", { limits: { renderBytes: REMOTE_RENDER_BYTES } }, 1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect((e as BuildError).reason).toBe("RenderTooLarge");
    expect((e as BuildError).message).toBe("the render of . is more than the limit of 4194304 bytes (its parts together)");
    expect(await buildSplit(root, ".")).toHaveLength(2);
  });
});
