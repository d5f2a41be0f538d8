// App templates against a hostile team owner (pull requests to cluster/<team>/) and a hostile
// team repo checkout (--team-repo-dir), through the real CLI: a symlinked instance directory
// smuggles nothing past validate; a hand edit of an instance's object through the overlay is a
// hand edit in plan, not a template change; symlinks in the team repo checkout are refused
// before anything is written; dropping the team repo's `namespace:` never moves its own objects;
// an instance named into a reserved namespace, or two teams sharing a namespace through one, is
// refused.

import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { editFile, runCli, snapshotTree, tempDir } from "../helpers/cli.js";
import { git } from "../helpers/git.js";

function commitAll(dir: string, message: string): void {
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", message);
}

const EVIL = [
  "apiVersion: rbac.authorization.k8s.io/v1",
  "kind: ClusterRoleBinding",
  "metadata: {name: a-evil, labels: {tenantry.dev/team: a, tenantry.dev/app: web, tenantry.dev/app-template: hello-web}}",
  "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}",
  "subjects: [{kind: ServiceAccount, name: a, namespace: a}]",
  "",
].join("\n");

/** A checkout of team a's repo with a delivery-team template in the admin repo. */
async function teamDelivery(): Promise<{ admin: string; teamRepo: string }> {
  const teamRepo = join(tempDir(), "a");
  const admin = await makeAdminRepo([["a", "--team-repo-dir", teamRepo], ["bank"]]);
  cpSync(join(admin, "apps/hello-web"), join(admin, "apps/hello-team"), { recursive: true });
  editFile(admin, "apps/hello-team/template.yaml", "  name: hello-web\n", "  name: hello-team\n");
  editFile(admin, "apps/hello-team/template.yaml", "  delivery: admin\n", "  delivery: team\n");
  commitAll(admin, "a template of delivery team");
  return { admin, teamRepo };
}

