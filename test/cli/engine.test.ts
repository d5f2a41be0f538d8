// The Flux engine through the real CLI (issue 18): a fresh `init --engine flux` repo with a team
// passes `tenantry validate`; create-team refuses an scp-like URL Flux cannot fetch, in one line
// naming the ssh:// fix; `engine set` flux and back returns the tree byte for byte (a dry run
// changes nothing); delete-team under flux takes two steps, and the admin build shows what
// Flux applies after each: first the Namespace without its prune-disabled annotation, then none.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildObjects } from "../../src/build/kustomize.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, snapshotTree, tempDir } from "../helpers/cli.js";

const FLUX_INIT = ["--cluster-name", "test", "--engine", "flux", "--git-url", "ssh://git@github.com/acme/admin.git", "--platform-team", "@acme/platform"];
/** An API server nobody listens on: delete-team --force never touches a real cluster. */
const noCluster = ["--force", "--keep-key", "--kubeconfig", "/nonexistent/kubeconfig"];

/** The working tree without .git: what engine set writes. */
function files(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshotTree(dir)).filter(([p]) => !p.startsWith(".git/") && p !== ".git/"));
}

async function teamNamespace(admin: string, team: string): Promise<{ annotations?: Record<string, string> } | undefined> {
  const objects = await buildObjects({ root: admin, dir: "." });
  return objects.find((o) => o.kind === "Namespace" && o.metadata.name === team)?.metadata;
}

