// The tenant views on the real control plane, through the real CLI process: status,
// resources, usage, kubeconfig and ctx. Teams view-a and view-b come from the generated admin
// repo; view-a's example app is applied as the team, so the controller-manager makes a
// ReplicaSet, a Pod (stored, never run: there is no kubelet) and an EndpointSlice.

import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { applyObjects } from "../../src/cluster/apply.js";
import { RestClient } from "../../src/cluster/rest.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { KindGroup, TreeNode } from "../../src/views/resources.js";
import { fullestQuota, type QuotaObject, type StatusRow } from "../../src/views/status.js";
import type { UsageView } from "../../src/views/gather.js";
import { findBinary } from "../../src/toolchain.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { cliPath, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, applyDir, client, create, expectForbidden, ignoring, teamAccess, waitFor } from "../helpers/cluster.js";
import { startFaultProxy } from "../helpers/fault-proxy.js";

const TEAM = "view-a";
const OTHER = "view-b";
const SHA = "89abcdef0123456789abcdef0123456789abcdef";

let admin: KubeAccess;
let kubeconfig: string;
let dir: string;

function cli(...args: string[]) {
  return runCli([...args, "--kubeconfig", kubeconfig]);
}

function readQuota(): Promise<QuotaObject> {
  return client(admin).readObject({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace: TEAM } });
}

