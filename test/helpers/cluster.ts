// Small helpers shared by every test against the real control plane: clients for the admin
// and for a team's identity, applying a rendered repo, and asserting what the API server
// refused.

import { expect, inject } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import { impersonate, type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { applyObjects } from "../../src/cluster/apply.js";
import { apiRefusal, type ApiRefusal } from "../../src/cluster/api-errors.js";
import { type Header, RestClient } from "../../src/cluster/rest.js";
import { teamUser } from "../../src/model/names.js";
import type { KubeObject } from "../../src/model/object.js";

export function adminAccess(): KubeAccess {
  return loadAccess(inject("kubeconfig"));
}

/** The team's identity: system:serviceaccount:<team>:<team>, by impersonation. */
export function teamAccess(team: string): KubeAccess {
  return impersonate(adminAccess(), teamUser(team));
}

export function client(kc: KubeAccess): RestClient {
  return RestClient.forConfig(kc);
}

/** `kustomize build dir` applied with server-side apply as `kc`. */
export async function applyDir(kc: KubeAccess, dir: string): Promise<KubeObject[]> {
  const objects = await buildDir(dir);
  await applyObjects(kc, objects);
  return objects;
}

/** The object `h` names as `kc` reads it, or null when the API server answers 404; any other failure is thrown. */
export async function readOrNull(kc: KubeAccess, h: Header): Promise<KubeObject | null> {
  try {
    return await client(kc).readObject(h);
  } catch (e) {
    if (apiRefusal(e)?.code === 404) return null;
    throw e;
  }
}

/** `action`, where an API refusal with one of `codes` (404 when deleting what is gone, 409 when creating what exists) is no failure. */
export async function ignoring(codes: readonly number[], action: Promise<unknown>): Promise<void> {
  try {
    await action;
  } catch (e) {
    const code = apiRefusal(e)?.code;
    if (code === undefined || !codes.includes(code)) throw e;
  }
}

/** The API server's refusal of `action`, or undefined when it was accepted. */
export async function outcome(action: Promise<unknown>): Promise<ApiRefusal | undefined> {
  try {
    await action;
    return undefined;
  } catch (e) {
    const r = apiRefusal(e);
    if (r !== undefined) return r;
    throw e;
  }
}

/** The API server's refusal of `action`; fails the test if it was accepted. */
export async function refusal(action: Promise<unknown>): Promise<ApiRefusal> {
  return (await outcome(action)) ?? expect.fail("the API server accepted a request it should have refused");
}

export async function expectForbidden(action: Promise<unknown>): Promise<ApiRefusal> {
  const r = await refusal(action);
  expect(r.code, r.message).toBe(403);
  return r;
}

/** Creates `o` as `kc`; `o` may be any JSON-shaped object (typed client-node models too). */
export function create(kc: KubeAccess, o: object): Promise<KubeObject> {
  return client(kc).createObject(o as KubeObject);
}

export function apply(kc: KubeAccess, o: object): Promise<KubeObject> {
  return client(kc).apply(o as KubeObject, { fieldManager: "tenantry-test", force: true });
}

/** ServiceAccount `name` in `namespace`, allowed to edit that namespace only (like a team's). */
export async function namespaceEditor(kc: KubeAccess, namespace: string, name: string): Promise<void> {
  await apply(kc, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });
  await apply(kc, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `${name}-edit`, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) expect.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