describe("an admin repo on Flux", () => {
  it("validates as generated, with a team", async () => {
    const admin = await makeAdminRepo([["web", "--repo-url", "https://git.example.com/acme/web.git"]], FLUX_INIT);
    const r = await runCli(["validate"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(admin, "cluster/common/flux-system/gotk-components.yaml"), "utf8")).toBe(readFileSync(join(import.meta.dirname, "../../vendor/flux/gotk-components.yaml"), "utf8"));
  });

  it("refuses an scp-like team URL in one line naming the fix, and an scp-like --git-url at init", async () => {
    const admin = await makeAdminRepo([], FLUX_INIT);
    const before = snapshotTree(admin);
    const r = await runCli(["create-team", "web", "--repo-url", "git@github.com:acme/web.git"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('tenantry: error: --repo-url "git@github.com:acme/web.git": Flux fetches only ssh:// and http(s):// URLs; write it as ssh://git@github.com/acme/web.git');
    expect(snapshotTree(admin)).toEqual(before);
    const i = await runCli(["init", join(tempDir(), "a"), "--cluster-name", "x", "--engine", "flux", "--git-url", "git@github.com:acme/admin.git"]);
    expect(i.code).toBe(2);
    expect(i.stderr).toContain("write it as ssh://git@github.com/acme/admin.git");
  });
});

describe("engine set", () => {
  it("tenantry -> flux -> tenantry returns the original tree byte for byte", async () => {
    const admin = await makeAdminRepo(
      [["web", "--repo-url", "ssh://git@github.com/acme/web.git"], ["api", "--repo-url", "https://gitlab.example.com/acme/api.git", "--node-pool", "tenantry.dev/pool=api", "--extension", "ConfigMap/extra"]],
      ["--cluster-name", "test", "--git-url", "ssh://git@github.com/acme/admin.git", "--platform-team", "@acme/platform"],
    );
    const original = files(admin);
    const dry = await runCli(["engine", "set", "flux", "--dry-run"], { cwd: admin });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("delete cluster/common/agent.yaml");
    expect(files(admin)).toEqual(original);

    const flux = await runCli(["engine", "set", "flux", "--commit"], { cwd: admin });
    expect(flux.code, flux.stderr).toBe(0);
    expect(readFileSync(join(admin, "tenantry.yaml"), "utf8")).toContain("  engine: flux\n");
    expect(readFileSync(join(admin, "cluster/web/sync.yaml"), "utf8")).toContain("kind: Kustomization");
    expect(flux.stderr).toContain("Secret flux-system/flux-system");
    const v = await runCli(["validate"], { cwd: admin });
    expect(v.code, v.stderr).toBe(0);
    // The switch's review: tenantry plan shows what the push changes in the cluster.
    const plan = await runCli(["plan", "--base", "HEAD~1"], { cwd: admin });
    expect(plan.code, plan.stderr).toBe(3);
    expect(plan.stdout).toMatch(/CustomResourceDefinition\/gitsyncs\.tenantry\.dev: removed: every GitSync object in the cluster is deleted with it/);
    expect(plan.stdout).toMatch(/CustomResourceDefinition\/kustomizations\.kustomize\.toolkit\.fluxcd\.io: added/);
    expect(plan.stdout).toMatch(/ClusterRoleBinding\/cluster-reconciler-flux-system: grants ClusterRole cluster-admin cluster-wide to ServiceAccount flux-system\/kustomize-controller/);
    expect(plan.stdout).toMatch(/^ {2}\+ Kustomization\/web\/web\b/m);

    const back = await runCli(["engine", "set", "tenantry", "--commit"], { cwd: admin });
    expect(back.code, back.stderr).toBe(0);
    expect(files(admin)).toEqual(original);
    const again = await runCli(["engine", "set", "tenantry"], { cwd: admin });
    expect(again.stdout).toContain("nothing changed");
  });

  it("refuses flux while a team's URL is scp-like, naming every one, and changes nothing", async () => {
    const admin = await makeAdminRepo([["web", "--repo-url", "git@github.com:acme/web.git"], ["api", "--repo-url", "git@github.com:acme/api.git"]]);
    const before = snapshotTree(admin);
    const r = await runCli(["engine", "set", "flux"], { cwd: admin });
    expect(r.code).toBe(2);
    for (const what of ["spec.gitUrl", "spec.teamRepoPattern", "cluster/web/team.yaml: repoUrl", "cluster/api/team.yaml: repoUrl"]) expect(r.stderr).toContain(what);
    expect(snapshotTree(admin)).toEqual(before);
  });
});

describe("delete-team under flux", () => {
  it("keeps the Namespace without the prune annotation, then drops it on the second run", async () => {
    const admin = await makeAdminRepo([["web"], ["api"]], FLUX_INIT);
    expect((await teamNamespace(admin, "web"))?.annotations).toEqual({ "kustomize.toolkit.fluxcd.io/prune": "disabled" });

    const first = await runCli(["delete-team", "web", "--commit", ...noCluster], { cwd: admin });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("cluster/teams/tombstones/namespace-web.yaml");
    const released = await teamNamespace(admin, "web");
    expect(released).toBeDefined();
    expect(released?.annotations).toBeUndefined();
    expect(readFileSync(join(admin, "cluster/teams/tombstones/tombstones.yaml"), "utf8")).toContain("name: web");

    const second = await runCli(["delete-team", "web", "--commit", ...noCluster], { cwd: admin });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("Finished deleting team web");
    expect(await teamNamespace(admin, "web")).toBeUndefined();
    expect(readFileSync(join(admin, "cluster/teams/tombstones/tombstones.yaml"), "utf8")).toContain("name: web");
    expect((await teamNamespace(admin, "api"))?.annotations).toEqual({ "kustomize.toolkit.fluxcd.io/prune": "disabled" });

    const third = await runCli(["delete-team", "web", ...noCluster], { cwd: admin });
    expect(third.code).toBe(2);
    const none = await runCli(["delete-team", "--finish", ...noCluster], { cwd: admin });
    expect(none.stdout).toContain("No team deletion is waiting");
  });

  it("--finish finishes every waiting team; a team created again takes its Namespace back", async () => {
    const admin = await makeAdminRepo([["web"], ["api"], ["db"]], FLUX_INIT);
    for (const t of ["web", "api", "db"]) expect((await runCli(["delete-team", t, "--commit", ...noCluster], { cwd: admin })).code).toBe(0);
    const back = await runCli(["create-team", "db", "--commit"], { cwd: admin });
    expect(back.code, back.stderr).toBe(0);
    expect((await teamNamespace(admin, "db"))?.annotations).toEqual({ "kustomize.toolkit.fluxcd.io/prune": "disabled" });
    const finish = await runCli(["delete-team", "--finish", "--commit", ...noCluster], { cwd: admin });
    expect(finish.code, finish.stderr).toBe(0);
    expect(finish.stdout).toContain("Finished deleting team api, team web");
    expect(await teamNamespace(admin, "web")).toBeUndefined();
    expect(await teamNamespace(admin, "api")).toBeUndefined();
    expect(await teamNamespace(admin, "db")).toBeDefined();
  });
});
