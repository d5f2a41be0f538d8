// What the reflector (src/cluster/reflector.ts) does with answers a fresh local control plane
// does not give on demand, played by a loopback server speaking the API server's list and
// watch protocol: a version too old to watch from, as an ERROR event and as an HTTP 410,
// makes it list again; a server that ends every watch at once is not watched in a busy loop;
// an event larger than the bound breaks the watch instead of being buffered. The real API
// server's list, watch, end of watch and broken connection: test/cluster/reflector.test.ts.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { accessFromKubeconfigText, withSignal } from "../../src/cluster/access.js";
import { Reflector } from "../../src/cluster/reflector.js";
import { RestClient } from "../../src/cluster/rest.js";

type Watch = (res: ServerResponse, from: string) => void;

const cm = (name: string, value: string, rv: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "t", resourceVersion: rv }, data: { value } });

/** A server whose list answers `items` at version `listVersion()`, and whose watches `watch` answers. */
async function fakeApi(items: () => object[], listVersion: () => string, watch: Watch): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(`${url.pathname}?${url.searchParams.get("watch") === "1" ? `watch from ${url.searchParams.get("resourceVersion") ?? ""}` : "list"}`);
    res.setHeader("Content-Type", "application/json");
    if (url.pathname === "/api/v1") {
      res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true }] }));
    } else if (url.searchParams.get("watch") === "1") {
      watch(res, url.searchParams.get("resourceVersion") ?? "");
    } else {
      res.end(JSON.stringify({ kind: "ConfigMapList", metadata: { resourceVersion: listVersion() }, items: items() }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => { resolve(); }));
  return { server, url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, requests };
}

const open: { server: Server; stop: AbortController; running: Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.stop.abort();
    await o.running;
    o.server.closeAllConnections();
    o.server.close();
  }
});

function reflect(api: { server: Server; url: string }, maxEventBytes?: number, idleMs?: number): { r: Reflector<string>; errors: unknown[] } {
  const text = stringify({ "current-context": "c", clusters: [{ name: "c", cluster: { server: api.url } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }] });
  const parsed = accessFromKubeconfigText(text);
  if (!("access" in parsed)) throw new Error(parsed.problem);
  const stop = new AbortController();
  const errors: unknown[] = [];
  const r = new Reflector<string>({
    client: RestClient.forConfig(withSignal(parsed.access, stop.signal)),
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "t",
    project: (o) => (o as { data?: { value?: string } }).data?.value ?? "",
    retryMs: 50,
    ...(maxEventBytes === undefined ? {} : { maxEventBytes }),
    ...(idleMs === undefined ? {} : { idleMs }),
    onError: (e) => errors.push(e),
  });
  open.push({ server: api.server, stop, running: r.run(stop.signal) });
  return { r, errors };
}

const until = async (what: string, ok: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** Holds a watch open, sending `events` first. */
const holding = (res: ServerResponse, events: object[] = []): void => {
  res.writeHead(200);
  res.flushHeaders(); // the API server answers a watch's headers at once
  for (const e of events) res.write(`${JSON.stringify(e)}\n`);
};

describe("the reflector against a server that compacted its version", () => {
  it("lists again on an ERROR event with code 410, and keeps what the new list says", async () => {
    let value = "one";
    let watches = 0;
    const api = await fakeApi(() => [cm("a", value, "10")], () => (value === "one" ? "10" : "20"), (res) => {
      watches += 1;
      if (watches === 1) {
        value = "two"; // changed while the version went out of the server's window
        holding(res, [{ type: "ERROR", object: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410, message: "too old resource version: 10 (15)" } }]);
        res.end();
      } else holding(res);
    });
    const { r, errors } = reflect(api);
    await until("the second list", () => r.lists === 2);
    await until("the watch from the second list's version", () => api.requests.includes("/api/v1/namespaces/t/configmaps?watch from 20"));
    expect(r.snapshot().get("t/a")).toBe("two");
    expect(api.requests.filter((q) => q === "/api/v1/namespaces/t/configmaps?list")).toHaveLength(2);
    expect(errors.map((e) => String(e))).toEqual(["ApiError: HTTP 410: too old resource version: 10 (15)"]); // said, for the log
  });

  it("lists again on an HTTP 410 answer to the watch", async () => {
    let watches = 0;
    const api = await fakeApi(() => [cm("a", "x", "10")], () => String(10 + watches), (res) => {
      watches += 1;
      if (watches === 1) {
        res.statusCode = 410;
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Gone", code: 410 }));
      } else holding(res);
    });
    const { r } = reflect(api);
    await until("the second list", () => r.lists === 2);
    expect(r.synced).toBe(true);
  });
});

describe("the reflector against a misbehaving server", () => {
  it("does not watch in a busy loop when every watch ends at once", async () => {
    const api = await fakeApi(() => [], () => "5", (res) => {
      res.writeHead(200);
      res.end();
    });
    reflect(api);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const watches = api.requests.filter((q) => q.includes("watch from")).length;
    // One watch per retry wait (50 ms) at most, not thousands.
    expect(watches).toBeGreaterThan(1);
    expect(watches).toBeLessThanOrEqual(12);
  });

  it("breaks a watch whose event is larger than the bound, keeping what it had, and watches again", async () => {
    let watches = 0;
    const api = await fakeApi(() => [cm("a", "small", "3")], () => "3", (res) => {
      watches += 1;
      if (watches === 1) holding(res, [{ type: "MODIFIED", object: cm("a", "x".repeat(64 * 1024), "4") }]);
      else holding(res, [{ type: "MODIFIED", object: cm("a", "after", "5") }]);
    });
    const { r, errors } = reflect(api, 16 * 1024);
    await until("the second watch's event", () => r.snapshot().get("t/a") === "after");
    expect(String(errors[0])).toMatch(/more than 16384 bytes/);
    expect(r.lists).toBe(1);
  });

  it("watches again from the last version it saw, not the broken watch's first, when a watch breaks", async () => {
    let watches = 0;
    const api = await fakeApi(() => [cm("a", "one", "3")], () => "3", (res) => {
      watches += 1;
      if (watches === 1) {
        holding(res, [{ type: "MODIFIED", object: cm("a", "two", "7") }, { type: "BOOKMARK", object: { kind: "ConfigMap", apiVersion: "v1", metadata: { resourceVersion: "9" } } }]);
        setTimeout(() => res.destroy(), 100); // the connection breaks
      } else holding(res);
    });
    const { r, errors } = reflect(api);
    await until("the second watch", () => api.requests.filter((q) => q.includes("watch from")).length === 2);
    expect(api.requests.filter((q) => q.includes("watch from"))).toEqual(["/api/v1/namespaces/t/configmaps?watch from 3", "/api/v1/namespaces/t/configmaps?watch from 9"]);
    expect(r.snapshot().get("t/a")).toBe("two");
    expect(r.lists).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it("takes a watch that sends nothing, not even a bookmark, for the idle bound as dead and watches again", async () => {
    const api = await fakeApi(() => [cm("a", "one", "3")], () => "3", (res) => {
      holding(res); // headers, then silence: a half-open connection looks like this
    });
    const { r, errors } = reflect(api, undefined, 300);
    await until("a third watch", () => api.requests.filter((q) => q.includes("watch from")).length >= 3, 5_000);
    expect(r.lists).toBe(1);
    expect(String(errors[0])).toMatch(/sent nothing on GET \/api\/v1\/namespaces\/t\/configmaps for 0.3 s: the connection is taken for dead/);
  });
});
