// The API server a Secret's kubeconfig names may be anyone's (an `external` control plane):
// one answer of it is bounded (KUBECONFIG_RESPONSE_MAX_BYTES, src/cluster/transport.ts), and
// refused without buffering past the bound, so an endless answer cannot fill the agent.

import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { accessFromKubeconfigText, KUBECONFIG_RESPONSE_MAX_BYTES, type KubeAccess } from "../../src/cluster/access.js";
import { ClusterConnectionError } from "../../src/cluster/api-errors.js";
import { RestClient } from "../../src/cluster/rest.js";

const MiB = 1024 * 1024;
let sent = 0;

/** Writes 1 MiB chunks (a JSON string that never ends) until the client goes away. */
function endless(res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.write('{"kind":"Secret","data":"');
  const chunk = Buffer.alloc(MiB, "x");
  const more = (): void => {
    while (!res.destroyed && sent < 256 * MiB) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", more);
        return;
      }
    }
    res.end();
  };
  more();
}

let server: Server;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/api/v1") {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "secrets", kind: "Secret", namespaced: true }] }));
    } else if (req.url?.includes("endless") === true) endless(res);
    else if (req.url?.includes("announced") === true) {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(100 * MiB) });
      res.write("{");
    } else {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "small", namespace: "t" } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => { resolve(); }));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function fromSecret(): KubeAccess {
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const text = stringify({ "current-context": "c", clusters: [{ name: "c", cluster: { server: url } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }] });
  const r = accessFromKubeconfigText(text);
  if (!("access" in r)) throw new Error(r.problem);
  return r.access;
}

const secret = (name: string) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "t" } });

describe("one answer of a Secret kubeconfig's API server", () => {
  it("is read as usual below the cap (32 MiB)", async () => {
    expect(KUBECONFIG_RESPONSE_MAX_BYTES).toBe(32 * MiB);
    expect(fromSecret().maxResponseBytes).toBe(KUBECONFIG_RESPONSE_MAX_BYTES);
    expect((await RestClient.forConfig(fromSecret()).readObject(secret("small"))).metadata.name).toBe("small");
  });

  it("past the cap is refused, 'response too large', and the connection dropped: not buffered to its end", async () => {
    sent = 0;
    const e: unknown = await RestClient.forConfig(fromSecret()).readObject(secret("endless")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClusterConnectionError);
    expect((e as ClusterConnectionError).message).toMatch(/answered GET \/api\/v1\/namespaces\/t\/secrets\/endless with more than 33554432 bytes: response too large/);
    // The server stops soon after the cap (socket buffers), far from the 256 MiB it would send.
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toBeLessThan(KUBECONFIG_RESPONSE_MAX_BYTES + 16 * MiB);
  });

  it("announced past the cap (Content-Length) is refused before any of it is read", async () => {
    const e: unknown = await RestClient.forConfig(fromSecret()).readObject(secret("announced")).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/response too large/);
  });
});
