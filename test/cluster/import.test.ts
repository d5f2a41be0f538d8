// An imported repo applies: `tenantry import` of each upstream layout (the fixtures of
// test/cli/import.test.ts, rebuilt from fluxcd/flux2-multi-tenancy and the Flux v1
// fluxcd/multi-tenancy) is applied to the real control plane as bootstrap's apply would, and
// each imported team stands: its Namespace restricted, its team-admin binding, its quota, and
// the API server refusing it outside its namespace.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, applyDir, create, expectForbidden, readOrNull, teamAccess } from "../helpers/cluster.js";

const fixtures = join(repoRoot, "test", "fixtures", "import");

describe.each([
  { layout: "flux2-multi-tenancy", args: ["--env", "staging", "--cluster-name", "imported2"], team: "dev-team" },
  { layout: "flux-v1", args: ["--cluster-name", "imported1"], team: "team1" },
])("an import of $layout", ({ layout, args, team }) => {
  it("applies on the control plane, and the imported team is a tenantry team", async () => {
    const out = join(tempDir(), "admin");
    const r = await runCli(["import", layout, join(fixtures, layout, "upstream", "input"), "--out", out, ...args]);
    // 3: something upstream had was not mapped (the report says what); the repo is written.
    expect(r.code, r.stderr).toBe(3);
    const admin = adminAccess();
    await applyDir(admin, out);
    const ns = await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: team } });
    expect(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(await readOrNull(admin, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "tenantry:team-admin", namespace: team } })).not.toBeNull();
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: team } })).not.toBeNull();
    const asTeam = teamAccess(team);
    await create(asTeam, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "imported", namespace: team }, data: { a: "b" } });
    await expectForbidden(create(asTeam, { apiVersion: "v1", kind: "Namespace", metadata: { name: `${team}-sneaky` } }));
  });
});