beforeAll(async () => {
  admin = adminAccess();
  kubeconfig = inject("kubeconfig");
  dir = tempDir();
  const adminRepo = await makeAdminRepo([], ["--cluster-name", "views", "--git-url", "https://git.example.com/acme/admin.git"]);
  const teamRepo = join(dir, "team-repo");
  for (const args of [[TEAM, "--team-repo-dir", teamRepo], [OTHER]]) {
    const r = await runCli(["create-team", ...args], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
  }
  await applyDir(admin, adminRepo);
  // The example app (Deployment podinfo, Service podinfo), applied as the team.
  await applyObjects(teamAccess(TEAM), await buildDir(teamRepo));
  await waitFor("a podinfo pod", async () => ((await client(admin).listObjects("v1", "Pod", TEAM, "app.kubernetes.io/name=podinfo")).items.length > 0 ? true : undefined));
  await waitFor("podinfo's EndpointSlice", async () =>
    (await client(admin).listObjects("discovery.k8s.io/v1", "EndpointSlice", TEAM, "kubernetes.io/service-name=podinfo")).items.length > 0 ? true : undefined,
  );
});

describe("tenantry resources", () => {
  it("shows Deployment → ReplicaSet → Pod and Service → EndpointSlice", async () => {
    const r = await cli("resources", TEAM, "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as { namespace: string; groups: KindGroup[]; skipped: unknown[] };
    expect(view.namespace).toBe(TEAM);
    expect(view.skipped).toEqual([]);
    const root = (kind: string, name: string): TreeNode =>
      view.groups.find((g) => g.kind === kind)?.objects.find((o) => o.name === name) ?? expect.fail(`no ${kind}/${name} at the top: ${r.stdout}`);
    const deployment = root("Deployment", "podinfo");
    const rs = deployment.children.find((c) => c.kind === "ReplicaSet") ?? expect.fail("no ReplicaSet under the Deployment");
    expect(rs.name).toMatch(/^podinfo-/);
    const pod = rs.children.find((c) => c.kind === "Pod") ?? expect.fail("no Pod under the ReplicaSet");
    expect(pod.name).toMatch(new RegExp(`^${rs.name}-`));
    expect(pod.info).toBe("Pending");
    const service = root("Service", "podinfo");
    expect(service.children.some((c) => c.kind === "EndpointSlice" && c.name.startsWith("podinfo"))).toBe(true);
    // Nothing owned shows up at the top level as well.
    expect(view.groups.find((g) => g.kind === "ReplicaSet")?.objects.some((o) => o.name === rs.name)).not.toBe(true);
    expect(view.groups.some((g) => g.kind === "Event")).toBe(false);
  });

  it("draws the ownership tree in the table", async () => {
    const r = await cli("resources", TEAM);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^RESOURCE +STATUS$/m);
    expect(r.stdout).toMatch(/^Deployment\/podinfo +\d\/1 ready\n└─ ReplicaSet\/podinfo-\S+ +\d\/1 ready\n {3}└─ Pod\/podinfo-\S+ +Pending$/m);
    expect(r.stdout).toMatch(/^Service\/podinfo +ClusterIP [\d.]+\n(?:[├└]─ .*\n)*[├└]─ EndpointSlice\/podinfo-\S+/m);
    expect(r.stdout).toMatch(/^ResourceQuota\/tenantry-quota/m);
  });
});

describe("tenantry usage", () => {
  it("reports the ResourceQuota's status, and says metrics-server is missing", async () => {
    // The quota controller may still be counting: compare against a status read before and after.
    const r = await waitFor("a stable quota status", async () => {
      const before = await readQuota();
      const run = await cli("usage", TEAM, "-o", "json");
      const after = await readQuota();
      return JSON.stringify(before.status) === JSON.stringify(after.status) ? { run, quota: after } : undefined;
    });
    expect(r.run.code, r.run.stderr).toBe(0);
    expect(r.run.stderr).toContain("metrics-server is not installed: pod CPU/memory usage is not available");
    const view = JSON.parse(r.run.stdout) as UsageView;
    expect(view.pods).toBeNull();
    const hard = r.quota.status?.hard ?? {};
    const used = r.quota.status?.used ?? {};
    expect(view.quotas).toHaveLength(1);
    expect(Object.fromEntries(view.quotas[0]?.resources.map((x) => [x.resource, x.hard]) ?? [])).toEqual(hard);
    expect(Object.fromEntries(view.quotas[0]?.resources.map((x) => [x.resource, x.used]) ?? [])).toEqual(used);
    expect(Number(used.pods)).toBeGreaterThanOrEqual(1);
    const pods = view.quotas[0]?.resources.find((x) => x.resource === "pods");
    expect(pods?.percent).toBeCloseTo((Number(used.pods) / Number(hard.pods)) * 100, 2);
  });

  it("draws bars in the table", async () => {
    const r = await cli("usage", TEAM);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^QUOTA +RESOURCE +USED +HARD +USAGE$/m);
    expect(r.stdout).toMatch(/^tenantry-quota +pods +\d+ +20 +\[[#.]{10}\] \d+%$/m);
    expect(r.stdout).toMatch(/^tenantry-quota +services\.nodeports +0 +0 +-$/m);
    expect(r.stderr).toContain("metrics-server is not installed");
  });
});

describe("tenantry kubeconfig", () => {
  it("writes a 0600 kubeconfig that works in the team's namespace and nowhere else", async () => {
    const file = join(dir, "view-a.kubeconfig");
    writeFileSync(file, "stale", { mode: 0o644 });
    const r = await cli("kubeconfig", TEAM, "--duration", "1h", "--out", file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Wrote .*view-a\.kubeconfig: context tenantry-view-a, namespace view-a, token valid until \d{4}-/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("insecure-skip-tls-verify");
    const adminCa = admin.cluster.caData;
    const written = parse(text) as { clusters: { cluster: { server: string; "certificate-authority-data": string } }[]; contexts: { name: string; context: { namespace: string } }[] };
    expect(written.clusters[0]?.cluster).toEqual({ server: admin.cluster.server, "certificate-authority-data": adminCa });
    expect(written.contexts[0]).toMatchObject({ name: "tenantry-view-a", context: { namespace: TEAM } });

    const team = RestClient.forConfig(loadAccess(file));
    expect(await team.whoami()).toBe(`system:serviceaccount:${TEAM}:${TEAM}`);
    expect((await team.listObjects("v1", "Pod", TEAM)).items.length).toBeGreaterThan(0);
    await expectForbidden(team.listObjects("v1", "Pod", OTHER));
    await expectForbidden(create(loadAccess(file), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: OTHER } }));
  });

  it("prints to a pipe, as JSON with -o json", async () => {
    const r = await cli("kubeconfig", TEAM, "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(r.stdout) as { "current-context": string; users: { user: { token: string } }[] };
    expect(config["current-context"]).toBe("tenantry-view-a");
    expect(config.users[0]?.user.token.length).toBeGreaterThan(20);
  });

  it("takes the CA from kube-root-ca.crt when the admin kubeconfig has none", async () => {
    const noCa = join(dir, "admin-no-ca.kubeconfig");
    const doc = parse(readFileSync(kubeconfig, "utf8")) as { clusters: { cluster: Record<string, unknown> }[] };
    const cluster = doc.clusters[0]?.cluster ?? expect.fail("no cluster");
    delete cluster["certificate-authority-data"];
    cluster["insecure-skip-tls-verify"] = true;
    writeFileSync(noCa, stringify(doc), { mode: 0o600 });
    const r = await runCli(["kubeconfig", TEAM, "--kubeconfig", noCa]);
    expect(r.code, r.stderr).toBe(0);
    const written = parse(r.stdout) as { clusters: { cluster: Record<string, unknown> }[] };
    expect(written.clusters[0]?.cluster["insecure-skip-tls-verify"]).toBeUndefined();
    const cm = (await client(admin).readObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kube-root-ca.crt", namespace: TEAM } })) as unknown as { data: { "ca.crt": string } };
    expect(Buffer.from(written.clusters[0]?.cluster["certificate-authority-data"] as string, "base64").toString()).toBe(cm.data["ca.crt"]);
  });

  it("refuses a duration out of range", async () => {
    const r = await cli("kubeconfig", TEAM, "--duration", "48h");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--duration 48h is out of range: tokens last from 10m to 24h/);
  });
});

describe("tenantry ctx", () => {
  it("switches to the team and back, leaving everything else byte for byte", async () => {
    const file = join(dir, "user.kubeconfig");
    const original = `# my own kubeconfig: this comment must survive\n${readFileSync(kubeconfig, "utf8")}`;
    writeFileSync(file, original, { mode: 0o600 });
    const adminContext = loadAccess(file).context;

    const to = await runCli(["ctx", TEAM, "--kubeconfig", file]);
    expect(to.code, to.stderr).toBe(0);
    expect(to.stdout).toContain(`Switched to context "tenantry-view-a" (namespace view-a`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const switched = readFileSync(file, "utf8");
    expect(switched.startsWith("# my own kubeconfig: this comment must survive\n")).toBe(true);
    expect(execFileSync(findBinary("kubectl").file, ["--kubeconfig", file, "config", "current-context"], { encoding: "utf8" }).trim()).toBe("tenantry-view-a");
    const asTeam = loadAccess(file);
    expect(asTeam.context).toBe("tenantry-view-a");
    expect(asTeam.namespace).toBe(TEAM);
    // The admin's cluster entry is reused, not copied.
    expect(asTeam.cluster.name).toBe(admin.cluster.name);
    expect(await RestClient.forConfig(asTeam).whoami()).toBe(`system:serviceaccount:${TEAM}:${TEAM}`);

    const back = await runCli(["ctx", "-", "--kubeconfig", file]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`Switched to context "${adminContext}"`);
    const restored = readFileSync(file, "utf8");
    expect(loadAccess(file).context).toBe(adminContext);
    // Only additions: every line of the original is there, in order (current-context included).
    let at = 0;
    const lines = restored.split("\n");
    for (const line of original.split("\n")) {
      const found = lines.indexOf(line, at);
      expect(found, `line ${JSON.stringify(line)} of the original kubeconfig`).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
    const before = parse(original) as Record<string, { name: string }[]>;
    const after = parse(restored) as Record<string, { name: string }[]>;
    for (const section of ["clusters", "users", "contexts"]) {
      for (const entry of before[section] ?? []) expect(after[section]?.find((e) => e.name === entry.name)).toEqual(entry);
    }
    expect(after.contexts?.map((c) => c.name)).toEqual([...(before.contexts ?? []).map((c) => c.name), "tenantry-view-a"]);
  });

  it("from one team's context to another's, mints the token with the admin context it left", async () => {
    const file = join(dir, "hop.kubeconfig");
    copyFileSync(kubeconfig, file);
    for (const team of [TEAM, OTHER]) {
      const r = await runCli(["ctx", team, "--kubeconfig", file]);
      expect(r.code, r.stderr).toBe(0);
    }
    const kc = loadAccess(file);
    expect(kc.context).toBe("tenantry-view-b");
    expect(await RestClient.forConfig(kc).whoami()).toBe(`system:serviceaccount:${OTHER}:${OTHER}`);
    const back = await runCli(["ctx", "-", "--kubeconfig", file, "-o", "json"]);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ context: "tenantry-view-a", previous: "tenantry-view-b" });
  });

  it("refuses an unknown team without touching the kubeconfig", async () => {
    const file = join(dir, "untouched.kubeconfig");
    copyFileSync(kubeconfig, file);
    const r = await runCli(["ctx", "no-such-team", "--kubeconfig", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown team no-such-team: the cluster has no namespace no-such-team/);
    expect(readFileSync(file, "utf8")).toBe(readFileSync(kubeconfig, "utf8"));
  });
});

describe("tenantry status", () => {
  beforeAll(async () => {
    await client(admin).patchStatus({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: TEAM } }, {
      lastAppliedRevision: `main@sha1:${SHA}`,
      lastAttemptedRevision: `main@sha1:${SHA}`,
      inventory: { entries: [{ id: `${TEAM}_podinfo_apps_Deployment`, v: "apps/v1" }, { id: `${TEAM}_podinfo__Service`, v: "v1" }, { id: `${TEAM}_podinfo-allow-http_networking.k8s.io_NetworkPolicy`, v: "networking.k8s.io/v1" }] },
      conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: "applied 3 objects", lastTransitionTime: new Date(Date.now() - 90_000).toISOString().replace(/\.\d+Z$/, "Z") }],
    });
  });

  it("lists the team's GitSync with revision, age, objects and its fullest quota", async () => {
    const r = await cli("status", "-o", "json");
    expect(r.code, r.stderr).toBe(0);
    const row = (JSON.parse(r.stdout) as { gitsyncs: StatusRow[] }).gitsyncs.find((x) => x.namespace === TEAM && x.name === TEAM) ?? expect.fail(r.stdout);
    expect(row).toMatchObject({ team: TEAM, ready: "True", reason: "ReconciliationSucceeded", revision: "main@89abcde", objects: 3 });
    expect(row.age).toMatch(/^\d+s$/);
    expect(Number.parseInt(row.age ?? "", 10)).toBeGreaterThanOrEqual(90);
    const fullest = fullestQuota([await readQuota()]);
    expect(row.quota?.resource).toBe(fullest?.resource);
    const table = await cli("status");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAMESPACE +NAME +TEAM +READY +REASON +REVISION +AGE +OBJECTS +QUOTA$/m);
    expect(table.stdout).toMatch(new RegExp(`^view-a +view-a +view-a +True +ReconciliationSucceeded +main@89abcde +\\d+s +3 +\\S+ \\d+%$`, "m"));
  });

  it("reads the GitSyncs and the team namespaces once for the rows and the policy engines' view, and asks for all lists at once", async () => {
    const proxy = await startFaultProxy(inject("clusterDir"));
    try {
      const proxied = proxy.writeKubeconfig(join(dir, "proxied.kubeconfig"));
      // The GitSyncs' answer is held back 3 s: lists asked one after the other would ask for the
      // quotas only after it, whatever the machine's load (a small answer can come back before
      // a second connection is even made).
      proxy.inject({ match: (q) => q.method === "GET" && q.path === "/apis/tenantry.dev/v1alpha1/gitsyncs", fault: { kind: "delay", ms: 3000 } });
      const r = await runCli(["status", "-o", "json", "--kubeconfig", proxied]);
      expect(r.code, r.stderr).toBe(0);
      const lists = (path: string) => proxy.records.filter((q) => q.method === "GET" && q.path === path);
      expect(lists("/apis/tenantry.dev/v1alpha1/gitsyncs")).toHaveLength(1);
      expect(lists("/api/v1/namespaces")).toHaveLength(1);
      // The quotas were asked for before the GitSyncs' answer came back: not one after the other.
      const [gitsyncs] = lists("/apis/tenantry.dev/v1alpha1/gitsyncs");
      const [quotas] = lists("/api/v1/resourcequotas");
      expect(quotas?.at).toBeLessThanOrEqual(gitsyncs?.done ?? 0);
    } finally {
      await proxy.close();
    }
  });

  it("--watch renders until Ctrl-C, then exits 0", async () => {
    const child = spawn(process.execPath, [cliPath, "status", "--watch", "--kubeconfig", kubeconfig], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => { done(code); }));
    try {
      await waitFor("the first frame", () => Promise.resolve(stdout.includes("main@89abcde") ? true : undefined), 30_000);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/^NAMESPACE +NAME/m);
  });

  it("says so in one line when the API server cannot be reached", async () => {
    const down = join(dir, "down.kubeconfig");
    const doc = parse(readFileSync(kubeconfig, "utf8")) as { clusters: { cluster: { server: string } }[] };
    const cluster = doc.clusters[0]?.cluster ?? expect.fail("no cluster");
    cluster.server = "https://127.0.0.1:1";
    writeFileSync(down, stringify(doc), { mode: 0o600 });
    for (const args of [["status"], ["status", "--watch"], ["resources", TEAM], ["usage", TEAM], ["kubeconfig", TEAM]]) {
      const r = await runCli([...args, "--kubeconfig", down]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(4);
      expect(r.stderr).toBe("tenantry: error: cannot reach the API server at https://127.0.0.1:1 (ECONNREFUSED): check the kubeconfig and that the cluster is up\n");
    }
  });
});

describe("an unknown team", () => {
  // (ctx has its own case above, on a copy of the kubeconfig it would edit.)
  it.each([["resources"], ["usage"], ["kubeconfig"]])("%s: exit 2 with a message", async (command) => {
    const r = await cli(command, "no-such-team");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tenantry: error: unknown team no-such-team: the cluster has no namespace no-such-team: /);
  });

  it("a namespace that is not a team's is not a team", async () => {
    await ignoring([409], create(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: "view-plain" } }));
    const r = await cli("resources", "view-plain");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/namespace view-plain is not labelled tenantry.dev\/team=view-plain/);
  });

  it("an invalid name is refused before asking the cluster", async () => {
    const r = await cli("usage", "Not_A_Team");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a DNS-1123 label/);
  });
});
