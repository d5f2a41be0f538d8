// What a failed apply reports as certainly not applied (ApplyError.unapplied in
// src/cluster/apply.ts): the objects the API server refused outright (4xx but 408 and 429) and
// those of later stages, never sent. A 5xx, 408 or 429 may come after the write (a proxy, a
// timeout), so its object is not among them: the reconciler keeps it in the inventory. Against
// an in-process API server that answers each object as its name says.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeAccess } from "../../src/cluster/access.js";
import { ApplyError, applyObjects } from "../../src/cluster/apply.js";
import type { KubeObject } from "../../src/model/object.js";

const ANSWERS: Record<string, number> = { forbidden: 403, invalid: 422, broken: 500, throttled: 429, slow: 408 };
const patched: string[] = [];

let server: Server;
beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    const url = req.url ?? "";
    if (req.method === "GET" && url.startsWith("/api/v1")) {
      res.end(JSON.stringify({ resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true }, { name: "serviceaccounts", kind: "ServiceAccount", namespaced: true }] }));
      return;
    }
    const name = decodeURIComponent(new URL(url, "http://x").pathname.split("/").pop() ?? "");
    patched.push(name);
    const code = ANSWERS[name] ?? 200;
    res.statusCode = code;
    req.resume();
    req.on("end", () => {
      res.end(JSON.stringify(code === 200 ? { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "t" } } : { kind: "Status", code, message: `${name}: no` }));
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve();
    });
  });
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function access(): KubeAccess {
  return { context: "c", cluster: { name: "c", server: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, skipTLSVerify: false }, user: { name: "u", token: "t" }, namespace: "t" };
}

const obj = (kind: string, name: string): KubeObject => ({ apiVersion: "v1", kind, metadata: { name, namespace: "t" } });

async function failure(objects: KubeObject[]): Promise<ApplyError> {
  try {
    await applyObjects(access(), objects);
  } catch (e) {
    if (e instanceof ApplyError) return e;
    throw e;
  }
  return expect.fail("the apply succeeded");
}

describe("ApplyError.unapplied", () => {
  it("names what the API server refused outright, not what may have been written (5xx, 408, 429)", async () => {
    const e = await failure(["ok", "forbidden", "invalid", "broken", "throttled", "slow"].map((n) => obj("ConfigMap", n)));
    expect(e.refused.map((r) => r.object).sort()).toEqual(["ConfigMap/t/broken", "ConfigMap/t/forbidden", "ConfigMap/t/invalid", "ConfigMap/t/slow", "ConfigMap/t/throttled"]);
    expect(e.unapplied.map((o) => o.metadata.name).sort()).toEqual(["forbidden", "invalid"]);
  });

  it("a refused stage stops the apply: the later stages' objects were never sent and are unapplied too", async () => {
    patched.length = 0;
    const e = await failure([obj("ServiceAccount", "forbidden"), obj("ConfigMap", "later")]);
    expect(patched).toEqual(["forbidden"]);
    expect(e.unapplied.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["ServiceAccount/forbidden", "ConfigMap/later"]);
  });
});
