// A large inventory kept compressed in the GitSync's status (src/model/inventory-store.ts), on
// the real control plane: the CRD takes it, the next run prunes from it, the readable form
// comes back when it is small again, an unreadable one stops the run before anything is
// applied or pruned, and a cluster whose CRD predates the field refuses to lose it.
// TENANTRY_INVENTORY_INLINE_BYTES=0 makes `tenantry sync` store even a small inventory
// compressed; bench:scale stores an admin repo's of 1000 and 5000 teams for real.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { inventoryEntries, storeInventory } from "../../src/model/inventory-store.js";
import { type KubeObject, parseObjects } from "../../src/model/object.js";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, ignoring, readOrNull, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";

const NS = "inv-compressed";
const NAME = "inv-compressed";
const PROBE = "inv-compressed-probe";
const SYSTEM = "tenantry-system";
const COMPRESSED = { TENANTRY_INVENTORY_INLINE_BYTES: "0" };
let admin: KubeAccess;
let repo: string;
let remote: { path: string; url: string };
let crd: KubeObject;

const header = (name: string) => ({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name, namespace: SYSTEM } });
const gitSync = async (): Promise<GitSync> => (await client(admin).readObject(header(NAME))) as GitSync;
const ready = (gs: GitSync) => gs.status?.conditions?.find((c) => c.type === "Ready");
const sync = (env: NodeJS.ProcessEnv = {}) => runCli(["sync", "--once", "--namespace", SYSTEM, "--name", NAME, "--kubeconfig", inject("kubeconfig")], { env });

/** The repo: namespace NS and ConfigMaps cm-0..cm-(n-1), committed and pushed. */
function writeRepo(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `cm-${String(i)}`);
  rmSync(join(repo, "objects.yaml"), { force: true });
  const objects = [{ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }, ...names.map((name) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS }, data: { name } }))];
  writeFileSync(join(repo, "objects.yaml"), objects.map((o) => JSON.stringify(o)).join("\n---\n"));
  writeFileSync(join(repo, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - objects.yaml\n");
  return commitAndPush(repo, remote.url);
}

async function configMaps(): Promise<string[]> {
  return (await client(admin).listObjects("v1", "ConfigMap", NS)).items.map((o) => o.metadata.name).filter((n) => n.startsWith("cm-")).sort();
}

/** Whether the API server keeps status.inventory.compressed on the probe GitSync (the CRD's schema as it serves it now). */
async function keepsCompressed(): Promise<boolean> {
  const inventory = storeInventory([], 0);
  const written = await client(admin).patchStatus(header(PROBE), { inventory });
  return (written as GitSync).status?.inventory?.compressed === inventory.compressed;
}

beforeAll(async () => {
  admin = adminAccess();
  const file = join(repoRoot, "cluster-template", "cluster", "common", "gitsync-crd.yaml");
  crd = parseObjects(readFileSync(file, "utf8"), file)[0] as KubeObject;
  await applyObjects(admin, [crd, { apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM } }]);
  remote = bareRepo("inventory");
  repo = join(tempDir(), "repo");
  git(tempDir(), "init", "-q", "-b", "main", repo);
  writeRepo(40);
  const spec = { url: remote.url, ref: { branch: "main" }, path: "./", interval: "10m", prune: true };
  for (const name of [NAME, PROBE]) {
    await ignoring([404], client(admin).deleteObject(header(name)));
    await waitFor(`GitSync ${name} gone`, async () => ((await readOrNull(admin, header(name))) === null ? true : undefined));
    await client(admin).createObject({ ...header(name), spec });
  }
  await waitFor("the CRD to keep compressed inventories", async () => ((await keepsCompressed()) ? true : undefined));
});

afterAll(async () => {
  // Leave the CRD as init writes it, whatever a case did to it, and nothing of this file.
  await applyObjects(admin, [crd]);
  for (const name of [NAME, PROBE]) await ignoring([404], client(admin).deleteObject(header(name)));
  await ignoring([404], client(admin).deleteObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }));
});

