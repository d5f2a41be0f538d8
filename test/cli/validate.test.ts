// `tenantry validate` through the real CLI: generated admin repos are clean; broken objects
// are each reported with file and object, all at once; kustomize failures exit 4; a team
// repo is validated the way its GitSync applies it.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { editFile, runCli, tempDir } from "../helpers/cli.js";

function append(dir: string, file: string, text: string): void {
  writeFileSync(join(dir, file), `${readFileSync(join(dir, file), "utf8")}${text}`);
}

interface Report {
  overlays: string[];
  objects: number;
  problems: { file: string | null; overlay: string; object: string | null; message: string }[];
  notes: string[];
  buildFailed: boolean;
}

describe("validate: generated admin repos are clean", () => {
  it.each([
    ["no team", []],
    ["one team", [["team1"]]],
    [
      "three teams",
      [
        ["team1"],
        ["team2", "--tier", "medium", "--allow-from", "team1", "--registry", "ghcr.io/acme/"],
        ["payments", "--tier", "large", "--node-pool", "tenantry.dev/pool=payments", "--registry", "registry.acme.io/payments/"],
      ],
    ],
  ])("%s", async (_name, teams) => {
    const admin = await makeAdminRepo(teams);
    const r = await runCli(["validate"], { cwd: admin });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Valid admin repo: \\d+ objects from ${teams.length + 1} kustomize builds?, checked against Kubernetes v1\\.34\\.4\\.\\nPolicies: 8 ConstraintTemplates compiled and \\d+ Constraints exercised by gator .*\\n$`));
    // Gatekeeper's ConstraintTemplate kind comes with Gatekeeper, not with the repo.
    expect(r.stderr).toMatch(/note: templates\.gatekeeper\.sh\/v1 ConstraintTemplate: no schema known/);
    const json = await runCli(["validate", admin, "-o", "json"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.problems).toEqual([]);
    expect(report.overlays).toEqual(["cluster/common", ...teams.map((t) => `cluster/${t[0] ?? ""}`)]);
  });
});

describe("validate: problems", () => {
  it("reports every broken object with its file and object, all at once (exit 2)", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"]]);
    // A bad field type.
    editFile(admin, "cluster/team1/quota.yaml", 'pods: "20"', "pods: [20]");
    // An unknown field in a Deployment's spec.
    editFile(admin, "cluster/team2/sync.yaml", "  replicas: 1\n", "  replicas: 1\n  replica: 2\n");
    // A GitSync with a bad interval.
    editFile(admin, "cluster/team1/sync.yaml", "interval: 1m", "interval: every minute");
    // A Gatekeeper constraint whose parameter has the wrong type.
    editFile(admin, "cluster/team2/constraints.yaml", /registries:\n(\s+- .*\n)+/, 'registries: "ghcr.io/"\n');
    // A cluster-scoped object in a team overlay.
    append(
      admin,
      "cluster/team1/rbac.yaml",
      "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: sneaky\n  labels:\n    app.kubernetes.io/managed-by: tenantry\n    tenantry.dev/team: team1\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: ServiceAccount\n    name: team1\n    namespace: team1\n",
    );
    // A missing label.
    editFile(admin, "cluster/team2/limitrange.yaml", "    tenantry.dev/team: team2\n", "");
    // An object in another team's namespace.
    editFile(admin, "cluster/team2/rbac.yaml", "  name: team2\n  namespace: team2\n", "  name: team2\n  namespace: team1\n");

    const r = await runCli(["validate"], { cwd: admin });
    expect(r.code, r.stderr).toBe(2);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "));
    expect(errors).toEqual([
      "tenantry: error: cluster/team1/quota.yaml: ResourceQuota/team1/tenantry-quota: spec.hard.pods: must be string or number",
      `tenantry: error: cluster/team1/rbac.yaml: ClusterRoleBinding/sneaky: cluster-scoped, and its name does not start with "team1-": a team overlay holds only its namespace's objects and cluster-scoped objects named team1-…; put shared objects in cluster/common/`,
      "tenantry: error: cluster/team1/sync.yaml: GitSync/team1/team1: spec.interval: must match ^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$",
      "tenantry: error: cluster/team2/constraints.yaml: TenantryAllowedRegistries/team2-registries: spec.parameters.registries: must be array",
      "tenantry: error: cluster/team2/limitrange.yaml: LimitRange/team2/tenantry-limits: missing label tenantry.dev/team: team2",
      "tenantry: error: cluster/team2/rbac.yaml: ServiceAccount/team1/team2: is in namespace team1: the overlay of team team2 may only touch namespace team2",
      'tenantry: error: cluster/team2/sync.yaml: Deployment/team2/tenantry-agent: spec: unknown field "replica"',
    ]);
  });

  it("reports a failing kustomize build (exit 4) and remote bases, and still checks the other overlays", async () => {
    const admin = await makeAdminRepo([["team1"], ["team2"]]);
    append(admin, "cluster/team1/kustomization.yaml", "  - missing.yaml\n");
    append(admin, "cluster/team2/kustomization.yaml", "  - https://github.com/acme/bases//team?ref=v1\n");
    editFile(admin, "cluster/common/agent.yaml", "replicas: 2", "replicas: two");
    const r = await runCli(["validate", admin, "-o", "json"]);
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.buildFailed).toBe(true);
    expect(report.overlays).toEqual(["cluster/common", "cluster/team1"]);
    expect(report.problems.map((p) => [p.file, p.overlay, p.object])).toEqual([
      ["cluster/common/agent.yaml", "cluster/common", "Deployment/tenantry-system/tenantry-agent"],
      [null, "cluster/team1", null],
      ["cluster/team2/kustomization.yaml", "cluster/team2", null],
    ]);
    // The build service refused team2 before building it, naming the entry.
    expect(report.problems.map((p) => p.message)).toEqual([
      "spec.replicas: must be integer",
      expect.stringMatching(/^kustomize build failed: .*missing\.yaml/),
      'resources entry "https://github.com/acme/bases//team?ref=v1" is a remote base: vendor it into the repository instead',
    ]);
    const text = await runCli(["validate"], { cwd: admin });
    expect(text.code).toBe(4);
    expect(text.stderr).toMatch(/tenantry: error: cluster\/team1: kustomize build failed: .*missing\.yaml/);
  });

  it("notes Gatekeeper's remote reference while nothing builds it, and refuses it once cluster/common includes it", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const gk = readFileSync(join(admin, "cluster/common/gatekeeper/kustomization.yaml"), "utf8");
    expect(gk).toMatch(/^ {2}- https:\/\/raw\.githubusercontent\.com\/open-policy-agent\/gatekeeper\/v3\.23\.1\/deploy\/gatekeeper\.yaml$/m);
    const clean = await runCli(["validate"], { cwd: admin });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).toMatch(/note: cluster\/common\/gatekeeper\/kustomization\.yaml names a remote base; no build tenantry applies reads it/);
    append(admin, "cluster/common/kustomization.yaml", "  - gatekeeper\n");
    const r = await runCli(["validate", admin, "-o", "json"]);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.problems.map((p) => [p.file, p.message])).toContainEqual([
      "cluster/common/gatekeeper/kustomization.yaml",
      'resources entry "https://raw.githubusercontent.com/open-policy-agent/gatekeeper/v3.23.1/deploy/gatekeeper.yaml" is a remote base: vendor it into the repository instead',
    ]);
  });

  it("checks tenantry.yaml and refuses an object defined twice", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    editFile(admin, "tenantry.yaml", "level: restricted", "level: lenient");
    writeFileSync(join(admin, "cluster/common/extra.yaml"), readFileSync(join(admin, "cluster/team1/quota.yaml"), "utf8"));
    append(admin, "cluster/common/kustomization.yaml", "  - extra.yaml\n");
    const r = await runCli(["validate"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tenantry: error: tenantry\.yaml: spec\.podSecurity\.level: must be one of restricted, baseline/);
    expect(r.stderr).toMatch(/tenantry: error: cluster\/team1\/quota\.yaml: ResourceQuota\/team1\/tenantry-quota: also defined in cluster\/common\/extra\.yaml/);
    expect(r.stderr).toMatch(/cluster\/common\/extra\.yaml: ResourceQuota\/team1\/tenantry-quota: carries tenantry\.dev\/team: team1 but is in cluster\/common/);
  });
});

