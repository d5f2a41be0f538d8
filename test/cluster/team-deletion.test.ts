// A team is pruned only when `tenantry delete-team` asked for it (a tombstone in the admin
// repo): a team whose line merely vanished from Git (a bad merge, a hand edit) keeps every one
// of its admin objects, the GitSync says why, and the rest of the revision still applies.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, readOrNull, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";

const KEEP = "td-keep";
const GONE = "td-gone";
let admin: KubeAccess;
let adminRepo: string;
let remote: { path: string; url: string };

function sync() {
  return runCli(["sync", "--once", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", inject("kubeconfig")]);
}

async function gitSync(): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "admin", namespace: "tenantry-system" } })) as GitSync;
}

/** Whether the object exists and is not being deleted. */
async function live(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
  const o = await readOrNull(admin, { apiVersion, kind, metadata: namespace === undefined ? { name } : { name, namespace } });
  return o !== null && (o.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined;
}

/** The guards of a team's namespace that must never go without the namespace going too. */
const guards = (team: string) =>
  [
    ["v1", "Namespace", team, undefined],
    ["v1", "ResourceQuota", "tenantry-quota", team],
    ["v1", "LimitRange", "tenantry-limits", team],
    ["networking.k8s.io/v1", "NetworkPolicy", "tenantry-default-deny", team],
    ["rbac.authorization.k8s.io/v1", "RoleBinding", "tenantry:team-admin", team],
    ["tenantry.dev/v1alpha1", "GitSync", team, team],
  ] as const;

beforeAll(async () => {
  admin = adminAccess();
  remote = bareRepo("admin-deletion");
  adminRepo = join(tempDir(), "admin");
  expect((await runCli(["init", adminRepo, "--cluster-name", "deletiontest", "--git-url", remote.url])).code).toBe(0);
  for (const team of [KEEP, GONE]) {
    const r = await runCli(["create-team", team, "--repo-url", `file://${tempDir()}/${team}.git`, "--team-repo-dir", join(tempDir(), team), "--commit"], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
  }
  commitAndPush(adminRepo, remote.url);
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", "common")));
  const s = await sync();
  expect(s.code, s.stdout + s.stderr).toBe(0);
});

describe("a team that vanished from Git without delete-team", () => {
  it("keeps every admin object of it, says so in Ready=False, and applies the rest of the revision", async () => {
    for (const [v, k, n, ns] of guards(GONE)) expect(await live(v, k, n, ns), `${k}/${n}`).toBe(true);
    // A bad merge: the team's line and overlay are gone, nothing else records a deletion.
    const list = join(adminRepo, "cluster", "teams", "kustomization.yaml");
    writeFileSync(list, readFileSync(list, "utf8").replace(new RegExp(`^.*\\b${GONE}\\b.*\\n`, "m"), ""));
    rmSync(join(adminRepo, "cluster", GONE), { recursive: true });
    // ...and an unrelated change in the same revision: the keep team's quota doubles.
    const quota = join(adminRepo, "cluster", KEEP, "quota.yaml");
    const before = readFileSync(quota, "utf8");
    expect(before).toMatch(/pods: "20"/);
    writeFileSync(quota, before.replace(/pods: "20"/, 'pods: "40"'));
    const sha = commitAndPush(adminRepo, remote.url, "bad merge");
    const r = await sync();
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/TeamDeletionNotRequested/);
    const gs = await gitSync();
    const ready = gs.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.status).toBe("False");
    expect(ready?.reason).toBe("TeamDeletionNotRequested");
    expect(ready?.message).toContain(`team ${GONE} vanished from Git without a tombstone`);
    expect(ready?.message).toContain(`tenantry delete-team ${GONE}`);
    expect(gs.status?.lastAttemptedRevision).toBe(`main@sha1:${sha}`);
    for (const [v, k, n, ns] of guards(GONE)) expect(await live(v, k, n, ns), `${k}/${n}`).toBe(true);
    // Still in the inventory: a later delete-team can let them go.
    expect(gs.status?.inventory?.entries?.map((e) => e.id)).toContain(`_${GONE}__Namespace`);
    // The rest applied.
    const q = await client(admin).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: KEEP } });
    expect((q as unknown as { spec: { hard: Record<string, string> } }).spec.hard.pods).toBe("40");
    // Put it back as it was.
    git(adminRepo, "revert", "--no-edit", "HEAD");
    commitAndPush(adminRepo, remote.url);
    expect((await sync()).code).toBe(0);
  });

  it("delete-team's tombstone lets the reconciler prune the team", async () => {
    const d = await runCli(["delete-team", GONE, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(readFileSync(join(adminRepo, "cluster", "teams", "tombstones", "tombstones.yaml"), "utf8")).toContain(`name: ${GONE}`);
    commitAndPush(adminRepo, remote.url);
    const r = await sync();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await waitFor(`namespace ${GONE} to be deleted`, async () => ((await live("v1", "Namespace", GONE)) ? undefined : true), 60_000);
    const gs = await gitSync();
    expect(gs.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(gs.status?.inventory?.entries?.map((e) => e.id).filter((id) => id.includes(GONE))).toEqual([]);
    for (const [v, k, n, ns] of guards(KEEP)) expect(await live(v, k, n, ns), `${k}/${n}`).toBe(true);
  });
});
