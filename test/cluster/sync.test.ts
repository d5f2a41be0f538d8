// The reconciler end to end, on the real control plane with real git repos (bare remotes
// in temp dirs, pushed to): `tenantry sync` as a separate process, exactly as a person or
// the agent would run it.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, readOrNull, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";

let admin: KubeAccess;
let adminRepo: string;
let adminRemote: { path: string; url: string };
let teamRemote: { path: string; url: string };
let teamRepo: string;
const TEAM = "sync-a";

function sync(namespace: string, name: string) {
  return runCli(["sync", "--once", "--namespace", namespace, "--name", name, "--kubeconfig", inject("kubeconfig")]);
}

async function gitSync(namespace: string, name: string): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name, namespace } })) as GitSync;
}

function ready(gs: GitSync) {
  return gs.status?.conditions?.find((c) => c.type === "Ready");
}

/** Whether the object exists and is not being deleted; 404 is "no", any other failure fails the test. */
async function exists(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
  const o = await readOrNull(admin, { apiVersion, kind, metadata: namespace === undefined ? { name } : { name, namespace } });
  return o !== null && (o.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined;
}

beforeAll(async () => {
  admin = adminAccess();
  adminRemote = bareRepo("admin");
  teamRemote = bareRepo("team");
  adminRepo = join(tempDir(), "admin");
  const init = await runCli(["init", adminRepo, "--cluster-name", "synctest", "--git-url", adminRemote.url]);
  expect(init.code, init.stderr).toBe(0);
  commitAndPush(adminRepo, adminRemote.url);
  // Bootstrap, as an admin does once: the CRD, tenantry-system and the admin repo's GitSync.
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", "common")));
});

describe("the admin repo", () => {
  it("a pushed new team appears in the cluster after a sync", async () => {
    teamRepo = join(tempDir(), "team");
    const r = await runCli(["create-team", TEAM, "--repo-url", teamRemote.url, "--team-repo-dir", teamRepo, "--commit"], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
    const sha = commitAndPush(adminRepo, adminRemote.url);
    const s = await sync("tenantry-system", "admin");
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toMatch(/^ready {2}tenantry-system\/admin {2}ReconciliationSucceeded/);
    for (const [v, k, n, ns] of [
      ["v1", "Namespace", TEAM, undefined],
      ["v1", "ServiceAccount", TEAM, TEAM],
      ["rbac.authorization.k8s.io/v1", "RoleBinding", "tenantry:team-admin", TEAM],
      ["v1", "ResourceQuota", "tenantry-quota", TEAM],
      ["networking.k8s.io/v1", "NetworkPolicy", "tenantry-default-deny", TEAM],
      ["tenantry.dev/v1alpha1", "GitSync", TEAM, TEAM],
    ] as const) {
      expect(await exists(v, k, n, ns), `${k}/${n}`).toBe(true);
    }
    const gs = await gitSync("tenantry-system", "admin");
    expect(ready(gs)?.status).toBe("True");
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.inventory?.entries?.map((e) => e.id)).toContain(`_${TEAM}__Namespace`);
    const ns = await client(admin).readObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } });
    expect(ns.metadata.labels).toMatchObject({ "tenantry.dev/sync-name": "admin", "tenantry.dev/sync-namespace": "tenantry-system", "app.kubernetes.io/managed-by": "tenantry" });
  });

  it("a hand edit of a team's quota is reverted at the next sync", async () => {
    await apply(admin, { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM }, spec: { hard: { pods: "999" } } });
    // The hand edit took another field manager's ownership of pods; tenantry takes it back.
    expect((await sync("tenantry-system", "admin")).code).toBe(0);
    const quota = await client(admin).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM } });
    expect((quota as unknown as { spec: { hard: Record<string, string> } }).spec.hard.pods).toBe("20");
  });

  it("a no-op resync applies nothing; a drifted object is the only one re-applied", async () => {
    const counts = (stdout: string): [number, number] => {
      const m = /\((\d+) objects, (\d+) unchanged/.exec(stdout);
      return [Number(m?.[1]), Number(m?.[2])];
    };
    const quotaHeader = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM } };
    const before = await client(admin).readObject(quotaHeader);
    const noop = await sync("tenantry-system", "admin");
    expect(noop.code, noop.stdout + noop.stderr).toBe(0);
    const [total, unchanged] = counts(noop.stdout);
    expect(total).toBeGreaterThan(10);
    expect(unchanged, noop.stdout).toBe(total);
    // The quota controller keeps writing status; what matters is that no apply wrote the spec.
    const specManagers = (o: object) => ((o as { metadata?: { managedFields?: { subresource?: string }[] } }).metadata?.managedFields ?? []).filter((f) => f.subresource !== "status");
    expect(specManagers(await client(admin).readObject(quotaHeader))).toEqual(specManagers(before));

    await apply(admin, { ...quotaHeader, spec: { hard: { pods: "999" } } });
    const drift = await sync("tenantry-system", "admin");
    expect(counts(drift.stdout)).toEqual([total, total - 1]);
    const quota = await client(admin).readObject(quotaHeader);
    expect((quota as unknown as { spec: { hard: Record<string, string> } }).spec.hard.pods).toBe("20");
  });
});

