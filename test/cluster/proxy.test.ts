// A kubeconfig with proxy-url (an API server reachable only through a corporate proxy): the
// reconciler's keep-alive client goes through the proxy, as client-node would, and a dead
// proxy is a one-line error naming the server.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";
import { type ConnectProxy, startConnectProxy } from "../helpers/proxy.js";

const NS = "proxy-sync";
let proxy: ConnectProxy;
let repoUrl: string;

/** The test cluster's kubeconfig with `proxy-url` set on its cluster. */
function proxiedKubeconfig(proxyUrl: string): string {
  const doc = parse(readFileSync(inject("kubeconfig"), "utf8")) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const c of doc.clusters) c.cluster["proxy-url"] = proxyUrl;
  const file = join(tempDir(), "kubeconfig");
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  proxy = await startConnectProxy();
  const remote = bareRepo("proxied");
  const work = tempDir();
  git(work, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(work, "kustomization.yaml"), "resources: [app.yaml]\n");
  writeFileSync(join(work, "app.yaml"), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: through-proxy\n  namespace: ${NS}\ndata:\n  via: proxy\n`);
  commitAndPush(work, remote.url);
  repoUrl = remote.url;
});

afterAll(async () => {
  await proxy.close();
});

describe("proxy-url in the kubeconfig", () => {
  it("applies through the proxy", async () => {
    const server = new URL((parse(readFileSync(inject("kubeconfig"), "utf8")) as { clusters: { cluster: { server: string } }[] }).clusters[0]?.cluster.server ?? "");
    const r = await runCli(["sync", "--url", repoUrl, "--kubeconfig", proxiedKubeconfig(proxy.url)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(proxy.connects.length).toBeGreaterThan(0);
    expect(new Set(proxy.connects)).toEqual(new Set([server.host]));
    const cm = (await client(adminAccess()).readObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "through-proxy", namespace: NS } })) as { data?: Record<string, string> };
    expect(cm.data?.via).toBe("proxy");
  });

  it("a proxy that is down: one line naming the API server, exit 4", async () => {
    const dead = await startConnectProxy();
    await dead.close();
    const r = await runCli(["sync", "--url", repoUrl, "--kubeconfig", proxiedKubeconfig(dead.url)]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^tenantry: error: .*(cannot reach|unreachable|ECONNREFUSED)/i);
  });
});
