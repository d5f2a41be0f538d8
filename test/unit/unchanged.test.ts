import { describe, expect, it } from "vitest";
import { containsAll, isUnchanged, ownsOnly } from "../../src/cluster/unchanged.js";
import type { KubeObject } from "../../src/model/object.js";

const desired: KubeObject = {
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name: "q", namespace: "t", labels: { a: "1" } },
  spec: { hard: { pods: "20", "requests.cpu": "4" }, scopes: ["NotBestEffort"] },
};

const fields = {
  "f:metadata": { "f:labels": { "f:a": {} } },
  "f:spec": { "f:hard": { "f:pods": {}, "f:requests.cpu": {} }, "f:scopes": {} },
};

function live(overrides: { spec?: unknown; fieldsV1?: unknown; manager?: string; apiVersion?: string } = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: {
      name: "q",
      namespace: "t",
      uid: "u",
      resourceVersion: "7",
      labels: { a: "1", extra: "x" },
      managedFields: [
        { manager: overrides.manager ?? "tenantry", operation: "Apply", apiVersion: overrides.apiVersion ?? "v1", fieldsType: "FieldsV1", fieldsV1: overrides.fieldsV1 ?? fields },
        { manager: "kube-controller-manager", operation: "Update", subresource: "status", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:status": {} } },
      ],
    },
    spec: overrides.spec ?? { hard: { pods: "20", "requests.cpu": "4" }, scopes: ["NotBestEffort"] },
    status: { used: { pods: "1" } },
  };
}

describe("containsAll", () => {
  it("maps recursively; extra live fields are fine", () => {
    expect(containsAll({ a: { b: 1, c: 2 }, d: 3 }, { a: { b: 1 } })).toBe(true);
    expect(containsAll({ a: { b: 2 } }, { a: { b: 1 } })).toBe(false);
    expect(containsAll({ a: {} }, { a: { b: 1 } })).toBe(false);
  });
  it("lists need the same length, each element a subset", () => {
    expect(containsAll([{ name: "a", x: 1 }], [{ name: "a" }])).toBe(true);
    expect(containsAll([{ name: "a" }, { name: "b" }], [{ name: "a" }])).toBe(false);
    expect(containsAll([{ name: "b" }], [{ name: "a" }])).toBe(false);
  });
  it("is strict about values the server may normalise, and about null", () => {
    expect(containsAll({ cpu: "1" }, { cpu: "1000m" })).toBe(false);
    expect(containsAll({ port: "80" }, { port: 80 })).toBe(false);
    expect(containsAll({}, { a: null })).toBe(false);
  });
});

describe("ownsOnly", () => {
  it("accepts fields that are all in the desired object", () => {
    expect(ownsOnly(fields, desired)).toBe(true);
  });
  it("refuses a field tenantry owns that Git no longer has (an apply must remove it)", () => {
    expect(ownsOnly({ ...fields, "f:spec": { "f:hard": { "f:pods": {}, "f:limits.cpu": {} } } }, desired)).toBe(false);
  });
  it("matches associative list keys, a key field absent in Git (defaulted) included", () => {
    const d = { spec: { ports: [{ port: 80 }], containers: [{ name: "app", image: "x" }] } };
    expect(ownsOnly({ "f:spec": { "f:ports": { 'k:{"port":80,"protocol":"TCP"}': { ".": {}, "f:port": {} } } } }, d)).toBe(true);
    expect(ownsOnly({ "f:spec": { "f:containers": { 'k:{"name":"app"}': { ".": {}, "f:image": {} } } } }, d)).toBe(true);
    expect(ownsOnly({ "f:spec": { "f:containers": { 'k:{"name":"gone"}': { ".": {} } } } }, d)).toBe(false);
    expect(ownsOnly({ "f:spec": { "f:containers": { 'k:{"name":"app"}': { "f:command": {} } } } }, d)).toBe(false);
  });
  it("matches set values and refuses what it does not understand", () => {
    expect(ownsOnly({ "f:finalizers": { 'v:"a"': {} } }, { finalizers: ["a"] })).toBe(true);
    expect(ownsOnly({ "f:finalizers": { 'v:"b"': {} } }, { finalizers: ["a"] })).toBe(false);
    expect(ownsOnly({ "x:odd": {} }, {})).toBe(false);
  });
});

describe("isUnchanged", () => {
  it("an object as applied is unchanged", () => {
    expect(isUnchanged(live(), desired, "tenantry")).toBe(true);
  });
  it("a hand edit of a field we set (the quota's pods) is a change", () => {
    expect(isUnchanged(live({ spec: { hard: { pods: "999", "requests.cpu": "4" }, scopes: ["NotBestEffort"] } }), desired, "tenantry")).toBe(false);
  });
  it("a field another manager took over with another value is a change; with the same value it is not", () => {
    const taken = { "f:metadata": { "f:labels": { "f:a": {} } }, "f:spec": { "f:hard": { "f:requests.cpu": {} }, "f:scopes": {} } };
    expect(isUnchanged(live({ fieldsV1: taken, spec: { hard: { pods: "21", "requests.cpu": "4" }, scopes: ["NotBestEffort"] } }), desired, "tenantry")).toBe(false);
    expect(isUnchanged(live({ fieldsV1: taken }), desired, "tenantry")).toBe(true);
  });
  it("no Apply entry of ours, or one of another apiVersion: apply", () => {
    expect(isUnchanged(live({ manager: "kubectl" }), desired, "tenantry")).toBe(false);
    expect(isUnchanged(live({ apiVersion: "v1beta1" }), desired, "tenantry")).toBe(false);
  });
  it("a field removed from Git but still owned by tenantry: apply", () => {
    const d = { ...desired, spec: { hard: { pods: "20" }, scopes: ["NotBestEffort"] } };
    expect(isUnchanged(live(), d, "tenantry")).toBe(false);
  });
});
