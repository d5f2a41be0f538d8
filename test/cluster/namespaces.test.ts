// A team of three namespaces (issue 20) on the real control plane: the admin repo made by the
// real `tenantry create-team --namespaces api,web`, its team repo synced by `tenantry sync` as a
// separate process, applied as the team's ServiceAccount. It deploys into each of its
// namespaces (and objects without a namespace go home), never into another team's (the lint
// refuses the whole revision; the API server refuses a namespace without the team's
// RoleBinding); its quota parts add up to no more than its tier and each is enforced; the
// NetworkPolicies the cluster holds let the team's namespaces reach each other and no other
// team in (judged by tenantry-netcheck, cyclonus's engine); the views and the kubeconfig
// cover every namespace; what leaves the repo is pruned, what leaves spec.namespaces is not,
// and a namespace create-team removes is deleted by the admin sync.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { RestClient } from "../../src/cluster/rest.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import type { KubeObject } from "../../src/model/object.js";
import { parseQuantity } from "../../src/model/quantity.js";
import { analyzeNetwork } from "../../src/network/analyze.js";
import { allowedPorts, pairIndex } from "../../src/network/matrix.js";
import type { ResourcesView, UsageView } from "../../src/views/gather.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, readOrNull, refusal, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";
import { startAgent } from "../helpers/agent.js";

const SHOP = "nsx-shop";
const API = `${SHOP}-api`;
const WEB = `${SHOP}-web`;
const BANK = "nsx-bank";
const GHOST = `${SHOP}-ghost`;

let admin: KubeAccess;
let adminRepo: string;
let adminRemote: { path: string; url: string };
let shopRemote: { path: string; url: string };
let shopRepo: string;

const cm = (name: string, namespace?: string, data: Record<string, string> = { a: "b" }): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: namespace === undefined ? { name } : { name, namespace }, data });

function sync(namespace: string, name: string) {
  return runCli(["sync", "--once", "--namespace", namespace, "--name", name, "--kubeconfig", inject("kubeconfig")]);
}

async function syncAdmin(): Promise<void> {
  const s = await sync("tenantry-system", "admin");
  expect(s.code, s.stdout + s.stderr).toBe(0);
}

async function gitSync(): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: SHOP, namespace: SHOP } })) as GitSync;
}

function ready(gs: GitSync) {
  return gs.status?.conditions?.find((c) => c.type === "Ready");
}

async function exists(name: string, namespace: string): Promise<boolean> {
  const o = await readOrNull(admin, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } });
  return o !== null && (o.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined;
}

/** The team repo holds exactly `files` (name -> objects) besides the example app. */
function writeTeamRepo(files: Record<string, readonly KubeObject[]>): string {
  for (const f of ["home.yaml", "api.yaml", "web.yaml", "extra.yaml"]) rmSync(join(shopRepo, f), { force: true });
  for (const [f, objects] of Object.entries(files)) writeFileSync(join(shopRepo, f), objects.map((o) => JSON.stringify(o)).join("\n---\n"));
  // No `namespace:` in the kustomization: it would move every object into the home namespace.
  writeFileSync(join(shopRepo, "kustomization.yaml"), ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:", "  - app.yaml", ...Object.keys(files).map((f) => `  - ${f}`), ""].join("\n"));
  return commitAndPush(shopRepo, shopRemote.url);
}

const everywhere = { "home.yaml": [cm("home-cfg")], "api.yaml": [cm("api-cfg", API)], "web.yaml": [cm("web-cfg", WEB)] };

/** Sets the GitSync's spec.namespaces by hand (an admin's edit; the admin sync takes it back). */
async function setNamespaces(namespaces: readonly string[]): Promise<void> {
  await client(admin).jsonPatch({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: SHOP, namespace: SHOP } }, [{ op: "replace", path: "/spec/namespaces", value: namespaces }]);
}

