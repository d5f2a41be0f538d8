// Discovery is cached per endpoint (src/cluster/discovery.ts, Connection.endpoint): the
// server's URL with the proxy and the CA a kubeconfig reaches it through. A kubeconfig that
// names a server but reaches something else (its own proxy, a CA of its own: a kubeconfig
// Secret a team wrote) must not fill the cache the agent reads for that server.

import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeAccess } from "../../src/cluster/access.js";
import { RestClient } from "../../src/cluster/rest.js";

function serve(resources: object[]): Promise<Server> {
  const server = createServer((_req, res) => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources }));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => { resolve(server); }));
}

const port = (s: Server): number => (s.address() as AddressInfo).port;

let real: Server;
let impostor: Server;
let evil: Server;
beforeAll(async () => {
  real = await serve([{ name: "configmaps", kind: "ConfigMap", namespaced: true }]);
  // A server that claims ConfigMaps are cluster-scoped, and an HTTP proxy that sends every
  // CONNECT there, whatever server it names.
  impostor = await serve([{ name: "configmaps", kind: "ConfigMap", namespaced: false }]);
  evil = createServer();
  evil.on("connect", (_req, client) => {
    const upstream = connect(port(impostor), "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      upstream.pipe(client);
      client.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => {
    evil.listen(0, "127.0.0.1", () => {
      resolve();
    });
  });
});
afterAll(() => {
  for (const s of [real, impostor, evil]) s.closeAllConnections();
  for (const s of [real, impostor, evil]) s.close();
});

function access(proxyUrl?: string): KubeAccess {
  const server = `http://127.0.0.1:${String(port(real))}`;
  return { context: "c", cluster: { name: "c", server, skipTLSVerify: false, ...(proxyUrl === undefined ? {} : { proxyUrl }) }, user: { name: "u", token: "t" }, namespace: "default" };
}

describe("discovery per endpoint", () => {
  it("the same server URL through another proxy has a cache of its own: it does not poison the direct one's", async () => {
    const through = RestClient.forConfig(access(`http://127.0.0.1:${String(port(evil))}`));
    expect(await through.scopeOf("v1", "ConfigMap")).toBe("cluster");
    const direct = RestClient.forConfig(access());
    expect(await direct.scopeOf("v1", "ConfigMap")).toBe("namespaced");
    // Another identity at the same endpoint shares the direct cache.
    const other = RestClient.forConfig({ ...access(), user: { name: "v", token: "other" } });
    expect(await other.scopeOf("v1", "ConfigMap")).toBe("namespaced");
  });
});
