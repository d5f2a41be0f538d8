// create-team --namespaces through the real CLI (issue 20), without a cluster: the extra
// namespaces are recorded in team.yaml and rendered, the repo validates; collisions with other
// teams and bad names write nothing and name every problem (exit 2); a removed namespace is
// read like delete-team reads a team (unreadable: refused without --force, exit 4) and recorded
// as a Namespace tombstone, and adding it back drops it; teams that let the team in follow its
// namespaces; Flux refuses --namespaces; list shows them.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parseTombstones } from "../../src/model/tombstones.js";
import { INIT_ARGS, makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, snapshotTree, tempDir, unreachableKubeconfig } from "../helpers/cli.js";

const TOMBSTONES = "cluster/teams/tombstones/tombstones.yaml";

/** No cluster anywhere: an API server nobody listens on. */
function noCluster(): NodeJS.ProcessEnv {
  return { KUBECONFIG: unreachableKubeconfig() };
}

const read = (admin: string, file: string): string => readFileSync(join(admin, file), "utf8");
const names = (admin: string, file: string, kind: string): string[] =>
  parseAllDocuments(read(admin, file))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } })
    .filter((o) => o.kind === kind)
    .map((o) => o.metadata.namespace ?? o.metadata.name);

describe("create-team --namespaces", () => {
  it("records the extra namespaces in team.yaml, renders every one, and the repo validates", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "web,api"]]);
    expect(parse(read(admin, "cluster/shop/team.yaml"))).toMatchObject({ spec: { namespaces: ["api", "web"] } });
    expect(names(admin, "cluster/shop/namespace.yaml", "Namespace")).toEqual(["shop", "shop-api", "shop-web"]);
    expect(names(admin, "cluster/shop/quota.yaml", "ResourceQuota")).toEqual(["shop", "shop-api", "shop-web"]);
    const gitSync = parseAllDocuments(read(admin, "cluster/shop/sync.yaml")).map((d) => d.toJS() as { kind: string; spec: unknown }).find((o) => o.kind === "GitSync");
    expect(gitSync?.spec).toMatchObject({ namespaces: ["shop-api", "shop-web"] });
    const v = await runCli(["validate", admin]);
    expect(v.code, `${v.stdout}\n${v.stderr}`).toBe(0);
  });

  it('--namespaces "" on a new team is the home namespace only, as without the flag', async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", ""]]);
    expect(read(admin, "cluster/shop/team.yaml")).not.toContain("namespaces");
    expect(names(admin, "cluster/shop/namespace.yaml", "Namespace")).toEqual(["shop"]);
  });

  it("collisions with other teams and bad names write nothing and name every problem, exit 2", async () => {
    const admin = await makeAdminRepo([["a", "--namespaces", "b-c"]]);
    const before = snapshotTree(admin);
    const r = await runCli(["create-team", "a-b", "--namespaces", "c,system,Bad_Name"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--namespaces "Bad_Name"');
    expect(r.stderr).toContain("a-b-system ends in -system, which is reserved");
    expect(r.stderr).toContain("namespace a-b-c of team a-b is already team a's namespace a-b-c: pick another name in --namespaces");
    const home = await runCli(["create-team", "a-b-c"], { cwd: admin });
    expect(home.code).toBe(2);
    expect(home.stderr).toContain(`team name "a-b-c" is already team a's namespace a-b-c: pick another name`);
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("a split that leaves a namespace none of a resource is refused before anything is written", async () => {
    const admin = await makeAdminRepo();
    writeFileSync(join(admin, "tenantry.yaml"), read(admin, "tenantry.yaml").replace('replicationcontrollers: "0"\n        secrets: "50"', 'replicationcontrollers: "0"\n        secrets: "2"'));
    const before = snapshotTree(admin);
    const r = await runCli(["create-team", "shop", "--namespaces", "api,web"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--namespaces: secrets 2 split among 3 namespaces leaves shop none/);
    expect(r.stderr).toMatch(/leaves shop-web none/);
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("a removed namespace is refused unseen without --force (exit 4), recorded as a tombstone with it, and dropped when it comes back", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "api,web"]]);
    const before = snapshotTree(admin);
    const refused = await runCli(["create-team", "shop", "--namespaces", "api"], { cwd: admin, env: noCluster() });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/^tenantry: error: cannot read namespace shop-web to list what removing it loses \(cannot reach the API server .*\): fix --kubeconfig\/KUBECONFIG, or pass --force to remove it unseen\n$/);
    expect(snapshotTree(admin)).toEqual(before);

    const forced = await runCli(["create-team", "shop", "--namespaces", "api", "--force", "--commit"], { cwd: admin, env: noCluster() });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^Removed namespace shop-web of team shop: tombstone Namespace shop-web; after the push the reconciler deletes it and everything in it$/m);
    expect(forced.stdout).toMatch(/^Live namespace shop-web: not read \(.*\); removed unseen \(--force\)$/m);
    expect(parseTombstones(read(admin, TOMBSTONES)).map((t) => [t.kind, t.name])).toEqual([["Namespace", "shop-web"]]);
    expect(names(admin, "cluster/shop/namespace.yaml", "Namespace")).toEqual(["shop", "shop-api"]);

    const back = await runCli(["create-team", "shop", "--namespaces", "api,web"], { cwd: admin });
    expect(back.code, back.stderr).toBe(0);
    expect(parseTombstones(read(admin, TOMBSTONES))).toEqual([]);
    expect(names(admin, "cluster/shop/namespace.yaml", "Namespace")).toEqual(["shop", "shop-api", "shop-web"]);
  });

  it("adding a namespace changes only the team's overlay, and says the others' quota parts shrink", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "api"]]);
    const r = await runCli(["create-team", "shop", "--namespaces", "api,web"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/New namespace shop-web: the tier's quota is divided among all of team shop's namespaces again/);
    expect(r.stdout).not.toMatch(/tombstones/);
  });

  it("teams whose --allow-from names the team let in all of its namespaces, as they change", async () => {
    const admin = await makeAdminRepo([["shop"], ["web", "--allow-from", "shop"]]);
    const single = read(admin, "cluster/web/network-policies.yaml");
    expect(single).toContain("kubernetes.io/metadata.name: shop\n");
    const r = await runCli(["create-team", "shop", "--namespaces", "api"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/update cluster\/web\/network-policies\.yaml/);
    expect(read(admin, "cluster/web/network-policies.yaml")).toContain("values: [shop, shop-api]");
    const v = await runCli(["validate", admin]);
    expect(v.code, `${v.stdout}\n${v.stderr}`).toBe(0);
  });

  it("a name another team's deletion still holds is not taken without --force (its contents would become the new owner's)", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "api,web"], ["bank"]]);
    expect((await runCli(["create-team", "shop", "--namespaces", "api", "--force", "--commit"], { cwd: admin, env: noCluster() })).code).toBe(0);
    expect((await runCli(["delete-team", "bank", "--force", "--keep-key", "--commit"], { cwd: admin, env: noCluster() })).code).toBe(0);
    const before = snapshotTree(admin);
    // A new team named like shop's removed namespace.
    const team = await runCli(["create-team", "shop-web", "--repo-url", "https://git.example/sw.git"], { cwd: admin });
    expect(team.code).toBe(2);
    expect(team.stderr).toContain("namespace shop-web is waiting to be deleted (tombstone Namespace shop-web in cluster/teams/tombstones/tombstones.yaml): its contents may be another team's: once `kubectl get namespace shop-web` says NotFound, pass --force");
    expect(snapshotTree(admin)).toEqual(before);
    expect((await runCli(["create-team", "shop-web", "--repo-url", "https://git.example/sw.git", "--force"], { cwd: admin })).code).toBe(0);
    expect(parseTombstones(read(admin, TOMBSTONES)).map((t) => [t.kind, t.name])).toEqual([["Team", "bank"]]);
    // A deleted team's home taken as an extra namespace (team x with namespace y = team x-y).
    const ws = await makeAdminRepo([["pay"], ["pay-eu"]]);
    expect((await runCli(["delete-team", "pay-eu", "--force", "--keep-key", "--commit"], { cwd: ws, env: noCluster() })).code).toBe(0);
    const extra = await runCli(["create-team", "pay", "--namespaces", "eu"], { cwd: ws });
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("namespace pay-eu is deleted team pay-eu's, waiting to be deleted (tombstone Team pay-eu in cluster/teams/tombstones/tombstones.yaml)");
    expect((await runCli(["create-team", "pay", "--namespaces", "eu", "--force"], { cwd: ws })).code).toBe(0);
  });

  it("delete-team records a Namespace tombstone for each extra namespace beside the Team's, and create-team drops them", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "api,web"]]);
    const r = await runCli(["delete-team", "shop", "--force", "--keep-key"], { cwd: admin, env: noCluster() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/and everything in namespaces shop, shop-api, shop-web\):$/m);
    expect(parseTombstones(read(admin, TOMBSTONES)).map((t) => [t.kind, t.name])).toEqual([
      ["Namespace", "shop-api"],
      ["Namespace", "shop-web"],
      ["Team", "shop"],
    ]);
    const back = await runCli(["create-team", "shop", "--namespaces", "api,web"], { cwd: admin });
    expect(back.code, back.stderr).toBe(0);
    expect(parseTombstones(read(admin, TOMBSTONES))).toEqual([]);
  });

  it("is refused under engine flux, naming the fix", async () => {
    const admin = join(tempDir(), "admin");
    const init = await runCli(["init", admin, ...INIT_ARGS.map((a) => (a.startsWith("git@") ? "ssh://git@github.com/acme/admin.git" : a)), "--engine", "flux"]);
    expect(init.code, init.stderr).toBe(0);
    const r = await runCli(["create-team", "shop", "--repo-url", "ssh://git@github.com/acme/shop.git", "--namespaces", "api"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--namespaces needs engine tenantry for now: .*targetNamespace.*leave --namespaces out/);
  });

  it("validate refuses two teams claiming one namespace (a hand-edited team.yaml)", async () => {
    const admin = await makeAdminRepo([["a", "--namespaces", "b-c"], ["a-b"]]);
    writeFileSync(join(admin, "cluster/a-b/team.yaml"), `${read(admin, "cluster/a-b/team.yaml")}  namespaces:\n    - c\n`);
    const v = await runCli(["validate", admin]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("namespace a-b-c of team a-b is already team a's namespace a-b-c: two teams cannot share a namespace");
  });

  it("engine set flux is refused while a team has extra namespaces", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "api"]], INIT_ARGS.map((a) => (a.startsWith("git@") ? "ssh://git@github.com/acme/admin.git" : a)));
    const before = snapshotTree(admin);
    const r = await runCli(["engine", "set", "flux", "--dry-run"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`team shop has extra namespaces (api), which engine flux does not support yet: remove them first (tenantry create-team shop --namespaces "") or keep engine tenantry`);
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("list shows each team's namespaces, home first", async () => {
    const admin = await makeAdminRepo([["shop", "--namespaces", "api,web"], ["team1"]]);
    const table = await runCli(["list"], { cwd: admin });
    expect(table.stdout.split("\n")[0]).toMatch(/^TEAM\s+TIER\s+REPO\s+ALLOW-FROM\s+NODE-POOL\s+NAMESPACES$/);
    expect(table.stdout).toMatch(/^shop\s+.*\s+shop,shop-api,shop-web$/m);
    expect(table.stdout).toMatch(/^team1\s+.*\s+team1$/m);
  });
});
