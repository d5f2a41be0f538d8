// `tenantry status` tells when a policy engine stops enforcing, proven against the real
// Gatekeeper manager and API server: an admin repo with the default engine (both) is reconciled
// by `tenantry sync` from a git remote (so its GitSync's inventory says what should exist),
// then one piece at a time is taken away — a constraint, a policy binding, Gatekeeper's
// webhook registration, the webhook's reachability — or a template that cannot compile is
// added, and status must name each gap; a reconcile puts the admin repo's pieces back.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { EnforcementView, Finding } from "../../src/views/enforcement.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, create, ignoring } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";

const TEAM = "enf";
const SYNC = "enf-admin";
const WEBHOOK = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "gatekeeper-validating-webhook-configuration" } };
let admin: KubeAccess;

async function syncAdmin(): Promise<void> {
  const r = await runCli(["sync", "--namespace", "tenantry-system", "--name", SYNC, "--kubeconfig", inject("kubeconfig")]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

async function status(): Promise<{ view: EnforcementView; table: string }> {
  const json = await runCli(["status", "-o", "json", "--kubeconfig", inject("kubeconfig")]);
  expect(json.code, json.stderr).toBe(0);
  const table = await runCli(["status", "--kubeconfig", inject("kubeconfig")]);
  expect(table.code, table.stderr).toBe(0);
  return { view: (JSON.parse(json.stdout) as { enforcement: EnforcementView }).enforcement, table: table.stdout };
}

/** This file's findings (other files' admin repos share the cluster), and the webhook's. */
function ours(v: EnforcementView): Finding[] {
  return v.findings.filter((f) => f.object.includes(TEAM) || f.object.includes("tenantrybroken") || f.object.includes("gatekeeper-validating-webhook-configuration"));
}

/** Polls status (≤ 30 s) until `want` holds for this file's findings. */
async function until(what: string, want: (f: Finding[]) => boolean): Promise<{ findings: Finding[]; table: string }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { view, table } = await status();
    const findings = ours(view);
    if (want(findings)) return { findings, table };
    if (Date.now() > deadline) expect.fail(`${what}: status still says ${JSON.stringify(findings)}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}

beforeAll(async () => {
  admin = adminAccess();
  const remote = bareRepo("enf-admin");
  const adminRepo = join(tempDir(), "admin");
  expect((await runCli(["init", adminRepo, "--cluster-name", "enftest"])).code).toBe(0);
  const ct = await runCli(["create-team", TEAM, "--repo-url", "https://git.example.com/acme/enf.git", "--commit"], { cwd: adminRepo });
  expect(ct.code, ct.stderr).toBe(0);
  commitAndPush(adminRepo, remote.url, "admin");
  const common = await buildDir(join(adminRepo, "cluster", "common"));
  await applyObjects(admin, common.filter((o) => o.kind === "CustomResourceDefinition" || o.kind === "Namespace"));
  await apply(admin, { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: SYNC, namespace: "tenantry-system" }, spec: { url: remote.url, ref: { branch: "main" }, path: "./", interval: "1h", prune: false } });
  await syncAdmin();
}, 180_000);

afterAll(async () => {
  await ignoring([404], client(admin).deleteObject({ apiVersion: "templates.gatekeeper.sh/v1", kind: "ConstraintTemplate", metadata: { name: "tenantrybroken" } }));
});

describe("tenantry status, for the policy engines", () => {
  it("with everything in place: both engines used, every constraint of the team enforced, no gap", async () => {
    const { findings, table } = await until("all enforced", (f) => f.length === 0);
    expect(findings).toEqual([]);
    const { view } = await status();
    expect(view.gatekeeper.used && view.vap.used).toBe(true);
    expect(table).toMatch(/^Gatekeeper: \d+ templates, \d+ of \d+ constraints enforced, \d+ audit violations; /m);
    expect(table).toMatch(/^ValidatingAdmissionPolicies: \d+ policies, \d+ bindings; /m);
  });

  it("names a constraint the admin repo applied and someone deleted, and a missing policy binding; a reconcile restores both", async () => {
    await client(admin).deleteObject({ apiVersion: "constraints.gatekeeper.sh/v1beta1", kind: "TenantryImageTags", metadata: { name: `${TEAM}-image-tags` } });
    await client(admin).deleteObject({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: `${TEAM}-registries` } });
    const { findings, table } = await until("the gaps named", (f) => f.length === 2);
    expect(findings.map((f) => [f.engine, f.object])).toEqual([
      ["gatekeeper", `constraint TenantryImageTags/${TEAM}-image-tags`],
      ["vap", `ValidatingAdmissionPolicyBinding ${TEAM}-registries`],
    ]);
    expect(findings[0]?.problem).toMatch(/^missing: not enforced/);
    expect(findings[1]?.problem).toMatch(/^missing: its policy is not enforced there/);
    expect(table).toContain(`  ! constraint TenantryImageTags/${TEAM}-image-tags: missing: not enforced`);
    await syncAdmin();
    await until("restored by a reconcile", (f) => f.length === 0);
  });

  it("names a tenantry template Gatekeeper cannot compile: its constraint kind is never made", async () => {
    await create(admin, {
      apiVersion: "templates.gatekeeper.sh/v1",
      kind: "ConstraintTemplate",
      metadata: { name: "tenantrybroken", labels: { "app.kubernetes.io/managed-by": "tenantry" } },
      spec: { crd: { spec: { names: { kind: "TenantryBroken" } } }, targets: [{ target: "admission.k8s.gatekeeper.sh", rego: "package tenantrybroken\nviolation[{\"msg\": msg}] { msg := undefined_thing }\n" }] },
    });
    const { findings } = await until("the broken template named", (f) => f.some((x) => x.object === "ConstraintTemplate tenantrybroken" && /undefined_thing|rego_/.test(x.problem)));
    expect(findings.find((x) => x.object === "ConstraintTemplate tenantrybroken")?.problem).toMatch(/^Gatekeeper has not created its constraint kind: /);
    await client(admin).deleteObject({ apiVersion: "templates.gatekeeper.sh/v1", kind: "ConstraintTemplate", metadata: { name: "tenantrybroken" } });
    await until("gone with it", (f) => f.length === 0);
  });

  it("says when Gatekeeper's webhook is not registered, and when the API server cannot reach it", async () => {
    const saved = await client(admin).readObject(WEBHOOK);
    const restore = async (): Promise<void> => {
      await ignoring([404], client(admin).deleteObject(WEBHOOK));
      await create(admin, { ...saved, metadata: { name: saved.metadata.name, labels: saved.metadata.labels } });
    };
    try {
      await client(admin).deleteObject(WEBHOOK);
      const gone = await until("webhook missing", (f) => f.some((x) => x.object.includes("gatekeeper-validating-webhook-configuration")));
      const missing = gone.findings.find((f) => f.object === "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration");
      expect(missing?.engine).toBe("gatekeeper");
      expect(missing?.problem).toMatch(/^missing: Gatekeeper's webhook is not registered/);

      // Registered, but pointing where nothing listens (as after the manager dies).
      const webhooks = (saved as unknown as { webhooks: { clientConfig: { url: string } }[] }).webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, url: w.clientConfig.url.replace(/:\d+\//, ":1/") } }));
      await create(admin, { ...saved, metadata: { name: saved.metadata.name }, webhooks });
      const down = await until("webhook unreachable", (f) => f.some((x) => x.problem.startsWith("the API server cannot reach Gatekeeper's webhook")));
      expect(down.table).toMatch(/! ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration: the API server cannot reach Gatekeeper's webhook \(.*failed calling webhook.*\); with failurePolicy Ignore every request is admitted meanwhile/);
    } finally {
      await restore();
    }
    await until("the webhook answers again", (f) => f.length === 0);
  });
});