beforeAll(async () => {
  admin = adminAccess();
  adminRemote = bareRepo("admin");
  shopRemote = bareRepo("shop");
  const bankRemote = bareRepo("bank");
  adminRepo = join(tempDir(), "admin");
  shopRepo = join(tempDir(), "shop");
  const init = await runCli(["init", adminRepo, "--cluster-name", "nstest", "--git-url", adminRemote.url]);
  expect(init.code, init.stderr).toBe(0);
  const shop = await runCli(["create-team", SHOP, "--namespaces", "api,web", "--repo-url", shopRemote.url, "--team-repo-dir", shopRepo, "--commit"], { cwd: adminRepo });
  expect(shop.code, shop.stderr).toBe(0);
  const bank = await runCli(["create-team", BANK, "--repo-url", bankRemote.url, "--commit"], { cwd: adminRepo });
  expect(bank.code, bank.stderr).toBe(0);
  commitAndPush(adminRepo, adminRemote.url);
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", "common")));
  await syncAdmin();
});

describe("a team of three namespaces", () => {
  it("create-team --namespaces api,web: each namespace is the team's, bound to it, and its GitSync lists the extra ones", async () => {
    for (const ns of [SHOP, API, WEB]) {
      const n = await client(admin).readObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      expect(n.metadata.labels?.["tenantry.dev/team"], ns).toBe(SHOP);
      expect(await readOrNull(admin, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "tenantry:team-admin", namespace: ns } }), ns).not.toBeNull();
    }
    expect((await gitSync()).spec.namespaces).toEqual([API, WEB]);
  });

  it("its repo deploys into each of its namespaces, as the team; an object without a namespace goes home", async () => {
    const sha = writeTeamRepo(everywhere);
    const s = await sync(SHOP, SHOP);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    for (const [name, ns] of [["home-cfg", SHOP], ["api-cfg", API], ["web-cfg", WEB]] as const) {
      expect(await exists(name, ns), `${ns}/${name}`).toBe(true);
      const o = await client(admin).readObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } });
      expect(o.metadata.labels).toMatchObject({ "tenantry.dev/team": SHOP, "tenantry.dev/sync-name": SHOP, "tenantry.dev/sync-namespace": SHOP });
    }
    const gs = await gitSync();
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.inventory?.entries?.map((e) => e.id)).toEqual(expect.arrayContaining([`${SHOP}_home-cfg__ConfigMap`, `${API}_api-cfg__ConfigMap`, `${WEB}_web-cfg__ConfigMap`]));
  });

  it("a resync skips every unchanged object: the live lists cover each namespace", async () => {
    const s = await sync(SHOP, SHOP);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const m = /\((\d+) objects, (\d+) unchanged/.exec(s.stdout);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(4);
    expect(m?.[2], s.stdout).toBe(m?.[1]);
  });

  it("an object in another team's namespace: the revision is refused, naming it, and nothing of it applied", async () => {
    const before = (await gitSync()).status?.lastAppliedRevision;
    const sha = writeTeamRepo({ ...everywhere, "extra.yaml": [cm("spy", BANK), cm("note", API)] });
    const s = await sync(SHOP, SHOP);
    expect(s.code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("LintFailed");
    expect(ready(gs)?.message).toContain(`ConfigMap/${BANK}/spy is in namespace ${BANK}: a team repo may only hold objects in its namespaces ${SHOP}, ${API}, ${WEB}`);
    expect(gs.status?.lastAttemptedRevision).toBe(`main@sha1:${sha}`);
    expect(gs.status?.lastAppliedRevision).toBe(before);
    expect(await exists("note", API)).toBe(false);
    expect(await exists("spy", BANK)).toBe(false);
    writeTeamRepo(everywhere);
    expect((await sync(SHOP, SHOP)).code).toBe(0);
  });

  it("a listed namespace without the team's RoleBinding: the API server refuses the team's identity there", async () => {
    // A namespace labelled as the team's but with none of its RoleBindings, listed by hand.
    await client(admin).createObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: GHOST, labels: { "tenantry.dev/team": SHOP } } });
    try {
      await setNamespaces([API, WEB, GHOST]);
      writeTeamRepo({ ...everywhere, "extra.yaml": [cm("ghost-cfg", GHOST)] });
      const s = await sync(SHOP, SHOP);
      expect(s.code).toBe(1);
      const gs = await gitSync();
      expect(ready(gs)?.reason).toBe("ApplyFailed");
      expect(ready(gs)?.message).toMatch(new RegExp(`system:serviceaccount:${SHOP}:${SHOP}.*cannot.*configmaps.*${GHOST}|configmaps.*${GHOST}.*forbidden`, "s"));
      expect(await exists("ghost-cfg", GHOST)).toBe(false);
      // The admin sync takes the hand edit back (spec.namespaces is one atomic list).
      await syncAdmin();
      expect((await gitSync()).spec.namespaces).toEqual([API, WEB]);
    } finally {
      await client(admin).deleteObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: GHOST } });
    }
    writeTeamRepo(everywhere);
    const s = await sync(SHOP, SHOP);
    expect(s.code, s.stdout + s.stderr).toBe(0);
  });
});