describe("a compressed inventory on the control plane", () => {
  it("is stored compressed with its count (no readable entries), and reads back as every object applied", async () => {
    const s = await sync(COMPRESSED);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("ReconciliationSucceeded");
    expect(gs.status?.inventory?.entries).toBeUndefined();
    expect(gs.status?.inventory?.count).toBe(41);
    expect(inventoryEntries(gs.status?.inventory).map((e) => e.id)).toEqual(expect.arrayContaining([`_${NS}__Namespace`, `${NS}_cm-0__ConfigMap`, `${NS}_cm-39__ConfigMap`]));
    expect(await configMaps()).toHaveLength(40);
    const status = await runCli(["status", "--kubeconfig", inject("kubeconfig"), "--output", "json"]);
    expect(status.code, status.stderr).toBe(0);
    const row = (JSON.parse(status.stdout) as { gitsyncs?: { name: string; objects: number | null }[] }).gitsyncs?.find((r) => r.name === NAME);
    expect(row?.objects).toBe(41);
  });

  it("the next run prunes what left Git, from the compressed inventory", async () => {
    writeRepo(30);
    const s = await sync(COMPRESSED);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toMatch(/pruned 10/);
    expect(await configMaps()).toEqual(Array.from({ length: 30 }, (_, i) => `cm-${String(i)}`).sort());
    expect((await gitSync()).status?.inventory?.count).toBe(31);
  });

  it("a small inventory goes back to Flux's readable entries, the compressed form deleted", async () => {
    const s = await sync();
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const inventory = (await gitSync()).status?.inventory;
    expect(inventory?.compressed).toBeUndefined();
    expect(inventory?.count).toBeUndefined();
    expect(inventory?.entries).toHaveLength(31);
  });

  it("an unreadable compressed inventory: InventoryUnreadable, nothing applied or pruned", async () => {
    await client(admin).patchStatus(header(NAME), { inventory: { entries: null, compressed: "bm90IGJyb3RsaQ==", count: 31 } });
    writeRepo(20);
    const s = await sync();
    expect(s.code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("InventoryUnreadable");
    expect(ready(gs)?.message).toMatch(/the compressed inventory cannot be read .* nothing was applied or pruned/);
    expect(await configMaps()).toHaveLength(30);
    // The admin's way out: clear it; the run then applies, and prunes nothing it cannot name.
    await client(admin).patchStatus(header(NAME), { inventory: null });
    expect((await sync()).code).toBe(0);
    expect(await configMaps()).toHaveLength(30);
  });

  it("a CRD that predates the field: the run stops before it applies anything, naming the fix", async () => {
    const schema = crd as unknown as { spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { properties: { inventory: { properties: Record<string, unknown> } } } } } } }[] } };
    const old = structuredClone(schema);
    for (const v of old.spec.versions) {
      const props = v.schema.openAPIV3Schema.properties.status.properties.inventory.properties;
      delete props.compressed;
      delete props.count;
    }
    await applyObjects(admin, [old as unknown as KubeObject]);
    try {
      await waitFor("the old CRD to drop compressed inventories", async () => ((await keepsCompressed()) ? undefined : true));
      writeRepo(45); // 25 new ConfigMaps: the inventory grows, so it is recorded before the apply
      const s = await sync(COMPRESSED);
      expect(s.code).toBe(1);
      expect(ready(await gitSync())?.reason).toBe("InventoryDropped");
      expect(s.stdout + s.stderr).toMatch(/dropped status\.inventory\.compressed: the GitSync CRD in cluster\/common predates it/);
      expect(await configMaps()).toHaveLength(30);
      // The readable inventory the last good run wrote is still there: nothing is forgotten.
      expect((await gitSync()).status?.inventory?.entries).toHaveLength(21);
    } finally {
      await applyObjects(admin, [crd]);
      await waitFor("the CRD to keep compressed inventories again", async () => ((await keepsCompressed()) ? true : undefined));
    }
    const s = await sync(COMPRESSED);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(await configMaps()).toHaveLength(45);
    // Kept compressed, so the readable form it replaced is gone.
    const inventory = (await gitSync()).status?.inventory;
    expect(inventory?.entries).toBeUndefined();
    expect(inventory?.count).toBe(46);
  });
});
