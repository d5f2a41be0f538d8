// `npm run demo` (scripts/demo.mjs), driven as a newcomer runs it: its own control plane,
// repos, agent and views. It must exit 0 and show each step's result.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { rowsNeededBy, toolTable } from "../../src/toolchain.js";
import { repoRoot } from "../helpers/cli.js";

function demo(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(repoRoot, "scripts", "demo.mjs"), ...args], { maxBuffer: 32 * 1024 * 1024, timeout: 900_000 }, (err, out, errOut) => {
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout: out, stderr: errOut });
    });
  });
}

it("npm run demo -- --with-controlplane-team runs the whole product, one team on its own API server, and exits 0", async () => {
  const { code, stdout, stderr } = await demo(["--with-controlplane-team"]);
  expect(code, stdout + stderr).toBe(0);
  // It installed exactly the table's rows for the demo (scripts/install-tools.sh --for demo).
  expect(/tools\/tools\.txt rows for the demo: (.*)$/m.exec(stdout)?.[1]).toBe(rowsNeededBy(toolTable(), "demo").map((r) => r.name).join(" "));
  expect(stdout).toMatch(/Created admin repo .* for cluster demo/);
  // status: the admin repo and the web team applied, payments refused
  expect(stdout).toMatch(/^tenantry-system\s+admin\s+-\s+True\s+ReconciliationSucceeded/m);
  expect(stdout).toMatch(/^web\s+web\s+web\s+True\s+ReconciliationSucceeded/m);
  expect(stdout).toMatch(/^payments\s+payments\s+payments\s+False\s+LintFailed/m);
  // resources: the ownership tree of the example app
  expect(stdout).toMatch(/Deployment\/podinfo[\s\S]*ReplicaSet\/podinfo-[\s\S]*Pod\/podinfo-/);
  // usage: quota bars
  // (team web has an app instance, web-shop: one row per namespace, then the team's total against its tier)
  expect(stdout).toMatch(/^web-shop\s+tenantry-quota\s+pods\s+\d+\s+5\s+\[[#.]{10}\]/m);
  expect(stdout).toMatch(/Team web in total \(2 namespaces\) against tier small[^\n]*:\n[\s\S]*^pods\s+\d+\s+20\s+-\s+\[[#.]{10}\]/m);
  expect(stdout).toMatch(/False LintFailed: nothing of main@sha1:[0-9a-f]+ was applied: ClusterRole\/grab-everything is cluster-scoped/);
  // one refusal by each policy engine: the ValidatingAdmissionPolicy refuses data's unpinned pod;
  // with data's binding deleted by hand, Gatekeeper's webhook does, and status names the gap
  expect(stdout).toMatch(/data's GitSync: ApplyFailed: .*ValidatingAdmissionPolicy 'tenantry-image-tags' with binding 'data-image-tags' denied request: tenantry-image-tags: image <ghcr\.io\/stefanprodan\/podinfo:latest>/);
  expect(stdout).toMatch(/admission webhook "validation\.gatekeeper\.sh" denied the request: \[data-image-tags\] tenantry-image-tags: image <ghcr\.io\/stefanprodan\/podinfo:latest>/);
  expect(stdout).toMatch(/^ {2}! ValidatingAdmissionPolicyBinding data-image-tags: missing/m);
  expect(stdout).toMatch(/^data\s+data\s+data\s+False\s+ApplyFailed/m);
  // An app instance of init's template for team web (issue 20), applied by the admin sync.
  expect(stdout).toMatch(/Created app instance shop of team web \(template hello-web, namespace web-shop/);
  expect(stdout).toMatch(/\$ tenantry resources web --app shop\n(?:(?!\$ tenantry)[\s\S])*Deployment\/hello-web/);
  expect(stdout).toMatch(/\$ tenantry resources web --app shop\n(?:(?!\$ tenantry)[\s\S])*ConfigMap\/hello-web/);
  expect(stdout).toMatch(/\$ tenantry usage web --app shop\n(?:(?!\$ tenantry)[\s\S])*tenantry-quota\s+pods\s+\d+\s+5\s+/);
  // the controlplane team: applied into its own API server, its token refused by the host
  expect(stdout).toMatch(/^tenantry-system\s+studio\s+studio\s+True\s+ReconciliationSucceeded/m);
  expect(stdout).toMatch(/^studio\s+studio\s+k8s\s+True\s+Available\s+\S+\s+applied\s+studio-system\/admin-kubeconfig/m);
  expect(stdout).toMatch(/kubectl --kubeconfig studio\.kubeconfig get deployments\nNAME .*\npodinfo /);
  expect(stdout).toMatch(/--server <the host> get pods\n {2}error: You must be logged in to the server \(Unauthorized\)/);
}, 900_000);

it("npm run demo -- --engine flux runs the same product on Flux's controllers and exits 0", async () => {
  const { code, stdout, stderr } = await demo(["--engine", "flux"]);
  expect(code, stdout + stderr).toBe(0);
  // It installed the table's demo rows plus the demo+flux ones.
  expect(/tools\/tools\.txt rows for the demo: (.*)$/m.exec(stdout)?.[1]).toBe(rowsNeededBy(toolTable(), "demo", ["flux"]).map((r) => r.name).join(" "));
  expect(stdout).toMatch(/Bootstrapped \(engine flux\)/);
  // status: Flux's admin sync and the web team applied, payments' ClusterRole refused by the API server as the team
  expect(stdout).toMatch(/^flux-system\s+Kustomization\/flux-system\s+-\s+True\s+ReconciliationSucceeded/m);
  expect(stdout).toMatch(/^web\s+Kustomization\/web\s+web\s+True\s+ReconciliationSucceeded/m);
  expect(stdout).toMatch(/^payments\s+Kustomization\/payments\s+payments\s+False\s+ReconciliationFailed/m);
  expect(stdout).toMatch(/kubectl -n payments get kustomization payments {2}\(Ready condition\)\n {2}False ReconciliationFailed: .*forbidden.*system:serviceaccount:payments:payments/);
  expect(stdout).toMatch(/data's Kustomization: ReconciliationFailed: .*ValidatingAdmissionPolicy 'tenantry-image-tags' with binding 'data-image-tags' denied request/);
  expect(stdout).toMatch(/admission webhook "validation\.gatekeeper\.sh" denied the request: \[data-image-tags\]/);
  expect(stdout).toMatch(/Deployment\/podinfo[\s\S]*ReplicaSet\/podinfo-[\s\S]*Pod\/podinfo-/);
}, 900_000);
