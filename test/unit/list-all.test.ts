// RestClient.listAll asks the kubeconfig's API server for a whole list in one request: without
// a limit the API server serves a consistent list from its watch cache, where pages are read
// from etcd (the figures are in src/cluster/rest.ts and docs/performance.md). A server that
// pages anyway is followed to the end. A server whose answers are capped (a controlplane
// team's own) is asked page by page, and all pages share the one cap: endless `continue`
// tokens end in "response too large". The requests are read at a plain HTTP server standing in
// for the API server.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { accessFromKubeconfigText, KUBECONFIG_RESPONSE_MAX_BYTES } from "../../src/cluster/access.js";
import { ClusterConnectionError } from "../../src/cluster/api-errors.js";
import { RestClient } from "../../src/cluster/rest.js";

const MiB = 1024 * 1024;
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
    // "/endless" answers every page with 1 MiB and another continue token.
    else if (url.pathname === "/endless") res.end(JSON.stringify({ kind: "List", metadata: { continue: `n${String(asked.length)}` }, items: [{ ...cm("big"), data: { x: "x".repeat(MiB) } }] }));
    else res.end(JSON.stringify({ kind: "List", metadata: {}, items: [cm("a"), cm("b"), cm("c")] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => { resolve(); }));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** A client of the stand-in server: `capped` as a Secret's kubeconfig is (a controlplane team's API server), else as the admin's. */
function client(capped = false): RestClient {
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const r = accessFromKubeconfigText(stringify({ "current-context": "c", clusters: [{ name: "c", cluster: { server: url } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }] }));
  if (!("access" in r)) throw new Error(r.problem);
  expect(r.access.maxResponseBytes).toBe(KUBECONFIG_RESPONSE_MAX_BYTES);
  return RestClient.forConfig(capped ? r.access : { ...r.access, maxResponseBytes: undefined });
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

  it("from a capped server: pages of 500 that share the cap, so endless continue tokens end in 'response too large'", async () => {
    asked.length = 0;
    const items = await client(true).listAll("/paged");
    expect(items.map((o) => o.metadata.name)).toEqual(["a", "b", "c"]);
    expect(asked.map((q) => q.get("limit"))).toEqual(["500", "500"]);
    asked.length = 0;
    const e: unknown = await client(true).listAll("/endless").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClusterConnectionError);
    expect((e as Error).message).toMatch(/answered GET \/endless with more than \d+ bytes: response too large/);
    // 32 MiB in all: about 32 pages of 1 MiB, not one cap per page.
    expect(asked.length).toBeGreaterThan(20);
    expect(asked.length).toBeLessThanOrEqual(33);
  });
});
