// The API server's ConfigMap param informer across the deletion of the last team
// (kubernetes/kubernetes#130887), on the real control plane: kube-apiserver stops the informer
// once no ValidatingAdmissionPolicyBinding uses a policy whose paramKind is v1 ConfigMap, and
// never starts it again, so a team created later is refused "no params found" and a changed
// `<team>-policy` is never seen. cluster/common's binding tenantry-param-anchor
// (admission-policies/param-anchor.yaml) selects nothing and keeps it running. The sequence
// is tenantry's own: create-team, delete-team + push (the admin sync prunes the bindings),
// more than a second with no team, create-team + push, then a change of the new team's
// registries. Without the anchor, the new team's pods are refused "failed to configure
// binding: no params found"; with it, they are judged with the team's parameters.

import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { ApiRefusal } from "../../src/cluster/api-errors.js";
import type { KubeObject } from "../../src/model/object.js";
import { PARAM_ANCHOR } from "../../src/plan/risks.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, ignoring, outcome, readOrNull, teamAccess, waitFor } from "../helpers/cluster.js";
import { bareRepo, commitAndPush } from "../helpers/git.js";

const OLD = "pa-old";
const NEW = "pa-new";
const VAP = "admissionregistration.k8s.io/v1";
const REGISTRIES = "tenantry-allowed-registries";
const FOREIGN = "docker.io/library/nginx:1.27";

let admin: KubeAccess;
let adminRepo: string;
let remote: { path: string; url: string };

async function syncAdmin(): Promise<void> {
  const s = await runCli(["sync", "--once", "--namespace", "tenantry-system", "--name", "admin", "--kubeconfig", inject("kubeconfig")]);
  expect(s.code, s.stdout + s.stderr).toBe(0);
}

async function createTeam(team: string, registry: string): Promise<void> {
  const r = await runCli(["create-team", team, "--registry", registry, "--repo-url", `file://${tempDir()}/${team}.git`, "--commit"], { cwd: adminRepo });
  expect(r.code, r.stderr).toBe(0);
  commitAndPush(adminRepo, remote.url);
  await syncAdmin();
}

async function deleteTeam(team: string): Promise<void> {
  const r = await runCli(["delete-team", team, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
  expect(r.code, r.stderr).toBe(0);
  commitAndPush(adminRepo, remote.url);
  await syncAdmin();
  await waitFor(`namespace ${team} to be gone`, async () => ((await readOrNull(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: team } })) === null ? true : undefined), 90_000);
}

