// The list-then-watch mirror the agent keeps of its GitSyncs (src/cluster/reflector.ts), on the
// real control plane: it lists once and then follows the watch (adds, changes of the kept
// fields only, deletes); a watch the server ends is picked up from its last version without a
// list; a connection cut in the middle (through the fault proxy) loses no change made while it
// was down. What it does with a version too old to watch from (410), which a fresh control
// plane does not compact soon enough to play, is in test/unit/reflector.test.ts.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type KubeAccess, loadAccess, withSignal } from "../../src/cluster/access.js";
import { Reflector, type ReflectorOptions } from "../../src/cluster/reflector.js";
import { RestClient } from "../../src/cluster/rest.js";
import type { KubeObject } from "../../src/model/object.js";
import { tempDir } from "../helpers/cli.js";
import { adminAccess, apply, client, ignoring, waitFor } from "../helpers/cluster.js";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.js";

const NS = "reflector-test";
let admin: KubeAccess;

const cm = (name: string, value: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS, labels }, data: { value } });
const value = (o: KubeObject): string => (o as { data?: { value?: string } }).data?.value ?? "";

/** A reflector of the ConfigMaps of NS, keeping each one's data.value, run until the test ends. */
function start(access: KubeAccess, options: Partial<ReflectorOptions<string>> = {}): { r: Reflector<string>; errors: unknown[]; stop: () => Promise<void> } {
  const stop = new AbortController();
  const errors: unknown[] = [];
  const r = new Reflector<string>({
    client: RestClient.forConfig(withSignal(access, stop.signal)),
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: NS,
    project: value,
    retryMs: 100,
    pageSize: 2,
    onError: (e) => errors.push(e),
    ...options,
  });
  const running = r.run(stop.signal);
  return {
    r,
    errors,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

const sees = (r: Reflector<string>, name: string, v: string | undefined) =>
  waitFor(`${name}=${String(v)} in the mirror`, () => Promise.resolve(r.snapshot().get(`${NS}/${name}`) === v ? true : undefined), 15_000);

beforeAll(async () => {
  admin = adminAccess();
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  for (const n of ["a", "b", "c", "d", "e"]) await apply(admin, cm(n, `${n}0`));
});

afterAll(async () => {
  await ignoring([404], client(admin).deleteObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }));
});

describe("the reflector", () => {
  it("lists once (in pages), then follows adds, changes of the kept field and deletes through the watch", async () => {
    const { r, errors, stop } = start(admin);
    try {
      await waitFor("the first list", () => Promise.resolve(r.synced ? true : undefined));
      // Five ConfigMaps (and kube-root-ca.crt) read two a page.
      expect([...r.snapshot().keys()].filter((k) => /\/[a-e]$/.test(k)).sort()).toEqual(["a", "b", "c", "d", "e"].map((n) => `${NS}/${n}`));
      await apply(admin, cm("f", "f0"));
      await sees(r, "f", "f0");
      await apply(admin, cm("a", "a1"));
      await sees(r, "a", "a1");
      // A change of a field the projection does not keep is not a change of the mirror.
      const before = r.changes;
      await apply(admin, cm("b", "b0", { touched: "yes" }));
      await apply(admin, cm("c", "c1")); // a marker: once seen, the label change was seen before it
      await sees(r, "c", "c1");
      expect(r.changes).toBe(before + 1);
      await client(admin).deleteObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "f", namespace: NS } });
      await sees(r, "f", undefined);
      expect(r.lists).toBe(1);
      expect(r.watchEvents).toBeGreaterThanOrEqual(5);
      expect(errors).toEqual([]);
    } finally {
      await stop();
    }
  });

  it("watches again from its last version when the server ends the watch, without listing again", async () => {
    const { r, errors, stop } = start(admin, { watchSeconds: 1 });
    try {
      await waitFor("the first list", () => Promise.resolve(r.synced ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 6_000)); // several watches of 1-2 s end
      await apply(admin, cm("d", "d1"));
      await sees(r, "d", "d1");
      expect(r.lists).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await stop();
    }
  });

  it("loses no change made while its connection was cut: it watches again from where it was", async () => {
    let proxy: FaultProxy | undefined;
    try {
      proxy = await startFaultProxy(inject("clusterDir"));
      const proxied = loadAccess(proxy.writeKubeconfig(join(tempDir(), "proxied.kubeconfig")));
      const { r, errors, stop } = start(proxied);
      try {
        await waitFor("the first list", () => Promise.resolve(r.synced ? true : undefined));
        await proxy.partition("refuse"); // the open watch is reset, new connections refused
        await apply(admin, cm("e", "e1"));
        await apply(admin, cm("g", "g0"));
        await waitFor("a failed watch", () => Promise.resolve(errors.length > 0 ? true : undefined));
        expect(r.snapshot().get(`${NS}/e`)).toBe("e0");
        await proxy.heal();
        await sees(r, "e", "e1");
        await sees(r, "g", "g0");
        // Picked up from the watch (the API server's watch cache replays what it missed).
        expect(r.lists).toBe(1);
      } finally {
        await stop();
      }
    } finally {
      await proxy?.close();
    }
  });
});
