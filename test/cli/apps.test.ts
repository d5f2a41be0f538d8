// tenantry app through the real CLI (issue 20), without a cluster: an instance is recorded in
// team.yaml and rendered, the repo validates, list shows it; bad input (--set values, names,
// an unknown template, a namespace another team has, more quota than the tier) writes nothing
// and names every problem at once (exit 2); a template.yaml change fails validate until `app
// upgrade --template` renders the instances again; a base change shows in `plan` with every
// instance it reaches; delete follows the safe-deletion rules (tombstone, unread cluster
// refused without --force); a hostile overlay cannot pass its own objects off as an
// instance's; a template with a cluster-scoped object is refused.

import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parseTombstones } from "../../src/model/tombstones.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { editFile, runCli, snapshotTree, tempDir, unreachableKubeconfig } from "../helpers/cli.js";
import { git } from "../helpers/git.js";

const read = (admin: string, file: string): string => readFileSync(join(admin, file), "utf8");
const noCluster = (): NodeJS.ProcessEnv => ({ KUBECONFIG: unreachableKubeconfig() });

function commitAll(dir: string, message: string): void {
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", message);
}

describe("tenantry app", () => {
  it("create records the instance, renders its namespace and objects, validates, and list shows it", async () => {
    const admin = await makeAdminRepo([["shop"]]);
    const dry = await runCli(["app", "create", "shop", "hello-web", "web", "--set", "greeting=Hi", "--dry-run"], { cwd: admin });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("Would change (dry run):");
    expect(read(admin, "cluster/shop/team.yaml")).not.toContain("apps");
    const r = await runCli(["app", "create", "shop", "hello-web", "web", "--set", "greeting=Hi", "--set", "replicas=2", "--commit"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Created app instance web of team shop (template hello-web, namespace shop-web");
    expect(parse(read(admin, "cluster/shop/team.yaml"))).toMatchObject({ spec: { apps: [{ name: "web", template: "hello-web", values: { greeting: "Hi", replicas: 2 } }] } });
    expect(read(admin, "cluster/shop/apps/web/kustomization.yaml")).toContain("namespace: shop-web");
    const v = await runCli(["validate", admin]);
    expect(v.code, `${v.stdout}\n${v.stderr}`).toBe(0);
    const list = await runCli(["app", "list"], { cwd: admin });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/hello-web\s+admin\s+greeting,replicas/);
    expect(list.stdout).toMatch(/shop\s+web\s+hello-web\s+shop-web\s+admin\s+greeting=Hi,replicas=2\s+up to date/);
    const teams = await runCli(["list"], { cwd: admin });
    expect(teams.stdout).toMatch(/shop,shop-web/);
  });

  it("bad input writes nothing and names every problem at once, exit 2", async () => {
    const admin = await makeAdminRepo([["shop"], ["shop-web"]]);
    const before = snapshotTree(admin);
    const r = await runCli(["app", "create", "shop", "hello-web", "web", "--set", "replicas=9", "--set", "greeting=", "--set", "colour=red", "--set", "replicas=x"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--set replicas is given twice");
    expect(r.stderr).toContain("--set colour: template hello-web has no parameter colour (it has greeting, replicas)");
    expect(r.stderr).toContain("--set replicas=x: replicas is a whole number");
    const bounds = await runCli(["app", "create", "shop", "hello-web", "web", "--set", "replicas=9", "--set", "greeting="], { cwd: admin });
    expect(bounds.code).toBe(2);
    // The values and the namespace another team has, in one answer.
    expect(bounds.stderr).toContain("--set replicas=9: replicas must be <= 3");
    expect(bounds.stderr).toContain("--set greeting=: greeting must NOT have fewer than 1 characters");
    expect(bounds.stderr).toContain("namespace shop-web of team shop is already team shop-web");
    const names = await runCli(["app", "create", "nobody", "nothing", "Web"], { cwd: admin });
    expect(names.code).toBe(2);
    expect(names.stderr).toContain('unknown team "nobody"');
    expect(names.stderr).toContain('unknown app template "nothing": the admin repo has hello-web');
    expect(names.stderr).toContain('app instance "Web" is not a DNS-1123 label');
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("instances take their quota out of the tier: more than it has is refused, naming each key", async () => {
    const admin = await makeAdminRepo([["shop"]]);
    for (const n of ["a", "b", "c"]) expect((await runCli(["app", "create", "shop", "hello-web", n, "--commit"], { cwd: admin })).code).toBe(0);
    const before = snapshotTree(admin);
    const r = await runCli(["app", "create", "shop", "hello-web", "d"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/requests.cpu: app instance shop-a 500m, app instance shop-b 500m, app instance shop-c 500m, app instance shop-d 500m take all of the tier's 2, leaving the team's other namespaces none: pick a bigger tier for team shop than small/);
    expect(snapshotTree(admin)).toEqual(before);
    // On a bigger tier the same instance fits.
    expect((await runCli(["create-team", "shop", "--tier", "medium"], { cwd: admin })).code).toBe(0);
    expect((await runCli(["app", "create", "shop", "hello-web", "d"], { cwd: admin })).code).toBe(0);
  });

  it("a template.yaml change fails validate until app upgrade renders the instances again; upgrade --set/--unset change one instance", async () => {
    const admin = await makeAdminRepo([["shop"], ["bank"]]);
    expect((await runCli(["app", "create", "shop", "hello-web", "web", "--set", "greeting=Hi", "--commit"], { cwd: admin })).code).toBe(0);
    expect((await runCli(["app", "create", "bank", "hello-web", "portal", "--commit"], { cwd: admin })).code).toBe(0);
    editFile(admin, "apps/hello-web/template.yaml", "pods: \"5\"", 'pods: "6"');
    const v = await runCli(["validate", admin]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toContain("cluster/shop/apps/web/kustomization.yaml: not what tenantry renders for app instance web");
    expect(v.stderr).toContain("tenantry app upgrade bank portal renders it again");
    const list = await runCli(["app", "list"], { cwd: admin });
    expect(list.stdout).toMatch(/template changed: tenantry app upgrade shop web/);
    const up = await runCli(["app", "upgrade", "--template", "hello-web", "--commit"], { cwd: admin });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("Instances of template hello-web: bank/portal, shop/web");
    expect(read(admin, "cluster/shop/quota.yaml")).toContain('pods: "6"');
    expect((await runCli(["validate", admin])).code).toBe(0);
    const one = await runCli(["app", "upgrade", "shop", "web", "--set", "replicas=3", "--unset", "greeting"], { cwd: admin });
    expect(one.code, one.stderr).toBe(0);
    expect(parse(read(admin, "cluster/shop/team.yaml"))).toMatchObject({ spec: { apps: [{ name: "web", values: { replicas: 3 } }] } });
    expect(read(admin, "cluster/shop/apps/web/kustomization.yaml")).toContain('"value":"Hello from tenantry"');
    const bad = await runCli(["app", "upgrade", "shop", "web", "--unset", "nothing", "--set", "replicas=0"], { cwd: admin });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--unset nothing: app instance web has no value nothing set");
    expect(bad.stderr).toContain("--set replicas=0: replicas must be >= 1");
  });

  it("plan of a change to a template's base lists every instance it reaches", async () => {
    const admin = await makeAdminRepo([["shop"], ["bank"]]);
    expect((await runCli(["app", "create", "shop", "hello-web", "web", "--commit"], { cwd: admin })).code).toBe(0);
    expect((await runCli(["app", "create", "bank", "hello-web", "portal", "--commit"], { cwd: admin })).code).toBe(0);
    editFile(admin, "apps/hello-web/app.yaml", "runAsUser: 10001", "runAsUser: 10002");
    commitAll(admin, "template: another user");
    const p = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: admin });
    expect(p.code, p.stderr).toBe(3); // risk flags: a review is asked
    expect(p.stdout).toContain("App instances a template change reaches");
    expect(p.stdout).toContain("app instance web of team shop (namespace shop-web): template hello-web: Deployment/shop-web/hello-web changed");
    expect(p.stdout).toContain("app instance portal of team bank (namespace bank-portal): template hello-web: Deployment/bank-portal/hello-web changed");
    expect(p.stdout).toMatch(/Teams affected: bank, shop/);
  });

  it("delete reads the namespace first (unread: refused without --force, exit 4) and records a tombstone", async () => {
    const admin = await makeAdminRepo([["shop"]]);
    expect((await runCli(["app", "create", "shop", "hello-web", "web", "--commit"], { cwd: admin })).code).toBe(0);
    const before = snapshotTree(admin);
    const refused = await runCli(["app", "delete", "shop", "web"], { cwd: admin, env: noCluster() });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("cannot read namespace shop-web");
    expect(snapshotTree(admin)).toEqual(before);
    const r = await runCli(["app", "delete", "shop", "web", "--force", "--commit"], { cwd: admin, env: noCluster() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("tombstone Namespace shop-web");
    expect(read(admin, "cluster/shop/team.yaml")).not.toContain("apps");
    expect(() => read(admin, "cluster/shop/apps/web/kustomization.yaml")).toThrow();
    expect(parseTombstones(read(admin, "cluster/teams/tombstones/tombstones.yaml"), "t").map((t) => `${t.kind} ${t.name}`)).toEqual(["Namespace shop-web"]);
    expect((await runCli(["validate", admin])).code).toBe(0);
    const again = await runCli(["app", "delete", "shop", "web"], { cwd: admin });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("team shop has no app instance web");
  });

  it("validate refuses an object the overlay adds in an instance's namespace labelled as the instance's; plan flags it", async () => {
    const admin = await makeAdminRepo([["shop"]]);
    expect((await runCli(["app", "create", "shop", "hello-web", "web", "--commit"], { cwd: admin })).code).toBe(0);
    const forged = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: RoleBinding",
      "metadata: {name: extra, namespace: shop-web, labels: {app.kubernetes.io/managed-by: tenantry, tenantry.dev/team: shop, tenantry.dev/app: web, tenantry.dev/app-template: hello-web}}",
      "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}",
      "subjects: [{kind: Group, name: outsiders, apiGroup: rbac.authorization.k8s.io}]",
      "",
    ].join("\n");
    writeFileSync(join(admin, "cluster/shop/forged.yaml"), forged);
    editFile(admin, "cluster/shop/kustomization.yaml", "  - sync.yaml\n", "  - sync.yaml\n  - forged.yaml\n");
    const v = await runCli(["validate", admin]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toContain("RoleBinding/shop-web/extra: not rendered by create-team for team shop");
    // As a pull request, it is flagged for the platform team's review (exit 3).
    commitAll(admin, "a team owner's pull request");
    const p = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: admin });
    expect(p.code, p.stderr).toBe(3);
    expect(p.stdout).toContain("RBAC widened");
    expect(p.stdout).toContain("RoleBinding/shop-web/extra");
  });

  it("a template holding a cluster-scoped object is refused at create, nothing written", async () => {
    const admin = await makeAdminRepo([["shop"]]);
    writeFileSync(join(admin, "apps/hello-web/role.yaml"), "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: wide}\nrules: []\n");
    editFile(admin, "apps/hello-web/kustomization.yaml", "  - app.yaml\n", "  - app.yaml\n  - role.yaml\n");
    commitAll(admin, "template with a ClusterRole");
    const before = snapshotTree(admin);
    const r = await runCli(["app", "create", "shop", "hello-web", "web"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("apps/hello-web: ClusterRole wide is not namespaced");
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("a broken template.yaml is named by validate and by app create", async () => {
    const admin = await makeAdminRepo([["shop"]]);
    editFile(admin, "apps/hello-web/template.yaml", "type: integer", "type: list");
    const v = await runCli(["validate", admin]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toContain("apps/hello-web/template.yaml: spec.parameters.properties.replicas.type: must be one of string, integer, number, boolean");
    const r = await runCli(["app", "create", "shop", "hello-web", "web"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("spec.parameters.properties.replicas.type: must be one of");
  });

  it("a template of delivery team hands the instance's objects to the team repo checkout, all or nothing, and takes them back on delete", async () => {
    const shopRepo = join(tempDir(), "shop");
    const admin = await makeAdminRepo([["shop", "--team-repo-dir", shopRepo]]);
    cpSync(join(admin, "apps/hello-web"), join(admin, "apps/hello-team"), { recursive: true });
    editFile(admin, "apps/hello-team/template.yaml", "  name: hello-web\n", "  name: hello-team\n");
    editFile(admin, "apps/hello-team/template.yaml", "  delivery: admin\n", "  delivery: team\n");
    commitAll(admin, "a template of delivery team");
    const before = snapshotTree(admin);
    const missing = await runCli(["app", "create", "shop", "hello-team", "store"], { cwd: admin });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("template hello-team hands its objects to the team's repo (delivery team): pass --team-repo-dir");
    const wrong = await runCli(["app", "create", "shop", "hello-web", "web", "--team-repo-dir", shopRepo], { cwd: admin });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("delivery admin): leave out --team-repo-dir");
    expect(snapshotTree(admin)).toEqual(before);
    const teamBefore = snapshotTree(shopRepo);
    const teamHead = git(shopRepo, "rev-parse", "HEAD");
    // The admin repo's commit fails (a hook refuses it): the team repo's commit and files are undone too.
    writeFileSync(join(admin, ".git/hooks/pre-commit"), "#!/bin/sh\necho refused by hook >&2\nexit 1\n", { mode: 0o755 });
    const failed = await runCli(["app", "create", "shop", "hello-team", "store", "--team-repo-dir", shopRepo, "--commit"], { cwd: admin });
    expect(failed.code).not.toBe(0);
    // The working tree as it was (git's own reflog keeps the undone commit: that is git's).
    const files = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith(".git/")));
    expect(files(snapshotTree(shopRepo))).toEqual(files(teamBefore));
    expect(git(shopRepo, "rev-parse", "HEAD")).toBe(teamHead);
    expect(files(snapshotTree(admin))).toEqual(files(before));
    rmSync(join(admin, ".git/hooks/pre-commit"));
    const r = await runCli(["app", "create", "shop", "hello-team", "store", "--set", "greeting=Ours", "--team-repo-dir", shopRepo, "--commit"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Changed the team repo ${shopRepo}:`);
    expect(() => read(admin, "cluster/shop/apps/store/kustomization.yaml")).toThrow();
    const objects = parseAllDocuments(read(shopRepo, "apps/store/resources.yaml")).map((d) => d.toJS() as { kind: string; metadata: { namespace: string; labels: Record<string, string> }; data?: Record<string, string> });
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}`)).toEqual(["ConfigMap shop-store", "Deployment shop-store", "Service shop-store"]);
    expect(objects[0]?.data?.GREETING).toBe("Ours");
    expect(objects.every((o) => o.metadata.labels["app.kubernetes.io/managed-by"] === undefined && o.metadata.labels["tenantry.dev/app"] === "store")).toBe(true);
    const root = parse(read(shopRepo, "kustomization.yaml")) as { namespace?: string; resources: string[] };
    expect(root.namespace).toBeUndefined();
    expect(root.resources).toEqual(["app.yaml", "apps/store"]);
    expect(git(shopRepo, "log", "--format=%s", "-1")).toContain("tenantry: app instance store (template hello-team)");
    expect((await runCli(["validate", admin])).code).toBe(0);
    const tv = await runCli(["validate", "--team", "shop", "--namespaces", "store", shopRepo], { cwd: admin });
    expect(tv.code, tv.stdout + tv.stderr).toBe(0);
    const d = await runCli(["app", "delete", "shop", "store", "--force", "--team-repo-dir", shopRepo], { cwd: admin, env: noCluster() });
    expect(d.code, d.stderr).toBe(0);
    expect(() => read(shopRepo, "apps/store/resources.yaml")).toThrow();
    expect((parse(read(shopRepo, "kustomization.yaml")) as { resources: string[] }).resources).toEqual(["app.yaml"]);
    expect(Object.keys(snapshotTree(shopRepo)).sort()).toEqual(Object.keys(teamBefore).sort());
  });

  it("is refused under engine flux", async () => {
    const admin = await makeAdminRepo([["shop", "--repo-url", "ssh://git@github.com/acme/shop.git"]], ["--cluster-name", "test", "--git-url", "ssh://git@github.com/acme/admin.git", "--engine", "flux"]);
    const r = await runCli(["app", "create", "shop", "hello-web", "web"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("app instances need engine tenantry for now");
  });
});

