// Deploy keys under the flux engine: what works the same and what is refused, without a cluster
// (each refusal comes before any request; the address below is never dialled).

import { describe, expect, it } from "vitest";
import type { KubeAccess } from "../../src/cluster/access.js";
import { rotateKey } from "../../src/keys/rotate.js";
import { keyTarget, type RepoTarget } from "../../src/keys/target.js";

const nowhere: KubeAccess = { context: "x", cluster: { name: "x", server: "https://127.0.0.1:1", skipTLSVerify: false }, user: { name: "x" } } as KubeAccess;

function target(engine: "tenantry" | "flux", team: string | null): RepoTarget {
  return { ...keyTarget(team, engine), root: "/nonexistent", clusterName: "c", repoUrl: "ssh://git@h/x.git", title: "tenantry:c:x", engine };
}

describe("deploy keys under the flux engine", () => {
  it("the admin key lives in Secret flux-system/flux-system, fetched by GitRepository flux-system/flux-system", () => {
    const t = keyTarget(null, "flux");
    expect([t.namespace, t.secretName, t.gitSync.namespace, t.gitSync.name]).toEqual(["flux-system", "flux-system", "flux-system", "flux-system"]);
    expect(keyTarget("team1", "flux")).toEqual(keyTarget("team1", "tenantry"));
  });

  it.each([null, "team1"])("keys rotate (%s) is refused before any request: Flux's GitRepository does not say which key it fetched with", async (team) => {
    await expect(rotateKey({ target: target("flux", team), kc: nowhere, timeoutMs: 1000, syncNow: false, commit: false })).rejects.toThrow(/runs on the flux engine, whose GitRepository does not say which key it fetched with: rotate by hand/);
  });
});
