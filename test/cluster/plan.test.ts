// `tenantry plan --cluster` on the real control plane: an admin repo from the real CLI
// (teams plan-a and plan-b) is applied as the reconciler would, then planned against the
// live cluster through the real CLI: a hand edit shows up as drift, an object the API
// server refuses (though kustomize and the schema accept it) is reported as refused, and
// the objects of a new team's namespace are reported as not checkable by a dry run.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { ClusterResult, Plan } from "../../src/plan/plan.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli } from "../helpers/cli.js";
import { adminAccess, client } from "../helpers/cluster.js";
import { git } from "../helpers/git.js";

const A = "plan-a";
const B = "plan-b";
const C = "plan-c";
// No --git-url: no admin GitSync in tenantry-system, which other tests reconcile.
const INIT = ["--cluster-name", "plantest"];
const repoUrl = (team: string): string => `https://git.example.com/acme/${team}.git`;

let admin: KubeAccess;
let repo: string;

async function plan(base: string, head: string, format = "json"): Promise<{ code: number; plan: Plan | null; stdout: string; stderr: string }> {
  const r = await runCli(["plan", "--base", base, "--head", head, "--cluster", "--kubeconfig", inject("kubeconfig"), "-o", format], { cwd: repo });
  return { ...r, plan: format === "json" && r.stdout !== "" ? (JSON.parse(r.stdout) as Plan) : null };
}

/** The results naming `part` as namespace or name. */
function resultsIn(p: Plan, part: string): ClusterResult[] {
  return (p.cluster?.results ?? []).filter((r) => r.object.split("/").includes(part));
}

beforeAll(async () => {
  admin = adminAccess();
  repo = await makeAdminRepo([[A, "--repo-url", repoUrl(A)], [B, "--repo-url", repoUrl(B)]], INIT);
  // Applied once as the reconciler applies it: field manager tenantry, forced.
  await applyObjects(admin, await buildDir(repo), { force: true });
});

describe("plan --cluster", () => {
  it("shows a hand edit of a live object as drift, and nothing for the untouched team", async () => {
    await client(admin).apply(
      { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: A }, spec: { hard: { pods: "99" } } },
      { fieldManager: "kubectl-edit", force: true },
    );
    const r = await plan("HEAD", "HEAD");
    expect(r.code, r.stderr).toBe(0);
    const p = r.plan as Plan;
    expect(p.changes).toEqual([]);
    expect(p.cluster?.checked).toBeGreaterThan(40);
    expect(resultsIn(p, A)).toEqual([
      { object: `ResourceQuota/${A}/tenantry-quota`, outcome: "update", message: null, drift: [{ path: "spec.hard.pods", live: "99", head: "20" }] },
    ]);
    expect(resultsIn(p, B)).toEqual([]);
    const text = await plan("HEAD", "HEAD", "text");
    expect(text.stdout).toContain(`  update ResourceQuota/${A}/tenantry-quota\n    spec.hard.pods: live "99" -> head "20"\n`);
  });

  it("reports what the API server would refuse, as a risk flag (exit 3)", async () => {
    const file = join(repo, "cluster", B, "namespace.yaml");
    // A label value the API server rejects; kustomize and the schema (a string) accept it.
    writeFileSync(file, readFileSync(file, "utf8").replace(`    tenantry.dev/team: ${B}\n`, `    tenantry.dev/team: ${B}\n    example.com/owner: "Team B!"\n`));
    git(repo, "commit", "--quiet", "-am", "an invalid label");
    try {
      expect((await runCli(["validate"], { cwd: repo })).code).toBe(0);
      const r = await plan("HEAD~1", "HEAD");
      expect(r.code, r.stderr).toBe(3);
      const p = r.plan as Plan;
      const refused = resultsIn(p, B);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ object: `Namespace/${B}`, outcome: "refused" });
      expect(refused[0]?.message).toMatch(/metadata\.labels: Invalid value: "Team B!".*\(HTTP 422 Invalid\)$/);
      // Namespace.yaml is create-team's: an edit by hand is flagged as such too.
      expect(p.risks.map((x) => x.kind)).toEqual(["hand-edited", "cluster-refused"]);
      const md = await plan("HEAD~1", "HEAD", "markdown");
      expect(md.code).toBe(3);
      expect(md.stdout).toMatch(/\| Refused by the API server \| `Namespace\/plan-b` \| .*Invalid value/);
    } finally {
      git(repo, "revert", "--no-edit", "--quiet", "HEAD");
    }
  });

  it("says which objects a dry run cannot check: those in a namespace the change creates", async () => {
    expect((await runCli(["create-team", C, "--repo-url", repoUrl(C), "--commit"], { cwd: repo })).code).toBe(0);
    const r = await plan("HEAD~1", "HEAD");
    expect(r.code, r.stderr).toBe(3);
    const p = r.plan as Plan;
    const forC = resultsIn(p, C);
    expect(forC.find((x) => x.object === `Namespace/${C}`)?.outcome).toBe("create");
    const inNamespace = forC.filter((x) => x.object.startsWith(`${x.object.split("/")[0] ?? ""}/${C}/`));
    expect(inNamespace.length).toBeGreaterThan(10);
    expect(new Set(inNamespace.map((x) => `${x.outcome}: ${x.message ?? ""}`))).toEqual(new Set([`unchecked: namespace ${C} is created by this change`]));
    // Its cluster-scoped bindings can be checked, and are new.
    const bindings = (p.cluster?.results ?? []).filter((x) => x.object.startsWith(`ValidatingAdmissionPolicyBinding/${C}-`));
    expect(bindings.map((x) => x.outcome)).toEqual(["create", "create", "create", "create"]);
    expect(p.risks.map((x) => x.kind)).toEqual(["team-added"]);
  });

  it("a team deletion names what its live namespace would lose: PVCs, Secrets, objects not from Git", async () => {
    await client(admin).apply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: B }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }, { fieldManager: "kubectl", force: true });
    await client(admin).apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "db-password", namespace: B }, stringData: { p: "x" } }, { fieldManager: "kubectl", force: true });
    const d = await runCli(["delete-team", B, "--commit", "--force"], { cwd: repo });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    try {
      const r = await plan("HEAD~1", "HEAD", "text");
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toContain(`live namespace ${B}: PersistentVolumeClaims: 1 (data): their volumes' data goes with them`);
      expect(r.stdout).toMatch(new RegExp(`live namespace ${B}: Secrets: \\d+ \\([^)]*db-password`));
    } finally {
      git(repo, "reset", "--hard", "--quiet", "HEAD~1");
    }
  });
});