describe("validate: notes", () => {
  it("notes an overlay that create-team would render differently, e.g. after a tier edit in tenantry.yaml", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    editFile(admin, "tenantry.yaml", /(small:\n(?:.*\n)*?\s+pods: )"20"/, '$1"40"');
    const r = await runCli(["validate"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: cluster\/team1\/: quota\.yaml differs from what `tenantry create-team team1` renders from tenantry\.yaml and team\.yaml/);
  });
});

describe("validate: a team overlay holds only what create-team renders", () => {
  it("refuses an object create-team does not render until team.yaml declares it as an extension", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    writeFileSync(
      join(admin, "cluster/team1/extensions.yaml"),
      [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRoleBinding",
        "metadata:",
        "  name: team1-nodes",
        "  labels:",
        "    app.kubernetes.io/managed-by: tenantry",
        "    tenantry.dev/team: team1",
        "roleRef:",
        "  apiGroup: rbac.authorization.k8s.io",
        "  kind: ClusterRole",
        "  name: view",
        "subjects:",
        "  - kind: ServiceAccount",
        "    name: team1",
        "    namespace: team1",
        "",
      ].join("\n"),
    );
    append(admin, "cluster/team1/kustomization.yaml", "  - extensions.yaml\n");
    const refused = await runCli(["validate"], { cwd: admin });
    expect(refused.code).toBe(2);
    expect(refused.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "))).toEqual([
      "tenantry: error: cluster/team1/extensions.yaml: ClusterRoleBinding/team1-nodes: not rendered by create-team for team team1: a team overlay holds only what create-team renders; to keep it, declare it (tenantry create-team team1 --extension ClusterRoleBinding/team1-nodes) and the plan will flag it for review",
    ]);

    // Declared through create-team (which lists extensions.yaml and keeps what it holds), it passes.
    const declared = await runCli(["create-team", "team1", "--extension", "ClusterRoleBinding/team1-nodes"], { cwd: admin });
    expect(declared.code, declared.stderr).toBe(0);
    expect(readFileSync(join(admin, "cluster/team1/team.yaml"), "utf8")).toMatch(/^ {2}extensions:\n {4}- ClusterRoleBinding\/team1-nodes\n/m);
    expect(readFileSync(join(admin, "cluster/team1/extensions.yaml"), "utf8")).toMatch(/name: team1-nodes/);
    const accepted = await runCli(["validate"], { cwd: admin });
    expect(accepted.stderr).not.toMatch(/error/);
    expect(accepted.code).toBe(0);

    // Dropping the declaration stops listing the file but keeps what it holds.
    const dropped = await runCli(["create-team", "team1", "--extension"], { cwd: admin });
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(readFileSync(join(admin, "cluster/team1/kustomization.yaml"), "utf8")).not.toMatch(/extensions\.yaml/);
    expect(readFileSync(join(admin, "cluster/team1/extensions.yaml"), "utf8")).toMatch(/name: team1-nodes/);
  });

  it("fails closed on a team overlay whose team.yaml is missing, names another team or asks for an unknown tier", async () => {
    const errors = (stderr: string): string[] => stderr.split("\n").filter((l) => l.startsWith("tenantry: error: cluster/team1/team.yaml"));
    const missing = await makeAdminRepo([["team1"]]);
    rmSync(join(missing, "cluster/team1/team.yaml"));
    const r1 = await runCli(["validate"], { cwd: missing });
    expect(r1.code).toBe(2);
    expect(errors(r1.stderr)).toEqual([
      "tenantry: error: cluster/team1/team.yaml: missing: every team overlay is rendered by create-team from its team.yaml; run tenantry create-team team1 with the team's options to write it",
    ]);

    const other = await makeAdminRepo([["team1"]]);
    editFile(other, "cluster/team1/team.yaml", "name: team1", "name: team9");
    const r2 = await runCli(["validate"], { cwd: other });
    expect(r2.code).toBe(2);
    expect(errors(r2.stderr)).toContain("tenantry: error: cluster/team1/team.yaml: names team team9, but it is team team1's: run tenantry create-team team1 to write it");

    const tier = await makeAdminRepo([["team1"]]);
    editFile(tier, "cluster/team1/team.yaml", "tier: small", "tier: unlimited");
    const r3 = await runCli(["validate"], { cwd: tier });
    expect(r3.code).toBe(2);
    expect(errors(r3.stderr)).toEqual([expect.stringMatching(/^tenantry: error: cluster\/team1\/team.yaml: unknown tier "unlimited": use one of /)]);
  });

  it("refuses a malformed extension id", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    const r = await runCli(["create-team", "team2", "--extension", "not an id"], { cwd: admin });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tenantry: error: .*extension.*not an id/m);
  });
});

