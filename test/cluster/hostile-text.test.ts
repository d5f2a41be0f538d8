// What a team can write and an admin then reads, on the real control plane through the real
// CLI: credentials embedded in a GitSync's URL never reach its status, its Events or the
// output of `tenantry sync`; text a team's identity writes into its GitSync's status reaches
// `tenantry status` and `tenantry resources` with its control characters escaped; and the
// agent's metrics port in tenantry-system is closed to every namespace an admin has not
// labelled (which no team can do to its own).

import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, applyDir, client, expectForbidden, teamAccess } from "../helpers/cluster.js";

const TEAM = "text-a";
const TOKEN = "ghp_S3cretT0kenValue";
// ESC sequences that would clear the screen, retitle the terminal and recolour; a bidi override.
const HOSTILE = "\x1b[2J\x1b]0;owned\x07\x1b[32mReady\u202e";

let admin: KubeAccess;
let kubeconfig: string;

function cli(...args: string[]) {
  return runCli([...args, "--kubeconfig", kubeconfig]);
}

beforeAll(async () => {
  admin = adminAccess();
  kubeconfig = inject("kubeconfig");
  const adminRepo = await makeAdminRepo([], ["--cluster-name", "text", "--git-url", "https://git.example.com/acme/admin.git"]);
  const r = await runCli(["create-team", TEAM, "--team-repo-dir", join(tempDir(), "team")], { cwd: adminRepo });
  expect(r.code, r.stderr).toBe(0);
  await applyDir(admin, adminRepo);
});

describe("credentials in a GitSync's URL", () => {
  it("are redacted in the status, the Events and the CLI's output", async () => {
    const name = "leaky";
    await apply(admin, {
      apiVersion: "tenantry.dev/v1alpha1",
      kind: "GitSync",
      metadata: { name, namespace: TEAM },
      spec: { url: `https://x-access-token:${TOKEN}@127.0.0.1:1/acme/team.git`, interval: "1h" },
    });
    const r = await cli("sync", "--namespace", TEAM, "--name", name);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED {2}text-a\/leaky {2}GitOperationFailed: .*https:\/\/\*\*\*@127\.0\.0\.1:1\/acme\/team\.git/m);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    const gs = await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name, namespace: TEAM } });
    const status = JSON.stringify(gs.status);
    expect(status).toContain("https://***@127.0.0.1:1/acme/team.git");
    expect(status).not.toContain(TOKEN);
    const events = (await client(admin).listObjects("v1", "Event", TEAM)).items.filter((e) => (e as KubeObject & { involvedObject: { name: string } }).involvedObject.name === name);
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    const table = await cli("status");
    expect(table.stdout + table.stderr).not.toContain(TOKEN);
  });
});

describe("text a team writes into its GitSync's status", () => {
  beforeAll(async () => {
    // The team's agent runs as the team's ServiceAccount, which may write its GitSync's status.
    await client(teamAccess(TEAM)).patchStatus({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: TEAM } }, {
      lastAppliedRevision: `main@sha1:${HOSTILE}`,
      conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: `all good${HOSTILE}\nNAMESPACE  fake row`, lastTransitionTime: "2026-01-01T00:00:00Z" }],
    });
  });

  it("reaches `tenantry status` and `tenantry resources` escaped, never as raw control characters", async () => {
    for (const args of [["status"], ["resources", TEAM]]) {
      const r = await cli(...args);
      expect(r.code, r.stderr).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(r.stdout, args.join(" ")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    }
    const status = await cli("status");
    expect(status.stdout).toMatch(/^text-a +text-a +text-a +True +ReconciliationSucceeded +main@sha1:\\x1b\[2J\\x1b\]0;owned\\x07\\x1b\[32mReady\\u202e /m);
    // Machines get the exact text, in JSON's own escapes.
    const json = await cli("status", "-o", "json");
    const row = (JSON.parse(json.stdout) as { gitsyncs: { namespace: string; name: string; message: string }[] }).gitsyncs.find((x) => x.namespace === TEAM && x.name === TEAM);
    expect(row?.message).toBe(`all good${HOSTILE}\nNAMESPACE  fake row`);
  });
});

describe("the agent's metrics port in tenantry-system", () => {
  it("is open only to namespaces labelled tenantry.dev/metrics-reader, which a team cannot label", async () => {
    const read = (name: string) => client(admin).readObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: "tenantry-system" } });
    type Policy = KubeObject & { spec: { podSelector: object; policyTypes: string[]; ingress?: { from?: object[]; ports?: { port: string | number }[] }[] } };
    const deny = (await read("tenantry-default-deny")) as Policy;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    const webhooks = (await read("tenantry-agent-webhooks")) as Policy;
    expect(webhooks.spec.ingress).toEqual([{ ports: [{ port: "http", protocol: "TCP" }] }]);
    const metrics = (await read("tenantry-agent-metrics")) as Policy;
    expect(metrics.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { "tenantry.dev/metrics-reader": "true" } } }], ports: [{ port: "metrics", protocol: "TCP" }] }]);
    // The named ports are the agent's: http serves webhooks and probes, metrics only /metrics.
    const agent = await client(admin).readObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "tenantry-agent", namespace: "tenantry-system" } });
    const ports = (agent.spec as { template: { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } } }).template.spec.containers[0]?.ports;
    expect(ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 8081, protocol: "TCP" },
    ]);
    // No team can label its own Namespace into the readers.
    await expectForbidden(
      client(teamAccess(TEAM)).mergePatch({ apiVersion: "v1", kind: "Namespace", metadata: { name: TEAM } }, { metadata: { labels: { "tenantry.dev/metrics-reader": "true" } } }),
    );
  });
});
