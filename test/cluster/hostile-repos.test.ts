// A hostile team repo reconciled for real: pushed to a git remote and synced by `tenantry sync`
// both as the central agent (the admin identity, applying as the team by impersonation) and as
// the team's own agent (the team's TokenRequest kubeconfig). Each attack ends in Ready=False
// with its reason, nothing of the revision is applied, nothing is fetched (a local HTTP server
// that the payloads point at logs no request) and nothing is executed (a marker file that
// the payloads would create does not exist). The ordinary repo is applied afterwards, so the
// refusals were the build's, not a broken setup's.

import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import type { KubeAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, readOrNull } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";

const TEAM = "hostile";
let admin: KubeAccess;
let teamKubeconfig = "";
let server: Server;
let base = "";
const requests: string[] = [];
let work = "";
let remote = { path: "", url: "" };
const marker = join(tempDir("tenantry-hostile-marker-"), "PWNED");

type File = string | { symlink: string } | { executable: string };

/** Replaces the team repo's work tree with `files` and pushes it; returns the commit. */
function push(files: Record<string, File>): string {
  for (const name of ["kustomization.yaml", "cm.yaml", "fn.yaml", "touch.sh", "passwd.yaml", "a", "b"]) rmSync(join(work, name), { recursive: true, force: true });
  for (const [path, f] of Object.entries(files)) {
    const p = join(work, path);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof f === "string") writeFileSync(p, f);
    else if ("symlink" in f) symlinkSync(f.symlink, p);
    else {
      writeFileSync(p, f.executable);
      chmodSync(p, 0o755);
    }
  }
  return commitAndPush(work, remote.url, "attack");
}

async function gitSync(): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: TEAM, namespace: TEAM } })) as GitSync;
}

function ready(gs: GitSync) {
  return gs.status?.conditions?.find((c) => c.type === "Ready");
}

const CM = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

beforeAll(async () => {
  admin = adminAccess();
  server = createServer((req, res) => {
    requests.push(`${req.method ?? "?"} ${req.url ?? "?"}`);
    res.end(CM("fetched"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  remote = bareRepo("hostile");
  work = tempDir("tenantry-hostile-work-");
  git(work, "init", "--quiet", "--initial-branch=main");
  const adminRepo = join(tempDir(), "admin");
  expect((await runCli(["init", adminRepo, "--cluster-name", "hostiletest"])).code).toBe(0);
  const ct = await runCli(["create-team", TEAM, "--repo-url", remote.url, "--commit"], { cwd: adminRepo });
  expect(ct.code, ct.stderr).toBe(0);
  // Bootstrap as an admin would, without the shared tenantry-system/admin GitSync.
  await applyObjects(admin, (await buildDir(join(adminRepo, "cluster", "common"))).filter((o) => o.kind !== "GitSync"));
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", TEAM)));
  teamKubeconfig = join(tempDir("tenantry-hostile-kc-"), "team.kubeconfig");
  const kc = await runCli(["kubeconfig", TEAM, "--out", teamKubeconfig, "--kubeconfig", inject("kubeconfig")]);
  expect(kc.code, kc.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const AS = [
  { name: "the central agent (impersonating the team)", kubeconfig: () => inject("kubeconfig") },
  { name: "the team's own agent (its TokenRequest identity)", kubeconfig: () => teamKubeconfig },
];

interface Attack {
  readonly name: string;
  readonly files: () => Record<string, File>;
  readonly reason: string;
  readonly message: RegExp;
}

const ATTACKS: Attack[] = [
  {
    name: "a remote resource in a capitalised field",
    files: () => ({ "kustomization.yaml": `Resources:\n  - ${base}/cm.yaml\n  - cm.yaml\n`, "cm.yaml": CM("local") }),
    reason: "RemoteBaseRefused",
    message: /kustomization\.yaml: resources entry "http:\/\/127\.0\.0\.1:\d+\/cm\.yaml" is a remote base/,
  },
  {
    name: "a remote file through a configMapGenerator",
    files: () => ({ "kustomization.yaml": `resources: [cm.yaml]\nconfigMapGenerator:\n  - name: g\n    files:\n      - key=${base}/token\n`, "cm.yaml": CM("local") }),
    reason: "RemoteBaseRefused",
    message: /configMapGenerator\.files entry/,
  },
  {
    name: "a resource symlinked to a file of the agent's machine",
    files: () => ({ "kustomization.yaml": "resources: [cm.yaml, passwd.yaml]\n", "cm.yaml": CM("local"), "passwd.yaml": { symlink: "/etc/passwd" } }),
    reason: "OutsideCheckout",
    message: /resources entry "passwd\.yaml" leads outside the checkout/,
  },
  {
    name: "an exec function that would run a script",
    files: () => ({
      "kustomization.yaml": "resources: [cm.yaml]\ntransformers: [fn.yaml]\n",
      "cm.yaml": CM("local"),
      "fn.yaml": "apiVersion: example.com/v1\nkind: Touch\nmetadata:\n  name: t\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./touch.sh\n",
      "touch.sh": { executable: `#!/bin/sh\ntouch ${marker}\n` },
    }),
    reason: "BuildFailed",
    message: /^kustomize build \. failed: /,
  },
  {
    name: "a cycle among kustomizations",
    files: () => ({ "kustomization.yaml": "resources: [a]\n", "a/kustomization.yaml": "resources: [../b]\n", "b/kustomization.yaml": "resources: [../a]\n" }),
    reason: "BuildFailed",
    message: /kustomizations form a cycle: a -> b -> a/,
  },
];

describe.each(AS)("a hostile team repo synced by $name", (as) => {
  for (const attack of ATTACKS) {
    it(`${attack.name}: Ready=False ${attack.reason}, nothing applied, fetched or executed`, async () => {
      const sha = push(attack.files());
      const r = await runCli(["sync", "--namespace", TEAM, "--name", TEAM, "--kubeconfig", as.kubeconfig()]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const gs = await gitSync();
      const cond = ready(gs);
      expect(cond?.status).toBe("False");
      expect(cond?.reason).toBe(attack.reason);
      expect(cond?.message).toMatch(attack.message);
      expect(gs.status?.lastAttemptedRevision).toBe(`main@sha1:${sha}`);
      expect(await readOrNull(admin, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "local", namespace: TEAM } })).toBeNull();
      expect(requests).toEqual([]);
      expect(existsSync(marker)).toBe(false);
    });
  }

  it("the ordinary repo is applied by the same setup", async () => {
    push({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM("local") });
    const r = await runCli(["sync", "--namespace", TEAM, "--name", TEAM, "--kubeconfig", as.kubeconfig()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(ready(await gitSync())?.status).toBe("True");
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "local", namespace: TEAM } })).not.toBeNull();
    // Back to nothing applied, so the next identity's attacks start from the same place.
    await client(admin).deleteObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "local", namespace: TEAM } });
  });
});