describe("validate --team", () => {
  it("accepts the scaffolded team repo and refuses what the team's GitSync could not apply", async () => {
    const dir = join(tempDir(), "team1");
    await makeAdminRepo([["team1", "--team-repo-dir", dir]]);
    const clean = await runCli(["validate", dir, "--team", "team1"]);
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^Valid team repo of team1: \d+ objects from 1 kustomize build, checked against Kubernetes v1\.34\.4\.\n$/);

    writeFileSync(
      join(dir, "extra.yaml"),
      [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRole",
        "metadata:",
        "  name: mine",
        "rules: []",
        "---",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: elsewhere",
        "  namespace: team2",
        "data:",
        "  n: 1",
        "",
      ].join("\n"),
    );
    // kustomize's namespace transformer would move the ConfigMap into team1: without it,
    // the repo says team2 and the GitSync would be refused.
    editFile(dir, "kustomization.yaml", /^namespace: team1\n/m, "");
    append(dir, "kustomization.yaml", "  - extra.yaml\n");
    const r = await runCli(["validate", "--team", "team1"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "))).toEqual([
      "tenantry: error: extra.yaml: ClusterRole/mine is cluster-scoped: a team repo may only hold objects in namespace team1",
      "tenantry: error: extra.yaml: ConfigMap/team2/elsewhere is in namespace team2: a team repo may only hold objects in namespace team1",
      "tenantry: error: extra.yaml: ConfigMap/team2/elsewhere: data.n: must be string",
    ]);
  });

  it("--namespaces: objects in the team's extra namespaces pass, any other namespace is named", async () => {
    const dir = join(tempDir(), "team1");
    await makeAdminRepo([["team1", "--team-repo-dir", dir]]);
    const cm = (name: string, namespace: string) => ["---", "apiVersion: v1", "kind: ConfigMap", "metadata:", `  name: ${name}`, `  namespace: ${namespace}`, ""].join("\n");
    writeFileSync(join(dir, "extra.yaml"), cm("api", "team1-api") + cm("web", "team1-web"));
    editFile(dir, "kustomization.yaml", /^namespace: team1\n/m, "");
    append(dir, "kustomization.yaml", "  - extra.yaml\n");
    const ok = await runCli(["validate", "--team", "team1", "--namespaces", "api,web"], { cwd: dir });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const narrow = await runCli(["validate", "--team", "team1", "--namespaces", "api"], { cwd: dir });
    expect(narrow.code).toBe(2);
    expect(narrow.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "))).toEqual([
      "tenantry: error: extra.yaml: ConfigMap/team1-web/web is in namespace team1-web: a team repo may only hold objects in its namespaces team1, team1-api",
    ]);
    const bad = await runCli(["validate", "--team", "team1", "--namespaces", "Api"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--namespaces entry "team1-Api" is not a DNS-1123 label');
  });
});