describe("a team repo", () => {
  it("the pushed example app is applied in the namespace, as the team", async () => {
    const sha = commitAndPush(teamRepo, teamRemote.url);
    const s = await sync(TEAM, TEAM);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(await exists("apps/v1", "Deployment", "podinfo", TEAM)).toBe(true);
    const d = await client(admin).readObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: TEAM } });
    const managers = (d.metadata as { managedFields?: { manager: string }[] }).managedFields?.map((m) => m.manager);
    expect(managers).toContain("tenantry");
    expect(d.metadata.labels).toMatchObject({ "tenantry.dev/team": TEAM, "tenantry.dev/sync-name": TEAM });
    expect((await gitSync(TEAM, TEAM)).status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
  });

  it.each([
    ["a ClusterRole", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "grab" }, rules: [] }, /ClusterRole\/grab is cluster-scoped/],
    // (without the kustomization's `namespace:`, which would otherwise move it into the team's)
    ["an object in another namespace", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "spy", namespace: "default" } }, /ConfigMap\/default\/spy is in namespace default/],
  ])("a pushed %s: nothing of that revision is applied, Ready=False names it, the app stays", async (_what, object, message) => {
    writeFileSync(join(teamRepo, "extra.yaml"), JSON.stringify(object));
    writeFileSync(join(teamRepo, "note.yaml"), JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "note" }, data: { a: "b" } }));
    const k = readFileSync(join(teamRepo, "kustomization.yaml"), "utf8");
    writeFileSync(join(teamRepo, "kustomization.yaml"), k.replace("  - app.yaml\n", "  - app.yaml\n  - extra.yaml\n  - note.yaml\n").replace(/^namespace: .*\n/m, ""));
    const before = (await gitSync(TEAM, TEAM)).status?.lastAppliedRevision;
    const sha = commitAndPush(teamRepo, teamRemote.url);
    const s = await sync(TEAM, TEAM);
    expect(s.code).toBe(1);
    const gs = await gitSync(TEAM, TEAM);
    expect(ready(gs)?.status).toBe("False");
    expect(ready(gs)?.reason).toBe("LintFailed");
    expect(ready(gs)?.message).toMatch(message);
    expect(gs.status?.lastAttemptedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.lastAppliedRevision).toBe(before);
    expect(await exists("v1", "ConfigMap", "note", TEAM)).toBe(false);
    expect(await exists("apps/v1", "Deployment", "podinfo", TEAM)).toBe(true);
    // Put the repo back for the next case.
    rmSync(join(teamRepo, "extra.yaml"));
    rmSync(join(teamRepo, "note.yaml"));
    writeFileSync(join(teamRepo, "kustomization.yaml"), k);
    commitAndPush(teamRepo, teamRemote.url);
    expect((await sync(TEAM, TEAM)).code).toBe(0);
  });

  it.each([
    ["a broken kustomization", "BuildFailed", () => { writeFileSync(join(teamRepo, "kustomization.yaml"), "resources: [missing.yaml]\n"); }],
    ["an empty render", "EmptyRender", () => { writeFileSync(join(teamRepo, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"); }],
    ["a remote base", "RemoteBaseRefused", () => { writeFileSync(join(teamRepo, "kustomization.yaml"), "resources:\n  - https://github.com/acme/evil//base?ref=main\n"); }],
    ["a remote base in a directory the build includes", "RemoteBaseRefused", () => {
      mkdirSync(join(teamRepo, "extra"), { recursive: true });
      writeFileSync(join(teamRepo, "extra", "kustomization.yaml"), "resources:\n  - https://example.com/evil.yaml\n");
      writeFileSync(join(teamRepo, "kustomization.yaml"), `${readFileSync(join(teamRepo, "kustomization.yaml"), "utf8")}components:\n  - extra\n`);
    }],
  ])("%s: no prune, Ready=False with %s, and a Warning Event", async (_what, reason, breakIt) => {
    const k = readFileSync(join(teamRepo, "kustomization.yaml"), "utf8");
    breakIt();
    commitAndPush(teamRepo, teamRemote.url);
    expect((await sync(TEAM, TEAM)).code).toBe(1);
    const gs = await gitSync(TEAM, TEAM);
    expect(ready(gs)?.reason).toBe(reason);
    expect(gs.status?.conditions?.find((c) => c.type === "Stalled")?.status).toBe("True");
    expect(await exists("apps/v1", "Deployment", "podinfo", TEAM)).toBe(true);
    const events = await client(admin).listObjects("v1", "Event", TEAM);
    expect(events.items.some((e) => (e as { reason?: string; type?: string }).reason === reason && (e as { type?: string }).type === "Warning")).toBe(true);
    writeFileSync(join(teamRepo, "kustomization.yaml"), k);
    commitAndPush(teamRepo, teamRemote.url);
    expect((await sync(TEAM, TEAM)).code).toBe(0);
  });

  it("a remote base in a kustomization the build does not read is not refused (nor fetched)", async () => {
    mkdirSync(join(teamRepo, "apply-once"), { recursive: true });
    writeFileSync(join(teamRepo, "apply-once", "kustomization.yaml"), "resources:\n  - https://example.com/unreachable.yaml\n");
    commitAndPush(teamRepo, teamRemote.url);
    const s = await sync(TEAM, TEAM);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(ready(await gitSync(TEAM, TEAM))?.status).toBe("True");
    rmSync(join(teamRepo, "apply-once"), { recursive: true });
    rmSync(join(teamRepo, "extra"), { recursive: true, force: true });
    commitAndPush(teamRepo, teamRemote.url);
  });

  it("an unreachable remote: no prune, Ready=False with GitOperationFailed", async () => {
    const moved = `${teamRemote.path}.moved`;
    const { renameSync } = await import("node:fs");
    renameSync(teamRemote.path, moved);
    try {
      expect((await sync(TEAM, TEAM)).code).toBe(1);
      const gs = await gitSync(TEAM, TEAM);
      expect(ready(gs)?.reason).toBe("GitOperationFailed");
      expect(ready(gs)?.message).toMatch(/fetching file:\/\/.* failed/);
      expect(await exists("apps/v1", "Deployment", "podinfo", TEAM)).toBe(true);
    } finally {
      renameSync(moved, teamRemote.path);
    }
  });

  it("an object removed from the repo is pruned; one tenantry did not apply is left alone", async () => {
    await apply(adminAccess(), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "by-hand", namespace: TEAM } });
    const k = readFileSync(join(teamRepo, "kustomization.yaml"), "utf8");
    mkdirSync(join(teamRepo, "cfg"), { recursive: true });
    writeFileSync(join(teamRepo, "cfg.yaml"), JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "temporary" } }));
    writeFileSync(join(teamRepo, "kustomization.yaml"), k.replace("  - app.yaml\n", "  - app.yaml\n  - cfg.yaml\n"));
    commitAndPush(teamRepo, teamRemote.url);
    expect((await sync(TEAM, TEAM)).code).toBe(0);
    expect(await exists("v1", "ConfigMap", "temporary", TEAM)).toBe(true);
    rmSync(join(teamRepo, "cfg.yaml"));
    writeFileSync(join(teamRepo, "kustomization.yaml"), k);
    commitAndPush(teamRepo, teamRemote.url);
    const s = await sync(TEAM, TEAM);
    expect(s.stdout).toMatch(/pruned 1/);
    expect(await exists("v1", "ConfigMap", "temporary", TEAM)).toBe(false);
    expect(await exists("v1", "ConfigMap", "by-hand", TEAM)).toBe(true);
  });
});

describe("deleting a team", () => {
  it("delete-team + push prunes every object of the team", async () => {
    const r = await runCli(["delete-team", TEAM, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
    commitAndPush(adminRepo, adminRemote.url);
    const s = await sync("tenantry-system", "admin");
    expect(s.code, s.stdout).toBe(0);
    expect(s.stdout).toMatch(/pruned \d+/);
    expect(await exists("v1", "Namespace", TEAM)).toBe(false);
    expect(await exists("rbac.authorization.k8s.io/v1", "ClusterRole", "tenantry:team-admin")).toBe(true);
    await waitFor(`namespace ${TEAM} to be gone`, async () => ((await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } })) === null ? true : undefined), 90_000);
  });
});
