// delete-team against the real control plane: it reads the team's live namespace and says what
// the deletion loses (PersistentVolumeClaims and Secrets by name, objects no GitSync applied
// per kind), refuses a namespace holding a PVC unless --force (one line, the repo unchanged),
// and with --force records the tombstone, revokes the team's deploy key where the Secret says it
// is registered (an ssh server's authorized_keys file) and deletes the key's Secret.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { KubeObject } from "../../src/model/object.js";
import { parseTombstones } from "../../src/model/tombstones.js";
import { runCli, snapshotTree, tempDir, type CliResult } from "../helpers/cli.js";
import { adminAccess, create, readOrNull } from "../helpers/cluster.js";

const TEAM = "deleteme";
let admin: KubeAccess;
let adminRepo: string;
let authorizedKeys: string;

/** The labels the admin repo's GitSync puts on what it applies: these objects are "from Git". */
const FROM_GIT = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/sync-namespace": "tenantry-system", "tenantry.dev/sync-name": "admin" };

function cli(args: readonly string[]): Promise<CliResult> {
  return runCli([...args, "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
}

const deployKeySecret = { apiVersion: "v1", kind: "Secret", metadata: { name: `${TEAM}-deploy-key`, namespace: TEAM } };

beforeAll(async () => {
  admin = adminAccess();
  adminRepo = join(tempDir(), "admin");
  const init = await runCli(["init", adminRepo, "--cluster-name", "deltest", "--git-url", "https://git.example.com/acme/admin.git"]);
  expect(init.code, init.stderr).toBe(0);
  const ct = await runCli(["create-team", TEAM, "--commit"], { cwd: adminRepo });
  expect(ct.code, ct.stderr).toBe(0);
  // As the admin GitSync would apply them (its labels), without touching the shared
  // tenantry-system/admin GitSync other files reconcile: cluster/common minus it, the overlay.
  const labelled = (objects: KubeObject[]): KubeObject[] => objects.map((o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...FROM_GIT } } }));
  await applyObjects(admin, labelled((await buildDir(join(adminRepo, "cluster", "common"))).filter((o) => o.kind !== "GitSync")));
  await applyObjects(admin, labelled(await buildDir(join(adminRepo, "cluster", TEAM))));
  // What only the cluster holds: a volume's claim, a credential, a ConfigMap made by hand.
  await create(admin, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: TEAM }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Mi" } } } });
  await create(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "db-password", namespace: TEAM }, stringData: { password: "hunter2" } });
  await create(admin, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "by-hand", namespace: TEAM }, data: { a: "b" } });
  // The team's deploy key, registered on an ssh server (its git user's authorized_keys).
  authorizedKeys = join(tempDir(), "authorized_keys");
  writeFileSync(authorizedKeys, "", { mode: 0o600 });
  const key = await cli(["keys", "create", TEAM, "--commit"]);
  expect(key.code, key.stderr).toBe(0);
  const reg = await cli(["keys", "register", TEAM, "--host", "ssh", "--authorized-keys", authorizedKeys, "--repo", "/srv/git/deleteme.git"]);
  expect(reg.code, reg.stderr).toBe(0);
  expect(readFileSync(authorizedKeys, "utf8")).toContain(`tenantry:deltest:${TEAM}`);
}, 180_000);

describe("delete-team reads the live namespace", () => {
  it("--dry-run lists what would be lost: the PVC and the Secrets by name, what no GitSync applied per kind", async () => {
    const r = await cli(["delete-team", TEAM, "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    const at = lines.findIndex((l) => l.startsWith(`Live namespace ${TEAM} (https://`));
    expect(at, r.stdout).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 4)).toEqual([
      "  PersistentVolumeClaims: 1 (data): their volumes' data goes with them",
      `  Secrets: 2 (db-password, ${TEAM}-deploy-key)`,
      "  not from Git: ConfigMap 1",
    ]);
    expect(r.stdout).toMatch(new RegExp(`^Would refuse without --force: namespace ${TEAM} holds 1 PersistentVolumeClaim \\(data\\)`, "m"));
  });

  it("refuses a namespace holding a PersistentVolumeClaim: exit 2, one line, the repo, the key and the Secret untouched", async () => {
    const before = snapshotTree(adminRepo);
    const keys = readFileSync(authorizedKeys, "utf8");
    const r = await cli(["delete-team", TEAM, "--commit"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `tenantry: error: namespace ${TEAM} holds 1 PersistentVolumeClaim (data): deleting the team deletes their volumes' data; back it up, then pass --force\n`,
    );
    expect(snapshotTree(adminRepo)).toEqual(before);
    expect(readFileSync(authorizedKeys, "utf8")).toBe(keys);
    expect(await readOrNull(admin, deployKeySecret)).not.toBeNull();
  });

  it("--force: the tombstone is committed, the key is revoked on the host and its Secret deleted, and the summary says so", async () => {
    const r = await cli(["delete-team", TEAM, "--commit", "--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Deploy key: revoked SHA256:\\S+: removed 1 from ssh ${authorizedKeys.replaceAll("/", "\\/")}; Secret ${TEAM}/${TEAM}-deploy-key deleted$`, "m"));
    expect(r.stdout).toContain("  PersistentVolumeClaims: 1 (data): their volumes' data goes with them\n");
    expect(r.stdout).toMatch(/^Committed [0-9a-f]{7}\.$/m);
    expect(readFileSync(authorizedKeys, "utf8")).not.toContain(`tenantry:deltest:${TEAM}`);
    expect(await readOrNull(admin, deployKeySecret)).toBeNull();
    expect(parseTombstones(readFileSync(join(adminRepo, "cluster/teams/tombstones/tombstones.yaml"), "utf8")).map((t) => `${t.kind} ${t.name}`)).toEqual([`Team ${TEAM}`]);
    expect(existsSync(join(adminRepo, "cluster", TEAM))).toBe(false);
    // Nothing is pruned by delete-team itself: the reconciler does that after the push.
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: TEAM } })).not.toBeNull();
  });
});
