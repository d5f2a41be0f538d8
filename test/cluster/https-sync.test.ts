// A GitSync over HTTPS with a token and a private CA, on the real control plane: the Secret's
// username, password and ca.crt reach git (a real git http-backend behind TLS), the repo is
// applied, and a revoked token is a clear Ready=False that prunes nothing.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyObjects } from "../../src/cluster/apply.js";
import { buildDir } from "../../src/build/kustomize.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { reconcile } from "../../src/sync/reconcile.js";
import { RenderCache } from "../../src/sync/render-cache.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, namespaceEditor, readOrNull } from "../helpers/cluster.js";
import { commitAndPush, git } from "../helpers/git.js";
import { type GitHttpServer, startGitHttpServer } from "../helpers/githttp.js";

const NS = "https-sync";
const TOKEN = "gh-https-sync-token";
let admin: KubeAccess;
let server: GitHttpServer;
let work: string;
let remote: string;

function sync() {
  return runCli(["sync", "--once", "--namespace", NS, "--name", "app", "--kubeconfig", inject("kubeconfig")]);
}

function secret(password: string) {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return { apiVersion: "v1", kind: "Secret", metadata: { name: "app-git", namespace: NS }, data: { username: b64("deploy"), password: b64(password), "ca.crt": b64(server.caCert) } };
}

async function configMapValue(): Promise<string | undefined> {
  const cm = (await readOrNull(admin, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "from-https", namespace: NS } })) as { data?: Record<string, string> } | null;
  return cm?.data?.v;
}

function writeApp(v: string): string {
  writeFileSync(join(work, "kustomization.yaml"), "resources: [cm.yaml]\n");
  writeFileSync(join(work, "cm.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-https\n  namespace: ${NS}\ndata:\n  v: "${v}"\n`);
  return commitAndPush(work, remote, `v${v}`);
}

beforeAll(async () => {
  admin = adminAccess();
  // The GitSync CRD, as an admin repo's cluster/common bootstraps it.
  const init = join(tempDir(), "admin");
  expect((await runCli(["init", init, "--cluster-name", "httpstest"])).code).toBe(0);
  await applyObjects(admin, (await buildDir(join(init, "cluster", "common"))).filter((o) => o.kind === "CustomResourceDefinition"));
  const root = tempDir();
  git(root, "init", "--quiet", "--bare", "--initial-branch=main", "app.git");
  remote = join(root, "app.git");
  work = tempDir();
  git(work, "init", "--quiet", "--initial-branch=main");
  server = await startGitHttpServer(root, "deploy", TOKEN);
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await namespaceEditor(admin, NS, "app");
  await apply(admin, secret(TOKEN));
  await apply(admin, {
    apiVersion: "tenantry.dev/v1alpha1",
    kind: "GitSync",
    metadata: { name: "app", namespace: NS },
    spec: { url: `${server.url}/app.git`, ref: { branch: "main" }, path: "./", interval: "5m", prune: true, serviceAccountName: "app", secretRef: { name: "app-git" } },
  });
});

afterAll(async () => {
  await server.close();
});

describe("a GitSync over HTTPS", () => {
  it("fetches with the Secret's token and CA and applies the repo", async () => {
    const sha = writeApp("1");
    const r = await sync();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await configMapValue()).toBe("1");
    const gs = (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "app", namespace: NS } })) as GitSync;
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(server.requests.some((q) => q.user === "deploy")).toBe(true);
  });

  it("a resync of an unchanged commit asks the remote (ls-remote) and clones nothing; a new commit is fetched", async () => {
    const renders = new RenderCache();
    const gs = (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "app", namespace: NS } })) as GitSync;
    const uploads = (): number => server.commands.filter((c) => c === "fetch").length;
    const first = await reconcile(gs, { agent: admin, renders });
    expect(first.ready, first.message).toBe(true);
    const afterFirst = uploads();
    const requestsBefore = server.requests.length;
    const again = await reconcile(gs, { agent: admin, renders });
    // It did ask the remote (the commit could have moved), but fetched nothing.
    expect(server.requests.length).toBeGreaterThan(requestsBefore);
    expect(again.ready, again.message).toBe(true);
    expect(again.revision).toBe(first.revision);
    expect(uploads()).toBe(afterFirst);
    const sha = writeApp("3");
    const changed = await reconcile(gs, { agent: admin, renders });
    expect(changed.revision).toBe(`main@sha1:${sha}`);
    expect(uploads()).toBeGreaterThan(afterFirst);
    expect(await configMapValue()).toBe("3");
  });

  it("a revoked token: Ready=False naming the credentials, the applied objects stay", async () => {
    await apply(admin, secret("revoked"));
    writeApp("4");
    const r = await sync();
    expect(r.code).toBe(1);
    const gs = (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "app", namespace: NS } })) as GitSync;
    const ready = gs.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.status).toBe("False");
    expect(ready?.reason).toBe("GitOperationFailed");
    expect(ready?.message).toMatch(/refused the username and password \(token\) in the GitSync's Secret/);
    expect(ready?.message).not.toContain("revoked");
    expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
    expect(await configMapValue()).toBe("3");
    expect(readFileSync(join(work, "cm.yaml"), "utf8")).toContain('"4"');
  });
});
