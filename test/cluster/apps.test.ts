// App templates (issue 20) on the real control plane: init's example template hello-web, one
// instance for each of two teams made by the real `tenantry app create`, applied by the admin
// sync (`tenantry sync` as a separate process). Each instance is its own namespace with its
// template's quota (taken out of its team's tier) and limits, its values in its objects; each
// team may act in its own instance and not in the other's, and may not change what the
// platform put there; the instance's quota is enforced there; the NetworkPolicies the cluster
// holds let an instance reach its team's namespaces and keep the other team out (judged by
// tenantry-netcheck); `resources --app` and `usage --app` show one instance; a change to the
// template's base reaches both instances at the next sync; `app delete` removes the instance's
// namespace through its tombstone.

import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { KubeObject } from "../../src/model/object.js";
import { parseQuantity } from "../../src/model/quantity.js";
import { analyzeNetwork } from "../../src/network/analyze.js";
import { allowedPorts, pairIndex } from "../../src/network/matrix.js";
import type { ResourcesView, UsageView } from "../../src/views/gather.js";
import { editFile, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, create, outcome, readOrNull, refusal, teamAccess, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";

const SHOP = "apx-shop";
const STORE = `${SHOP}-store`;
const BANK = "apx-bank";
const WEB = `${SHOP}-web`;
const PORTAL = `${BANK}-portal`;

let admin: KubeAccess;
let adminRepo: string;
let adminRemote: { path: string; url: string };
let shopRemote: { path: string; url: string };
let shopRepo: string;

async function syncAdmin(): Promise<void> {
  const s = await runCli(["sync", "--once", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", inject("kubeconfig")]);
  expect(s.code, s.stdout + s.stderr).toBe(0);
}

async function cli(args: string[]): Promise<void> {
  const r = await runCli([...args, "--commit"], { cwd: adminRepo });
  expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(0);
}

const read = (kind: string, name: string, namespace?: string, apiVersion = "v1") => client(admin).readObject({ apiVersion, kind, metadata: namespace === undefined ? { name } : { name, namespace } });
const hardOf = async (ns: string): Promise<Record<string, string>> => ((await read("ResourceQuota", "tenantry-quota", ns)) as unknown as { spec: { hard: Record<string, string> } }).spec.hard;
const cm = (name: string, namespace: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data: { a: "b" } });

beforeAll(async () => {
  admin = adminAccess();
  adminRemote = bareRepo("apps-admin");
  adminRepo = join(tempDir(), "admin");
  const init = await runCli(["init", adminRepo, "--cluster-name", "apptest", "--git-url", adminRemote.url]);
  expect(init.code, init.stderr).toBe(0);
  shopRemote = bareRepo("apps-shop");
  shopRepo = join(tempDir(), "shop");
  await cli(["create-team", SHOP, "--repo-url", shopRemote.url, "--team-repo-dir", shopRepo]);
  // A second template, the same base handed to the team's repo (delivery team).
  cpSync(join(adminRepo, "apps/hello-web"), join(adminRepo, "apps/hello-team"), { recursive: true });
  editFile(adminRepo, "apps/hello-team/template.yaml", "  name: hello-web\n", "  name: hello-team\n");
  editFile(adminRepo, "apps/hello-team/template.yaml", "  delivery: admin\n", "  delivery: team\n");
  await cli(["create-team", BANK, "--tier", "medium", "--repo-url", bareRepo("apps-bank").url]);
  await cli(["app", "create", SHOP, "hello-web", "web", "--set", "greeting=Hi from shop", "--set", "replicas=2"]);
  await cli(["app", "create", BANK, "hello-web", "portal"]);
  await cli(["app", "create", SHOP, "hello-team", "store", "--set", "greeting=Ours", "--team-repo-dir", shopRepo]);
  commitAndPush(adminRepo, adminRemote.url);
  commitAndPush(shopRepo, shopRemote.url);
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", "common")));
  await syncAdmin();
});

describe("two instances of one template for two teams", () => {
  it("each is its own namespace of its team, labelled as the instance, its values in its objects", async () => {
    for (const [ns, team, app] of [[WEB, SHOP, "web"], [PORTAL, BANK, "portal"]] as const) {
      const n = await read("Namespace", ns);
      expect(n.metadata.labels, ns).toMatchObject({ "tenantry.dev/team": team, "tenantry.dev/app": app, "tenantry.dev/app-template": "hello-web", "pod-security.kubernetes.io/enforce": "restricted" });
    }
    expect(((await read("ConfigMap", "hello-web", WEB)) as unknown as { data: Record<string, string> }).data.GREETING).toBe("Hi from shop");
    expect(((await read("ConfigMap", "hello-web", PORTAL)) as unknown as { data: Record<string, string> }).data.GREETING).toBe("Hello from tenantry");
    const deployment = (await read("Deployment", "hello-web", WEB, "apps/v1")) as unknown as { spec: { replicas: number }; metadata: { labels: Record<string, string> } };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.metadata.labels).toMatchObject({ "tenantry.dev/app": "web", "tenantry.dev/sync-namespace": "tenantry-system" });
    // Each team's GitSync may apply into its instance too.
    const gs = (await read("GitSync", SHOP, SHOP, "tenantry.dev/v1alpha1")) as unknown as { spec: { namespaces?: string[] } };
    expect(gs.spec.namespaces).toEqual([STORE, WEB]);
  });

  it("an instance of a template of delivery team is the team's: its repo holds the objects, applied into the instance as the team, and the team may change them", async () => {
    const s = await runCli(["sync", "--once", "--namespace", SHOP, "--name", SHOP, "--kubeconfig", inject("kubeconfig")]);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const c = (await read("ConfigMap", "hello-web", STORE)) as unknown as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
    expect(c.data.GREETING).toBe("Ours");
    expect(c.metadata.labels).toMatchObject({ "tenantry.dev/app": "store", "tenantry.dev/sync-namespace": SHOP });
    expect(await readOrNull(admin, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "hello-web", namespace: STORE } })).not.toBeNull();
    // The example app the team repo had stays at home: the hand-over dropped the root's `namespace:`, not the objects.
    expect(await readOrNull(admin, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo", namespace: SHOP } })).not.toBeNull();
    await client(teamAccess(SHOP)).mergePatch({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hello-web", namespace: STORE } }, { data: { GREETING: "changed by hand" } }, { dryRun: true });
    expect((await hardOf(STORE))["requests.cpu"]).toBe("500m");
  });

  it("each has its template's quota and limits; with its team's home the quotas add up to no more than the tier", async () => {
    const template = parse(readFileSync(join(adminRepo, "apps/hello-web/template.yaml"), "utf8")) as { spec: { policy: { quota: Record<string, string>; containerMax: Record<string, string> } } };
    const config = parse(readFileSync(join(adminRepo, "tenantry.yaml"), "utf8")) as { spec: { tiers: Record<string, { quota: Record<string, string> }> } };
    for (const [ns, home, tier] of [[WEB, SHOP, "small"], [PORTAL, BANK, "medium"]] as const) {
      const hard = await hardOf(ns);
      for (const [k, v] of Object.entries(template.spec.policy.quota)) expect(parseQuantity(hard[k] ?? "-1"), `${ns} ${k}`).toBe(parseQuantity(v));
      const homeHard = await hardOf(home);
      for (const [k, v] of Object.entries(config.spec.tiers[tier]?.quota ?? expect.fail(tier))) {
        expect(parseQuantity(homeHard[k] ?? "0") + parseQuantity(hard[k] ?? "0"), `${home} ${k}`).toBeLessThanOrEqual(parseQuantity(v));
      }
      const limits = (await read("LimitRange", "tenantry-limits", ns)) as unknown as { spec: { limits: { max?: Record<string, string> }[] } };
      expect(limits.spec.limits[0]?.max).toEqual(template.spec.policy.containerMax);
    }
  });

  it("each team acts in its own instance and not in the other's, and may not change what the platform put there", async () => {
    await create(teamAccess(SHOP), cm("shop-note", WEB));
    await create(teamAccess(BANK), cm("bank-note", PORTAL));
    expect((await refusal(create(teamAccess(SHOP), cm("spy", PORTAL)))).code).toBe(403);
    expect((await refusal(create(teamAccess(BANK), cm("spy", WEB)))).code).toBe(403);
    expect((await refusal(client(teamAccess(SHOP)).get(`/api/v1/namespaces/${PORTAL}/configmaps/hello-web`))).code).toBe(403);
    // A ValidatingAdmissionPolicy the admin sync just applied takes the API server a moment to load.
    const pwn = { data: { GREETING: "pwned" } };
    await waitFor("the team's admin-owned policy to be enforced", async () => ((await outcome(client(teamAccess(SHOP)).mergePatch({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hello-web", namespace: WEB } }, pwn, { dryRun: true })))?.message.includes("tenantry-admin-owned") === true ? true : undefined), 15_000);
    const changed = await refusal(client(teamAccess(SHOP)).mergePatch({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hello-web", namespace: WEB } }, { data: { GREETING: "pwned" } }));
    expect(changed.code).toBe(403);
    expect(changed.message).toContain("tenantry-admin-owned");
    expect((await refusal(client(teamAccess(SHOP)).deleteObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: WEB } }))).code).toBe(403);
  });

  it("an instance's quota is enforced in its namespace", async () => {
    const allowed = Number((await hardOf(WEB)).configmaps);
    // Wait until the quota controller has counted what is there (kube-root-ca.crt, hello-web,
    // shop-note): under the whole suite's load it once took over 60 s (2026-12-04).
    await waitFor(
      "the quota controller to count the instance's ConfigMaps",
      async () => {
        const q = (await read("ResourceQuota", "tenantry-quota", WEB)) as unknown as { status?: { used?: Record<string, string> } };
        return Number(q.status?.used?.configmaps ?? "0") >= 3 ? true : undefined;
      },
      150_000,
    );
    let refused: { code: number; message: string } | undefined;
    for (let i = 0; i < allowed && refused === undefined; i++) refused = await outcome(create(teamAccess(SHOP), cm(`fill-${String(i)}`, WEB)));
    expect(refused?.code).toBe(403);
    expect(refused?.message).toMatch(/exceeded quota: tenantry-quota/);
    // The team's home namespace has its own part, untouched by the instance's.
    await create(teamAccess(SHOP), cm("home-note", SHOP));
  }, 240_000);

  it("the applied NetworkPolicies let an instance and its team's home reach each other, and keep the other team out", async () => {
    const c = client(admin);
    const namespaces = (await c.listAll("/api/v1/namespaces", "tenantry.dev/team")).map((n): KubeObject => ({ ...n, apiVersion: "v1", kind: "Namespace" }));
    const policies = (await c.listAll("/apis/networking.k8s.io/v1/networkpolicies")).map((p): KubeObject => ({ ...p, apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }));
    const deployments = (await c.listAll("/apis/apps/v1/deployments")).map((d): KubeObject => ({ ...d, apiVersion: "apps/v1", kind: "Deployment" }));
    const all = [SHOP, WEB, BANK, PORTAL];
    const matrix = await analyzeNetwork([...namespaces, ...policies, ...deployments], { focus: new Set(all) });
    const pairs = pairIndex(matrix);
    const reach = (from: string, to: string): string[] => allowedPorts(pairs.get(`${from}\u0000${to}`));
    expect(reach(SHOP, WEB)).not.toEqual([]);
    expect(reach(WEB, SHOP)).not.toEqual([]);
    expect(reach(BANK, PORTAL)).not.toEqual([]);
    for (const [a, b] of [[WEB, PORTAL], [PORTAL, WEB], [BANK, WEB], [SHOP, PORTAL]] as const) expect(reach(a, b), `${a} -> ${b}`).toEqual([]);
  });
});

describe("views of one instance", () => {
  it("tenantry resources --app lists the instance's objects only", async () => {
    const r = await runCli(["resources", SHOP, "--app", "web", "-o", "json", "--kubeconfig", inject("kubeconfig")]);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as ResourcesView;
    expect(view.namespaces.map((n) => n.namespace)).toEqual([WEB]);
    expect(JSON.stringify(view.groups)).toContain("hello-web");
    expect(JSON.stringify(view.groups)).not.toContain("home-note");
    const table = await runCli(["resources", SHOP, "--app", "web", "--kubeconfig", inject("kubeconfig")]);
    expect(table.stdout).toMatch(/Deployment\/hello-web/);
  });

  it("tenantry usage --app shows the instance's quota, not the team's total", async () => {
    const r = await runCli(["usage", SHOP, "--app", "web", "-o", "json", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as UsageView;
    expect(view.namespace).toBe(WEB);
    expect(view.quotas.map((q) => q.name)).toEqual(["tenantry-quota"]);
    expect(view.quotas[0]?.resources.find((u) => u.resource === "configmaps")?.hard).toBe((await hardOf(WEB)).configmaps);
    const table = await runCli(["usage", SHOP, "--app", "web", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(table.stdout).not.toContain("in total");
  });

  it("--app of another team's instance is refused naming it", async () => {
    const other = await runCli(["resources", SHOP, "--app", "portal", "--kubeconfig", inject("kubeconfig")]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`team ${SHOP} has no app instance portal on this cluster: namespace ${SHOP}-portal is not one of its namespaces`);
  });
});

describe("changes", () => {
  it("a change to the template's base reaches both instances at the next sync", async () => {
    editFile(adminRepo, "apps/hello-web/app.yaml", "      containers:\n", "      automountServiceAccountToken: false\n      containers:\n");
    commitAndPush(adminRepo, adminRemote.url, "hello-web: no service account token");
    await syncAdmin();
    for (const ns of [WEB, PORTAL]) {
      const d = (await read("Deployment", "hello-web", ns, "apps/v1")) as unknown as { spec: { template: { spec: { automountServiceAccountToken?: boolean } } } };
      expect(d.spec.template.spec.automountServiceAccountToken, ns).toBe(false);
    }
  });

  it("app delete: after the push the admin sync deletes the instance's namespace (its tombstone), the other instance stays", async () => {
    const r = await runCli(["app", "delete", BANK, "portal", "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`Live namespace ${PORTAL}, lost with it:`);
    commitAndPush(adminRepo, adminRemote.url, "delete bank's portal");
    await syncAdmin();
    await waitFor(`namespace ${PORTAL} to be deleted`, async () => {
      const n = await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: PORTAL } });
      return n === null || (n.metadata as { deletionTimestamp?: string }).deletionTimestamp !== undefined ? true : undefined;
    });
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: WEB } })).not.toBeNull();
    const gs = (await read("GitSync", BANK, BANK, "tenantry.dev/v1alpha1")) as unknown as { spec: { namespaces?: string[] } };
    expect(gs.spec.namespaces).toBeUndefined();
  });
});

describe("deleting the teams", () => {
  it("delete-team + push: every namespace of the teams is pruned, their app instances' too (their tombstones)", async () => {
    for (const team of [SHOP, BANK]) {
      const r = await runCli(["delete-team", team, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    commitAndPush(adminRepo, adminRemote.url, "delete the teams");
    await syncAdmin();
    for (const ns of [SHOP, WEB, STORE, BANK, PORTAL]) {
      await waitFor(`namespace ${ns} to be gone`, async () => ((await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })) === null ? true : undefined), 90_000);
    }
  });
});