describe("quota across the team", () => {
  const hardOf = async (ns: string): Promise<Record<string, string>> =>
    ((await client(admin).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: ns } })) as unknown as { spec: { hard: Record<string, string> } }).spec.hard;

  it("the namespaces' ResourceQuotas add up to no more than the tier", async () => {
    const config = parse(readFileSync(join(adminRepo, "tenantry.yaml"), "utf8")) as { spec: { defaultTier: string; tiers: Record<string, { quota: Record<string, string> }> } };
    const tier = config.spec.tiers[config.spec.defaultTier]?.quota ?? expect.fail("no default tier");
    const hards = await Promise.all([SHOP, API, WEB].map(hardOf));
    for (const [key, value] of Object.entries(tier)) {
      const total = hards.reduce((sum, h) => sum + parseQuantity(h[key] ?? "0"), 0);
      expect(total, key).toBeLessThanOrEqual(parseQuantity(value));
      expect(hards.every((h) => h[key] !== undefined), key).toBe(true);
    }
  });

  it("tenantry usage shows each namespace and the team's total against the tier (run in the admin repo)", async () => {
    // The quota controller counts asynchronously: wait until it has counted kube-root-ca.crt in
    // each namespace and ours (home-cfg, api-cfg, web-cfg). On a timeout, say what it counted.
    let counted = "nothing yet";
    let tries = 0;
    const { r, view } = await waitFor("the quota controller to count every ConfigMap", async () => {
      // After the first look, a ConfigMap made and deleted in each namespace has the controller
      // count that namespace's quota again: it recounts on a deletion, on a change of spec.hard
      // and otherwise only every 5 minutes, so a count it made from a stale cache (a CI run
      // saw nsx-shop's own ConfigMap uncounted for 60 s) is not waited out.
      if (tries++ > 0) {
        for (const ns of [SHOP, API, WEB]) {
          await client(admin).createObject(cm("recount", ns));
          await client(admin).deleteObject(cm("recount", ns));
        }
      }
      const run = await runCli(["usage", SHOP, "-o", "json", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
      expect(run.code, run.stderr).toBe(0);
      const v = JSON.parse(run.stdout) as UsageView;
      counted = v.namespaces.map((n) => `${n.namespace}: ${n.quotas.flatMap((q) => q.resources.filter((x) => x.resource === "configmaps").map((x) => x.used)).join("+") || "none"}`).join(", ") + (v.notes.length > 0 ? `; notes: ${v.notes.join("; ")}` : "");
      return Number(v.total.find((t) => t.resource === "configmaps")?.used) >= 6 ? { r: run, view: v } : undefined;
    }).catch((e: unknown) => expect.fail(`${e instanceof Error ? e.message : String(e)}; configmaps counted: ${counted}`));
    expect(view.namespaces.map((n) => n.namespace)).toEqual([SHOP, API, WEB]);
    expect(view.namespaces.every((n) => n.quotas.length === 1)).toBe(true);
    expect(view.tier.name).toBe("small");
    const configmaps = view.total.find((t) => t.resource === "configmaps") ?? expect.fail(r.stdout);
    expect(configmaps.tier).toBe("50");
    expect(parseQuantity(configmaps.hard)).toBeLessThanOrEqual(50);
    const table = await runCli(["usage", SHOP, "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(table.stdout).toMatch(/^NAMESPACE +QUOTA +RESOURCE +USED +HARD +USAGE$/m);
    expect(table.stdout).toContain(`Team ${SHOP} in total (3 namespaces) against tier small:`);
    expect(table.stdout).toMatch(/^configmaps +\d+ +\d+ +50 +\[[#.]{10}\] \d+%$/m);
  });

  it("a namespace's part is enforced there: a revision past it is refused by the API server's quota", async () => {
    const allowed = Number((await hardOf(WEB)).configmaps);
    expect(allowed).toBeGreaterThan(1);
    // kube-root-ca.crt takes one: `allowed` ConfigMaps of the team's own cannot fit.
    const many = Array.from({ length: allowed }, (_, i) => cm(`many-${String(i)}`, WEB));
    writeTeamRepo({ ...everywhere, "extra.yaml": many });
    const s = await sync(SHOP, SHOP);
    expect(s.code).toBe(1);
    const gs = await gitSync();
    expect(ready(gs)?.reason).toBe("ApplyFailed");
    expect(ready(gs)?.message).toMatch(/exceeded quota/);
    writeTeamRepo(everywhere);
    const back = await sync(SHOP, SHOP);
    expect(back.code, back.stdout + back.stderr).toBe(0);
  });
});

describe("traffic", () => {
  it("the applied NetworkPolicies let the team's namespaces reach each other, and no other team's pods in", async () => {
    const c = client(admin);
    const namespaces = (await c.listAll("/api/v1/namespaces", "tenantry.dev/team")).map((n): KubeObject => ({ ...n, apiVersion: "v1", kind: "Namespace" }));
    const names = namespaces.map((n) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining([SHOP, API, WEB, BANK]));
    const policies = (await c.listAll("/apis/networking.k8s.io/v1/networkpolicies")).map((p): KubeObject => ({ ...p, apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }));
    const deployments = (await c.listAll("/apis/apps/v1/deployments")).map((d): KubeObject => ({ ...d, apiVersion: "apps/v1", kind: "Deployment" }));
    const matrix = await analyzeNetwork([...namespaces, ...policies, ...deployments], { focus: new Set([SHOP, API, WEB, BANK]) });
    const pairs = pairIndex(matrix);
    const reach = (from: string, to: string): string[] => allowedPorts(pairs.get(`${from}\u0000${to}`));
    for (const from of [SHOP, API, WEB]) {
      for (const to of [SHOP, API, WEB]) {
        if (from !== to) expect(reach(from, to), `${from} -> ${to}`).not.toEqual([]);
      }
      expect(reach(BANK, from), `${BANK} -> ${from}`).toEqual([]);
      expect(reach(from, BANK), `${from} -> ${BANK}`).toEqual([]);
    }
  });
});

describe("views and credentials", () => {
  it("tenantry resources lists the objects of every namespace of the team", async () => {
    const r = await runCli(["resources", SHOP, "-o", "json", "--kubeconfig", inject("kubeconfig")]);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as ResourcesView;
    expect(view.namespaces.map((n) => n.namespace)).toEqual([SHOP, API, WEB]);
    const configMaps = (ns: string): string[] => view.namespaces.find((n) => n.namespace === ns)?.groups.find((g) => g.kind === "ConfigMap")?.objects.map((o) => o.name) ?? [];
    expect(configMaps(SHOP)).toContain("home-cfg");
    expect(configMaps(API)).toContain("api-cfg");
    expect(configMaps(WEB)).toContain("web-cfg");
    expect(configMaps(API)).not.toContain("home-cfg");
    const table = await runCli(["resources", SHOP, "--kubeconfig", inject("kubeconfig")]);
    expect(table.stdout).toContain(`Namespace ${API}:`);
  });

  it("tenantry kubeconfig: one token for every namespace of the team, its context at home, refused in another team's", async () => {
    const file = join(tempDir(), "shop.kubeconfig");
    const r = await runCli(["kubeconfig", SHOP, "--out", file, "-o", "json", "--kubeconfig", inject("kubeconfig")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("does not reach");
    const summary = JSON.parse(r.stdout) as { namespace: string; namespaces: string[] };
    expect(summary.namespace).toBe(SHOP);
    expect(summary.namespaces).toEqual([SHOP, API, WEB]);
    const written = parse(readFileSync(file, "utf8")) as { contexts: { context: { namespace: string } }[]; users: { user: { token: string } }[] };
    expect(written.contexts[0]?.context.namespace).toBe(SHOP);
    const token = written.users[0]?.user.token ?? expect.fail("no token");
    const team = RestClient.forConfig({ ...admin, user: { name: "shop-token", token } });
    for (const ns of [SHOP, API, WEB]) await team.createObject(cm("by-token", ns), { dryRun: true });
    expect((await refusal(team.createObject(cm("by-token", BANK), { dryRun: true }))).code).toBe(403);
  });
});

describe("the team's own agent", () => {
  it("as the team's ServiceAccount (its token, no impersonation) applies into and prunes from every namespace", async () => {
    const file = join(tempDir(), "agent.kubeconfig");
    const k = await runCli(["kubeconfig", SHOP, "--out", file, "--kubeconfig", inject("kubeconfig")]);
    expect(k.code, k.stderr).toBe(0);
    const appliedAs = async (sha: string): Promise<void> => {
      const agent = await startAgent(["--namespace", SHOP, "--kubeconfig", file]);
      try {
        await waitFor(`the agent to apply ${sha}`, async () => {
          const gs = await gitSync();
          return gs.status?.lastAppliedRevision === `main@sha1:${sha}` && ready(gs)?.status === "True" ? true : undefined;
        });
      } finally {
        await agent.stop();
      }
    };
    await appliedAs(writeTeamRepo({ ...everywhere, "extra.yaml": [cm("by-agent", API), cm("by-agent", WEB)] }));
    expect(await exists("by-agent", API)).toBe(true);
    expect(await exists("by-agent", WEB)).toBe(true);
    await appliedAs(writeTeamRepo(everywhere));
    expect(await exists("by-agent", API)).toBe(false);
    expect(await exists("by-agent", WEB)).toBe(false);
  });
});

describe("leaving", () => {
  it("objects removed from the team repo are pruned in every namespace", async () => {
    writeTeamRepo({ "home.yaml": [cm("home-cfg")] });
    const s = await sync(SHOP, SHOP);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toMatch(/pruned 2/);
    expect(await exists("api-cfg", API)).toBe(false);
    expect(await exists("web-cfg", WEB)).toBe(false);
    expect(await exists("home-cfg", SHOP)).toBe(true);
  });

  it("objects in a namespace spec.namespaces no longer lists are kept, not pruned, until it lists it again", async () => {
    writeTeamRepo(everywhere);
    expect((await sync(SHOP, SHOP)).code).toBe(0);
    // The namespace leaves the GitSync (by hand here: an accident the admin repo did not ask for).
    await setNamespaces([API]);
    writeTeamRepo({ "home.yaml": [cm("home-cfg")], "api.yaml": [cm("api-cfg", API)] });
    const s = await sync(SHOP, SHOP);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toContain(`kept 1 objects in namespaces spec.namespaces no longer lists (${WEB}), not pruned`);
    expect(await exists("web-cfg", WEB)).toBe(true);
    expect((await gitSync()).status?.inventory?.entries?.map((e) => e.id)).toContain(`${WEB}_web-cfg__ConfigMap`);
    // While it is not listed, the repo may not put anything there.
    writeTeamRepo(everywhere);
    expect((await sync(SHOP, SHOP)).code).toBe(1);
    expect(ready(await gitSync())?.message).toContain(`ConfigMap/${WEB}/web-cfg is in namespace ${WEB}`);
    // Listed again (the admin sync restores the spec), what Git no longer has there is pruned.
    await syncAdmin();
    writeTeamRepo({ "home.yaml": [cm("home-cfg")], "api.yaml": [cm("api-cfg", API)] });
    const again = await sync(SHOP, SHOP);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/pruned 1/);
    expect(await exists("web-cfg", WEB)).toBe(false);
  });
});

describe("an extra namespace removed", () => {
  it("by create-team: the admin sync deletes it (its tombstone), and the team's entries there are dropped", async () => {
    writeTeamRepo(everywhere);
    expect((await sync(SHOP, SHOP)).code).toBe(0);
    const r = await runCli(["create-team", SHOP, "--namespaces", "api", "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
    commitAndPush(adminRepo, adminRemote.url);
    await syncAdmin();
    expect((await gitSync()).spec.namespaces).toEqual([API]);
    await waitFor(`namespace ${WEB} to be gone`, async () => ((await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: WEB } })) === null ? true : undefined), 90_000);
    writeTeamRepo({ "home.yaml": [cm("home-cfg")], "api.yaml": [cm("api-cfg", API)] });
    const s = await sync(SHOP, SHOP);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).not.toContain("kept");
    const ids = (await gitSync()).status?.inventory?.entries?.map((e) => e.id) ?? [];
    expect(ids.filter((id) => id.startsWith(`${WEB}_`))).toEqual([]);
    expect(ids).toContain(`${API}_api-cfg__ConfigMap`);
  });
});

describe("an ad hoc sync", () => {
  it("--as-team holds the repo to the team's namespaces, as its GitSync does", async () => {
    writeTeamRepo({ "home.yaml": [cm("home-cfg")], "api.yaml": [cm("adhoc-cfg", API)] });
    const ok = await runCli(["sync", "--url", shopRemote.url, "--as-team", SHOP, "--kubeconfig", inject("kubeconfig")]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(await exists("adhoc-cfg", API)).toBe(true);
    writeTeamRepo({ "home.yaml": [cm("home-cfg")], "extra.yaml": [cm("adhoc-spy", BANK)] });
    const refused = await runCli(["sync", "--url", shopRemote.url, "--as-team", SHOP, "--kubeconfig", inject("kubeconfig")]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`ConfigMap/${BANK}/adhoc-spy is in namespace ${BANK}: a team repo may only hold objects in its namespaces ${SHOP}, ${API}`);
    expect(await exists("adhoc-spy", BANK)).toBe(false);
  });
});

// The admin GitSync is shared by the cluster files: leave its inventory without these teams.
describe("deleting the teams", () => {
  it("delete-team + push: every namespace of the teams is pruned, the extra ones too (their tombstones)", async () => {
    for (const team of [SHOP, BANK]) {
      const r = await runCli(["delete-team", team, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
      expect(r.code, r.stderr).toBe(0);
    }
    commitAndPush(adminRepo, adminRemote.url);
    await syncAdmin();
    for (const ns of [SHOP, API, WEB, BANK]) {
      await waitFor(`namespace ${ns} to be gone`, async () => ((await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })) === null ? true : undefined), 90_000);
    }
  });
});
