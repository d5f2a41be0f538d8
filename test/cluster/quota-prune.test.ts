// A namespace's ResourceQuota counts objects Git no longer has until they are pruned, and a
// prune only follows a successful apply: a revision that replaces objects could never be
// applied under a tight quota. The reconciler prunes first when an object-count quota alone
// refuses the new objects and the revision fits it by itself, then applies again; a revision
// refused for any other reason, or too large by itself, prunes nothing (src/sync/quota-first.ts).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, namespaceEditor, client, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";

const NS = "quota-prune";
let admin: KubeAccess;
let work: string;
let remote: string;

function pushConfigMaps(prefix: string, count: number): string {
  const docs = Array.from({ length: count }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${prefix}-${String(i)}\ndata:\n  i: "${String(i)}"\n`);
  writeFileSync(join(work, "cms.yaml"), docs.join("---\n"));
  writeFileSync(join(work, "kustomization.yaml"), "resources: [cms.yaml]\n");
  return commitAndPush(work, remote, prefix);
}

async function names(): Promise<string[]> {
  const list = await client(admin).listObjects("v1", "ConfigMap", NS, "tenantry.dev/sync-name=app");
  return list.items.map((o) => o.metadata.name).sort();
}

function sync() {
  return runCli(["sync", "--once", "--namespace", NS, "--name", "app", "--kubeconfig", inject("kubeconfig")]);
}

beforeAll(async () => {
  admin = adminAccess();
  const init = join(tempDir(), "admin");
  expect((await runCli(["init", init, "--cluster-name", "quotatest"])).code).toBe(0);
  await applyObjects(admin, (await buildDir(join(init, "cluster", "common"))).filter((o) => o.kind === "CustomResourceDefinition"));
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  // 12 ConfigMaps: kube-root-ca.crt (once counted) and 11 more. Set a (10) fits; a and b (20)
  // do not, with or without kube-root-ca.crt; b alone does.
  await apply(admin, { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tight", namespace: NS }, spec: { hard: { configmaps: "12" } } });
  // Until the quota controller has computed the status, admission refuses every ConfigMap.
  await waitFor("the quota controller to compute the quota", async () => {
    const q = (await client(admin).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tight", namespace: NS } })) as { status?: { hard?: Record<string, string> } };
    return q.status?.hard?.configmaps === "12" ? true : undefined;
  });
  await namespaceEditor(admin, NS, "app");
  const bare = bareRepo("quota");
  remote = bare.url;
  work = tempDir();
  git(work, "init", "--quiet", "--initial-branch=main");
  await apply(admin, {
    apiVersion: "tenantry.dev/v1alpha1",
    kind: "GitSync",
    metadata: { name: "app", namespace: NS },
    spec: { url: remote, ref: { branch: "main" }, path: "./", interval: "5m", prune: true, serviceAccountName: "app" },
  });
});

/** Pushes and syncs set `prefix` of 10 ConfigMaps: where each test starts. */
async function startFrom(prefix: string): Promise<void> {
  pushConfigMaps(prefix, 10);
  const r = await sync();
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(await names()).toEqual(Array.from({ length: 10 }, (_, i) => `${prefix}-${String(i)}`).sort());
}

describe("a revision that replaces objects under a tight quota", () => {
  it("prunes what Git dropped first, then applies, and converges in one sync", async () => {
    await startFrom("a");
    // b-0..b-9 need 10 more ConfigMaps; the quota has room for 1 until a-* are gone.
    pushConfigMaps("b", 10);
    const second = await sync();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/pruned 10/);
    expect(await names()).toEqual(Array.from({ length: 10 }, (_, i) => `b-${String(i)}`).sort());
  });

  it("a revision that exceeds the quota by itself: ApplyFailed naming the quota, and nothing is pruned", async () => {
    await startFrom("e");
    pushConfigMaps("c", 13);
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/exceeded quota: tight/);
    expect(r.stdout + r.stderr).not.toMatch(/after pruning/);
    const left = await names();
    for (let i = 0; i < 10; i++) expect(left).toContain(`e-${String(i)}`);
  });

  it("a revision refused for any other reason as well (an invalid object beside the quota refusals) prunes nothing", async () => {
    await startFrom("f");
    const docs = Array.from({ length: 10 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d-${String(i)}\ndata:\n  i: "${String(i)}"\n`);
    docs.push('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d-invalid\ndata:\n  "not a valid key!": "x"\n');
    writeFileSync(join(work, "cms.yaml"), docs.join("---\n"));
    writeFileSync(join(work, "kustomization.yaml"), "resources: [cms.yaml]\n");
    commitAndPush(work, remote, "d");
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/exceeded quota: tight/);
    expect(r.stdout + r.stderr).toMatch(/d-invalid/);
    const left = await names();
    for (let i = 0; i < 10; i++) expect(left).toContain(`f-${String(i)}`);
  });

  it("objects someone else labelled as this GitSync's count as theirs, not its own: no prune for a revision that cannot fit", async () => {
    await startFrom("g");
    // 11 of 12 used; a ConfigMap carrying the GitSync's labels but not in its inventory takes the last one.
    const spoof = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "spoof", namespace: NS, labels: { "tenantry.dev/sync-name": "app", "tenantry.dev/sync-namespace": NS } } };
    await apply(admin, spoof);
    try {
      // h: 11 ConfigMaps. With the spoof and kube-root-ca.crt that is 13 > 12 even after a prune.
      pushConfigMaps("h", 11);
      const r = await sync();
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/exceeded quota: tight/);
      const left = await names();
      for (let i = 0; i < 10; i++) expect(left).toContain(`g-${String(i)}`);
    } finally {
      await client(admin).deleteObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "spoof", namespace: NS } });
    }
  });
});
