// `tenantry validate` and Flux's objects (issue 18), through the real CLI: they are checked
// against the CRD schemas of the pinned Flux release (vendor/flux/gotk-components.yaml)
// and against the tenancy rules for Flux (src/plan/flux.ts), in an admin repo's team overlay
// and in a team repo, each problem naming its file.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";

function append(dir: string, file: string, text: string): void {
  writeFileSync(join(dir, file), `${readFileSync(join(dir, file), "utf8")}${text}`);
}

function errors(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "));
}

/** A second sync for team1: a typo'd field, a wrong type, another namespace's source, a path out. */
const EXTRA_SYNC = [
  "apiVersion: source.toolkit.fluxcd.io/v1",
  "kind: GitRepository",
  "metadata:",
  "  name: team1-extra",
  "  namespace: team1",
  "  labels:",
  "    app.kubernetes.io/managed-by: tenantry",
  "    tenantry.dev/team: team1",
  "spec:",
  "  url: ssh://git@git.example.com/acme/extra.git",
  "  interval: 1m",
  "  ref:",
  "    branch: main",
  "---",
  "apiVersion: kustomize.toolkit.fluxcd.io/v1",
  "kind: Kustomization",
  "metadata:",
  "  name: team1-extra",
  "  namespace: team1",
  "  labels:",
  "    app.kubernetes.io/managed-by: tenantry",
  "    tenantry.dev/team: team1",
  "spec:",
  "  serviceAcountName: team1",
  "  sourceRef:",
  "    kind: GitRepository",
  "    name: flux-system",
  "    namespace: flux-system",
  "  path: ./apps/../../admin",
  "  prune: yes please",
  "  interval: 1m",
  "",
].join("\n");

// Flux fetches ssh:// and http(s):// URLs only.
const FLUX_INIT = ["--cluster-name", "test", "--git-url", "ssh://git@github.com/acme/admin.git", "--platform-team", "@acme/platform", "--engine", "flux"];

describe("an admin repo on the flux engine", () => {
  it("validates clean (Flux's kinds known), and plan flags neither a new team's sync nor delete-team's released Namespace", async () => {
    const admin = await makeAdminRepo([["team1", "--repo-url", "ssh://git@github.com/acme/team1.git"]], FLUX_INIT);
    const r = await runCli(["validate"], { cwd: admin });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/toolkit\.fluxcd\.io/);
    const added = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: admin });
    expect((JSON.parse(added.stdout) as { risks: { kind: string }[] }).risks.map((x) => x.kind)).toEqual(["team-added"]);
    // delete-team's first step takes prune: disabled off the Namespace and adds the tombstone in one change.
    const deleted = await runCli(["delete-team", "team1", "--force", "--commit"], { cwd: admin });
    expect(deleted.code, deleted.stderr).toBe(0);
    const plan = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: admin });
    const kinds = (JSON.parse(plan.stdout) as { risks: { kind: string }[] }).risks.map((x) => x.kind);
    expect(kinds).toContain("team-removed");
    expect(kinds).not.toContain("flux-prune");
    expect(kinds).not.toContain("flux-escalation");
  });
});

describe("validate: Flux objects", () => {
  it("checks a team overlay's Flux objects against the pinned release's schemas and the tenancy rules, naming the file", async () => {
    const admin = await makeAdminRepo([["team1"]]);
    writeFileSync(join(admin, "cluster/team1/extensions.yaml"), EXTRA_SYNC);
    append(admin, "cluster/team1/kustomization.yaml", "  - extensions.yaml\n");
    // Declared, so that the extension rule is not what refuses them.
    const declared = await runCli(["create-team", "team1", "--extension", "GitRepository/team1/team1-extra", "--extension", "Kustomization/team1/team1-extra"], { cwd: admin });
    expect(declared.code, declared.stderr).toBe(0);
    const r = await runCli(["validate"], { cwd: admin });
    expect(r.code, r.stderr).toBe(2);
    const file = "tenantry: error: cluster/team1/extensions.yaml: Kustomization/team1/team1-extra: ";
    expect(errors(r.stderr)).toEqual([
      `${file}has no spec.serviceAccountName: kustomize-controller applies it as itself (cluster-admin), or as the default ServiceAccount of team1 where --default-service-account is set; set serviceAccountName: team1`,
      `${file}spec.path "./apps/../../admin" climbs with "..": Flux keeps it inside the source's checkout (SecureJoin), so it names another directory than it says; write it from the repo's root`,
      `${file}spec.prune: must be boolean`,
      `${file}spec.sourceRef names a source in namespace flux-system: a Kustomization reads a source of its own namespace team1 only (kustomize-controller's --no-cross-namespace-refs refuses it); drop sourceRef.namespace`,
      `${file}spec: unknown field "serviceAcountName"`,
    ]);
    // Known kinds: no "no schema known" note for Flux's.
    expect(r.stderr).not.toMatch(/toolkit\.fluxcd\.io\/v1 (Kustomization|GitRepository): no schema known/);
  });

  it("refuses Flux objects in a team repo, with their schema problems", async () => {
    const dir = join(tempDir(), "team1");
    await makeAdminRepo([["team1", "--team-repo-dir", dir]]);
    writeFileSync(join(dir, "sync.yaml"), EXTRA_SYNC.replace("  url: ssh://git@git.example.com/acme/extra.git\n", "  url: git@git.example.com:acme/extra.git\n"));
    append(dir, "kustomization.yaml", "  - sync.yaml\n");
    const r = await runCli(["validate", "--team", "team1"], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    const lines = errors(r.stderr);
    expect(lines).toContain(
      "tenantry: error: sync.yaml: GitRepository/team1/team1-extra: a team repo may not hold Flux objects: the team's role cannot create them (tenantry:team-admin has no rights on source.toolkit.fluxcd.io) and team team1's sync is the admin repo's (cluster/team1/sync.yaml); ask the platform team to declare it as an extension of cluster/team1/ instead",
    );
    expect(lines).toContain("tenantry: error: sync.yaml: GitRepository/team1/team1-extra: spec.url: must match ^(http|https|ssh)://.*$");
    expect(lines).toContain('tenantry: error: sync.yaml: Kustomization/team1/team1-extra: spec: unknown field "serviceAcountName"');
    expect(lines.filter((l) => l.includes("Kustomization/team1/team1-extra: a team repo may not hold Flux objects"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("has no spec.serviceAccountName"))).toHaveLength(1);
  });
});
