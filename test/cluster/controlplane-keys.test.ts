// A controlplane team's deploy key on the real control plane (issue 19): the team has no
// namespace on the host, so `keys create` writes Secret tenantry-system/<team>-deploy-key (the
// one its GitSync tenantry-system/<team> reads), `keys list` names it there, and `keys revoke`
// removes it there; nothing is written into a namespace <team>.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { KubeObject } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { repoRoot, runCli } from "../helpers/cli.js";
import { adminAccess, apply, client, ignoring, readOrNull } from "../helpers/cluster.js";

const TEAM = "cpkeys";
const SECRET = { apiVersion: "v1", kind: "Secret", metadata: { name: `${TEAM}-deploy-key`, namespace: "tenantry-system" } };
let admin: KubeAccess;
let adminRepo: string;

const cli = (args: readonly string[]) => runCli([...args, "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });

beforeAll(async () => {
  admin = adminAccess();
  adminRepo = await makeAdminRepo([[TEAM, "--isolation", "controlplane"]]);
  // What cluster/common bootstraps that keys list reads: tenantry-system and the GitSync CRD.
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: "tenantry-system" } });
  const crd = parseAllDocuments(readFileSync(join(repoRoot, "cluster-template", "cluster", "common", "gitsync-crd.yaml"), "utf8")).map((d) => d.toJS() as KubeObject);
  await applyObjects(admin, crd);
}, 120_000);

afterAll(async () => {
  await ignoring([404], client(admin).deleteObject(SECRET));
});

describe("a controlplane team's deploy key", () => {
  it("lives in tenantry-system, where its GitSync reads it", async () => {
    const created = await cli(["keys", "create", TEAM]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`private key: Secret tenantry-system/${TEAM}-deploy-key`);
    const secret = await readOrNull(admin, SECRET);
    expect(secret?.metadata.labels?.["tenantry.dev/team"]).toBe(TEAM);
    expect(await readOrNull(admin, { ...SECRET, metadata: { ...SECRET.metadata, namespace: TEAM } })).toBe(null);

    const list = await cli(["keys", "list", "-o", "json"]);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { team: string; secret: string; fingerprint: string | null }[];
    expect(rows.find((r) => r.team === TEAM)).toMatchObject({ secret: `tenantry-system/${TEAM}-deploy-key`, fingerprint: expect.stringMatching(/^SHA256:/) as unknown });

    const revoked = await cli(["keys", "revoke", TEAM]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`Secret: tenantry-system/${TEAM}-deploy-key (cleared|deleted)`));
    expect((await readOrNull(admin, SECRET))?.data).toBeUndefined();
  }, 120_000);
});