describe("app templates against a hostile team owner", () => {
  it("a symlinked instance directory leading to the team's own base smuggles nothing past validate", async () => {
    const admin = await makeAdminRepo([["a"]]);
    expect((await runCli(["app", "create", "a", "hello-web", "web", "--commit"], { cwd: admin })).code).toBe(0);
    // The rendered kustomization, moved so its ../../../../apps/hello-web lands inside cluster/a/.
    mkdirSync(join(admin, "cluster/a/x/y/z"), { recursive: true });
    renameSync(join(admin, "cluster/a/apps/web"), join(admin, "cluster/a/x/y/z/w"));
    symlinkSync("../x/y/z/w", join(admin, "cluster/a/apps/web"));
    mkdirSync(join(admin, "cluster/a/apps/hello-web"));
    writeFileSync(join(admin, "cluster/a/apps/hello-web/kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [evil.yaml]\n");
    writeFileSync(join(admin, "cluster/a/apps/hello-web/evil.yaml"), EVIL);
    const v = await runCli(["validate", admin]);
    expect(v.code, v.stdout + v.stderr).not.toBe(0);
    expect(v.stderr).toContain("cluster/a/apps/web: is a symbolic link");
    expect(v.stderr).toMatch(/ClusterRoleBinding\/a-evil/);
    commitAll(admin, "a team owner's pull request");
    const p = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: admin });
    expect(p.code, p.stderr).toBe(3);
    expect(p.stdout).toContain("RBAC widened");
    // The forged object is a hand edit, never the template's; the instance's own objects leave the render (named as removals).
    expect(p.stdout).toContain("ClusterRoleBinding/a-evil: labelled as app instance web's, but cluster/a/kustomization.yaml or cluster/a/apps/web/kustomization.yaml is not what tenantry renders");
    expect(p.stdout).not.toContain("template hello-web: ClusterRoleBinding");
  });

  it("a hand edit of an instance's object through the overlay is a hand edit in plan, not a template change", async () => {
    const admin = await makeAdminRepo([["a"]]);
    expect((await runCli(["app", "create", "a", "hello-web", "web", "--commit"], { cwd: admin })).code).toBe(0);
    const k = readFileSync(join(admin, "cluster/a/kustomization.yaml"), "utf8");
    writeFileSync(join(admin, "cluster/a/kustomization.yaml"), `${k}patches:\n  - target: {kind: Deployment, name: hello-web, namespace: a-web}\n    patch: '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"ghcr.io/evil/miner:1"}]'\n`);
    commitAll(admin, "a team owner's pull request");
    const p = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: admin });
    expect(p.code, p.stderr).toBe(3);
    expect(p.stdout).toContain("Generated object edited by hand");
    expect(p.stdout).toContain("labelled as app instance web's, but cluster/a/kustomization.yaml or cluster/a/apps/web/kustomization.yaml is not what tenantry renders");
    expect(p.stdout).not.toContain("template hello-web: Deployment/a-web/hello-web changed");
    const v = await runCli(["validate", admin]);
    expect(v.stdout + v.stderr).toContain("kustomization.yaml differs from what `tenantry create-team a` renders");
  });

  it("an instance may not be a reserved namespace; a hand-made team.yaml sharing a namespace through an instance is named by validate", async () => {
    const admin = await makeAdminRepo([["kube"], ["a"], ["a-b"]]);
    const r = await runCli(["app", "create", "kube", "hello-web", "public"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("kube-public is a reserved namespace");
    const collide = await runCli(["app", "create", "a", "hello-web", "b"], { cwd: admin });
    expect(collide.code).toBe(2);
    expect(collide.stderr).toContain("namespace a-b of team a is already team a-b");
    // The same by hand in team.yaml: validate names the collision.
    const digest = /templateDigest: (\w+)/.exec((await runCli(["app", "create", "a", "hello-web", "web", "--dry-run"], { cwd: admin })).stdout)?.[1] ?? "x";
    editFile(admin, "cluster/a/team.yaml", "  owners: []\n", `  owners: []\n  apps:\n    - {name: b, template: hello-web, values: {}, templateDigest: ${digest}}\n`);
    const v = await runCli(["validate", admin]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toContain("namespace a-b of team a is already team a-b: two teams cannot share a namespace");
  });
});

describe("app templates against a hostile team repo checkout", () => {
  it("a symbolic link on the paths tenantry writes is refused before anything is written, on create and on delete", async () => {
    const { admin, teamRepo } = await teamDelivery();
    symlinkSync(join(admin, "cluster"), join(teamRepo, "apps"));
    const adminBefore = snapshotTree(admin);
    const r = await runCli(["app", "create", "a", "hello-team", "bank", "--team-repo-dir", teamRepo], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--team-repo-dir ${teamRepo}: apps is a symbolic link`);
    expect(snapshotTree(admin)).toEqual(adminBefore);
    rmSync(join(teamRepo, "apps"));
    expect((await runCli(["app", "create", "a", "hello-team", "store", "--team-repo-dir", teamRepo, "--commit"], { cwd: admin })).code).toBe(0);
    rmSync(join(teamRepo, "apps"), { recursive: true });
    symlinkSync(join(admin, "cluster"), join(teamRepo, "apps"));
    const before = snapshotTree(admin);
    const d = await runCli(["app", "delete", "a", "store", "--force", "--team-repo-dir", teamRepo], { cwd: admin, env: { KUBECONFIG: "/nonexistent" } });
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("apps is a symbolic link");
    expect(snapshotTree(admin)).toEqual(before);
  });

  it("dropping the root's namespace: never moves one of the team repo's own objects; --team-repo-dir with an admin-delivered instance is refused", async () => {
    const { admin, teamRepo } = await teamDelivery();
    writeFileSync(join(teamRepo, "other.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere, namespace: bank}\ndata: {a: b}\n");
    editFile(teamRepo, "kustomization.yaml", "  - app.yaml\n", "  - app.yaml\n  - other.yaml\n");
    const before = snapshotTree(teamRepo);
    const r = await runCli(["app", "create", "a", "hello-team", "store", "--team-repo-dir", teamRepo], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ConfigMap elsewhere names namespace bank, which the root kustomization's `namespace: a` overrides today");
    expect(snapshotTree(teamRepo)).toEqual(before);
    expect((await runCli(["app", "create", "a", "hello-web", "web", "--commit"], { cwd: admin })).code).toBe(0);
    const d = await runCli(["app", "delete", "a", "web", "--force", "--team-repo-dir", teamRepo], { cwd: admin, env: { KUBECONFIG: "/nonexistent" } });
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("was not handed to the team's repo (delivery admin): leave out --team-repo-dir");
  });
});