/** A pod every rule bound in `namespace` admits but for its image (and Pod Security restricted). */
function pod(namespace: string, image: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app", namespace },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "app",
          image,
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m", memory: "32Mi" } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

/** The API server's answer to creating `p` as its team (a server-side dry run: admission runs, nothing is stored). */
function tryPod(team: string, p: KubeObject): Promise<ApiRefusal | undefined> {
  return outcome(client(teamAccess(team)).createObject(p, { dryRun: true }));
}

/**
 * Bindings take effect a moment after they are applied (the API server recompiles them every
 * second, and a param informer it has just started needs a moment to list): waits (≤ 20 s)
 * until `image` is refused in `team`'s namespace, and returns that refusal, whatever else it says.
 */
async function firstRefusal(team: string, image: string): Promise<ApiRefusal> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await tryPod(team, pod(team, image));
    if (r !== undefined && !r.message.includes("not yet synced")) return r;
    if (Date.now() > deadline) return expect.fail(`image ${image} not refused in ${team} after 20 s (last answer: ${r?.message ?? "admitted"}): its registries binding is not enforced`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** Refused by the registries policy through the team's binding, naming the image: judged with the team's parameters. */
function expectRegistryRefusal(r: ApiRefusal, team: string, image: string, allowed: string): void {
  expect(r.message, r.message).not.toContain("no params found");
  expect(r.code, r.message).toBe(403);
  expect(r.message).toContain(`ValidatingAdmissionPolicy '${REGISTRIES}' with binding '${team}-registries' denied request: ${REGISTRIES}: image <${image}> of container <app> is not from an allowed registry`);
  expect(r.message).toContain(allowed);
}

/** The bindings of policies whose paramKind is v1 ConfigMap: what keeps the API server's ConfigMap informer running. */
async function configMapParamBindings(): Promise<KubeObject[]> {
  const policies = (await client(admin).listObjects(VAP, "ValidatingAdmissionPolicy")).items;
  const takeConfigMaps = new Set(policies.filter((p) => JSON.stringify((p as { spec?: { paramKind?: unknown } }).spec?.paramKind) === JSON.stringify({ apiVersion: "v1", kind: "ConfigMap" })).map((p) => p.metadata.name));
  const bindings = (await client(admin).listObjects(VAP, "ValidatingAdmissionPolicyBinding")).items;
  return bindings.filter((b) => takeConfigMaps.has((b as { spec?: { policyName?: string } }).spec?.policyName ?? ""));
}

beforeAll(async () => {
  admin = adminAccess();
  remote = bareRepo("admin-anchor");
  adminRepo = join(tempDir(), "admin");
  const init = await runCli(["init", adminRepo, "--cluster-name", "anchortest", "--policy-engine", "vap", "--git-url", remote.url]);
  expect(init.code, init.stderr).toBe(0);
  commitAndPush(adminRepo, remote.url);
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", "common")));
  await syncAdmin();
});

describe("the param anchor keeps later teams' parameters seen (kubernetes/kubernetes#130887)", () => {
  it("cluster/common applies the anchor: it names a ConfigMap-paramKind policy and selects no namespace", async () => {
    const anchor = await readOrNull(admin, { apiVersion: VAP, kind: "ValidatingAdmissionPolicyBinding", metadata: { name: PARAM_ANCHOR } });
    expect(anchor, "binding tenantry-param-anchor is not on the cluster").not.toBeNull();
    expect((await configMapParamBindings()).map((b) => b.metadata.name)).toContain(PARAM_ANCHOR);
  });

  it("a first team's pods are judged with its parameters", async () => {
    await createTeam(OLD, "ghcr.io/acme/");
    expectRegistryRefusal(await firstRefusal(OLD, FOREIGN), OLD, FOREIGN, "ghcr.io/acme/");
    const ok = await tryPod(OLD, pod(OLD, "ghcr.io/acme/app:1.0"));
    expect(ok?.message, "refused").toBeUndefined();
  });

  it("delete-team + push of the last team: no team's binding is left, then more than a second passes", async () => {
    await deleteTeam(OLD);
    // Other files of this project may leave bindings they applied by hand (policies.test.ts
    // does): the sequence needs none but the anchor, as on a cluster whose last team is gone.
    const leftovers = (await configMapParamBindings()).filter((b) => b.metadata.name !== PARAM_ANCHOR);
    for (const b of leftovers) await ignoring([404], client(admin).deleteObject({ apiVersion: VAP, kind: "ValidatingAdmissionPolicyBinding", metadata: { name: b.metadata.name } }));
    await waitFor("no ConfigMap-param binding but the anchor", async () => ((await configMapParamBindings()).every((b) => b.metadata.name === PARAM_ANCHOR) ? true : undefined), 20_000);
    // The API server recomputes its policies every second and stops unused param informers then.
    await new Promise((done) => setTimeout(done, 3_000));
  });

  it("a team created afterwards: a pod from a foreign registry is refused by the registries policy (not 'no params found'), a compliant one admitted", async () => {
    await createTeam(NEW, "ghcr.io/acme/");
    expectRegistryRefusal(await firstRefusal(NEW, FOREIGN), NEW, FOREIGN, "ghcr.io/acme/");
    const ok = await tryPod(NEW, pod(NEW, "ghcr.io/acme/app:1.0"));
    expect(ok?.message, "refused").toBeUndefined();
  });

  it("a change of its registries afterwards takes effect: the removed registry is refused, the new one admitted", async () => {
    await createTeam(NEW, "quay.io/acme/");
    expectRegistryRefusal(await firstRefusal(NEW, "ghcr.io/acme/app:1.0"), NEW, "ghcr.io/acme/app:1.0", "quay.io/acme/");
    const ok = await tryPod(NEW, pod(NEW, "quay.io/acme/app:1.0"));
    expect(ok?.message, "refused").toBeUndefined();
  });

  // The admin GitSync is shared by the cluster files: leave its inventory without the team.
  it("delete-team + push: the team is pruned, the anchor stays", async () => {
    await deleteTeam(NEW);
    expect((await configMapParamBindings()).map((b) => b.metadata.name)).toEqual([PARAM_ANCHOR]);
  });
});
