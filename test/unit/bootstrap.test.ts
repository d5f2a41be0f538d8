// bootstrap's pure parts: when an engine's admin sync counts as done (Ready for its current
// generation, and for tenantry's agent fetched with the current key), per engine, and which
// repo URLs have a deploy key at all.

import { describe, expect, it } from "vitest";
import { sshEndpoint } from "../../src/bootstrap/bootstrap.js";
import { engineOf, engineProfile, readiness } from "../../src/bootstrap/engine.js";
import type { KubeObject } from "../../src/model/object.js";

function synced(generation: number, observed: number | undefined, ready: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "x/v1",
    kind: "X",
    metadata: { name: "n", namespace: "ns", generation },
    status: { ...(observed === undefined ? {} : { observedGeneration: observed }), lastAppliedRevision: "main@sha1:abc", conditions: [{ type: "Ready", status: ready, reason: "R", message: "m" }], ...extra },
  };
}

describe("readiness", () => {
  const tenantry = engineProfile("tenantry");
  const gitsync = tenantry.adminSync[0] ?? expect.fail("no admin sync");

  it("tenantry: one GitSync, tenantry-system/admin; done when Ready=True at its generation with this key", () => {
    expect(tenantry.adminSync).toEqual([{ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", namespace: "tenantry-system", name: "admin" }]);
    expect(tenantry.keySecret).toEqual({ namespace: "tenantry-system", name: "admin-deploy-key" });
    expect(readiness(tenantry, gitsync, synced(2, 2, "True", { keyFingerprint: "SHA256:k" }), "SHA256:k")).toEqual({ done: true, why: "", revision: "main@sha1:abc" });
    expect(readiness(tenantry, gitsync, synced(2, 2, "True"), undefined).done).toBe(true);
  });

  it("not done: missing, never reconciled, an older generation's Ready, Ready=False, another key", () => {
    expect(readiness(tenantry, gitsync, null, undefined).why).toBe("GitSync tenantry-system/admin does not exist");
    const fresh = { apiVersion: "x/v1", kind: "X", metadata: { name: "n", generation: 1 } } as KubeObject;
    expect(readiness(tenantry, gitsync, fresh, undefined).why).toBe("GitSync tenantry-system/admin has not been reconciled yet");
    expect(readiness(tenantry, gitsync, synced(3, 2, "True"), undefined).why).toMatch(/has not been reconciled since its spec changed \(generation 3, observed 2\)/);
    expect(readiness(tenantry, gitsync, synced(2, 2, "False"), undefined).why).toBe("GitSync tenantry-system/admin is not Ready (R: m)");
    expect(readiness(tenantry, gitsync, synced(2, 2, "True", { keyFingerprint: "SHA256:old" }), "SHA256:new").why).toBe(
      "GitSync tenantry-system/admin is Ready but has not fetched with deploy key SHA256:new yet (last fetch: SHA256:old)",
    );
  });

  it("flux: GitRepository and Kustomization flux-system/flux-system, the key in Secret flux-system/flux-system, no key check", () => {
    const flux = engineProfile("flux");
    expect(flux.adminSync.map((s) => `${s.kind} ${s.namespace}/${s.name}`)).toEqual(["GitRepository flux-system/flux-system", "Kustomization flux-system/flux-system"]);
    expect(flux.keySecret).toEqual({ namespace: "flux-system", name: "flux-system" });
    expect(flux.fieldManager).toBe("kustomize-controller");
    const ks = flux.adminSync[1] ?? expect.fail("no Kustomization");
    expect(readiness(flux, ks, synced(1, 1, "True"), "SHA256:any").done).toBe(true);
    expect(readiness(flux, ks, synced(2, 1, "True"), undefined).done).toBe(false);
  });

  it("engineOf: tenantry.yaml's spec.engine, tenantry when absent or unknown", () => {
    expect(engineOf({ engine: "flux" })).toBe("flux");
    expect(engineOf({})).toBe("tenantry");
    expect(engineOf({ engine: "argo" })).toBe("tenantry");
  });
});

describe("sshEndpoint", () => {
  it("ssh:// and scp-like URLs have a host and port; others have no deploy key", () => {
    expect(sshEndpoint("ssh://git@127.0.0.1:2222/srv/git/admin.git")).toEqual({ host: "127.0.0.1", port: 2222 });
    expect(sshEndpoint("ssh://git@github.com/acme/admin.git")).toEqual({ host: "github.com", port: 22 });
    expect(sshEndpoint("git@github.com:acme/admin.git")).toEqual({ host: "github.com", port: 22 });
    expect(sshEndpoint("ssh://git@[::1]:2222/a.git")).toEqual({ host: "::1", port: 2222 });
    expect(sshEndpoint("https://github.com/acme/admin.git")).toBeNull();
    expect(sshEndpoint("file:///srv/git/admin.git")).toBeNull();
  });
});
