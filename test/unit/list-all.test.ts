// RestClient.listAll asks for a whole list in one request: without a limit the API server
// serves a consistent list from its watch cache, where pages are read from etcd (the figures
// are in src/cluster/rest.ts and docs/performance.md). A server that pages anyway is followed
// to the end. The requests are read at a plain HTTP server standing in for the API server.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { accessFromKubeconfigText } from "../../src/cluster/access.js";
import { RestClient } from "../../src/cluster/rest.js";

const asked: URLSearchParams[] = [];
let server: Server;
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    asked.push(url.searchParams);
    const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "t" } });
    res.setHeader("Content-Type", "application/json");
    // "/paged" pages by itself: two items, then a continue token, then the last one.
    if (url.pathname === "/paged" && url.searchParams.get("continue") === null) res.end(JSON.stringify({ kind: "List", metadata: { continue: "next" }, items: [cm("a"), cm("b")] }));
    else if (url.pathname === "/paged") res.end(JSON.stringify({ kind: "List", metadata: { continue: "" }, items: [cm("c")] }));
    else res.end(JSON.stringify({ kind: "List", metadata: {}, items: [cm("a"), cm("b"), cm("c")] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => { resolve(); }));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function client(): RestClient {
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const r = accessFromKubeconfigText(stringify({ "current-context": "c", clusters: [{ name: "c", cluster: { server: url } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }] }));
  if (!("access" in r)) throw new Error(r.problem);
  return RestClient.forConfig(r.access);
}

describe("RestClient.listAll", () => {
  it("asks for the whole list in one request: no limit, the label selector passed on", async () => {
    asked.length = 0;
    const items = await client().listAll("/whole", "tenantry.dev/team");
    expect(items.map((o) => o.metadata.name)).toEqual(["a", "b", "c"]);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.has("limit")).toBe(false);
    expect(asked[0]?.get("labelSelector")).toBe("tenantry.dev/team");
  });

  it("follows a server that pages anyway to its last page", async () => {
    asked.length = 0;
    const items = await client().listAll("/paged");
    expect(items.map((o) => o.metadata.name)).toEqual(["a", "b", "c"]);
    expect(asked.map((q) => q.get("continue"))).toEqual([null, "next"]);
    expect(asked.every((q) => !q.has("limit"))).toBe(true);
  });
});
