// Drift repair (src/cluster/takeover.ts): which managers' fields are hand edits, and how they
// are handed to tenantry's apply entry so the next apply removes what Git does not have.

import { describe, expect, it } from "vitest";
import { isHandEdit, type ManagedField, takeOver, unionFields } from "../../src/cluster/takeover.js";

const ours: ManagedField = { manager: "tenantry", operation: "Apply", apiVersion: "networking.k8s.io/v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:podSelector": {}, "f:policyTypes": {} } } };
const edit: ManagedField = { manager: "kubectl-edit", operation: "Update", apiVersion: "networking.k8s.io/v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:egress": {} } } };
const controller: ManagedField = { manager: "kube-controller-manager", operation: "Update", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:secrets": {} } };
const status: ManagedField = { manager: "kubectl-edit", operation: "Update", subresource: "status", fieldsType: "FieldsV1", fieldsV1: { "f:status": {} } };

describe("isHandEdit", () => {
  it("takes kubectl's managers (any operation), before-first-apply and our own legacy Update; never a controller's or a status write", () => {
    expect(isHandEdit(edit, "tenantry")).toBe(true);
    expect(isHandEdit({ manager: "kubectl", operation: "Apply" }, "tenantry")).toBe(true);
    expect(isHandEdit({ manager: "kubectl-client-side-apply", operation: "Update" }, "tenantry")).toBe(true);
    expect(isHandEdit({ manager: "before-first-apply", operation: "Update" }, "tenantry")).toBe(true);
    expect(isHandEdit({ manager: "tenantry", operation: "Update" }, "tenantry")).toBe(true);
    expect(isHandEdit(ours, "tenantry")).toBe(false);
    expect(isHandEdit(controller, "tenantry")).toBe(false);
    expect(isHandEdit(status, "tenantry")).toBe(false);
  });
});

describe("takeOver", () => {
  it("merges the hand edits' fields into tenantry's Apply entry and keeps everyone else's", () => {
    expect(takeOver([ours, edit, controller, status], "tenantry", "networking.k8s.io/v1")).toEqual([
      controller,
      status,
      { ...ours, fieldsV1: { "f:spec": { "f:podSelector": {}, "f:policyTypes": {}, "f:egress": {} } } },
    ]);
  });

  it("makes an Apply entry when tenantry has none yet, and is undefined when there is nothing to take", () => {
    expect(takeOver([edit], "tenantry", "networking.k8s.io/v1")).toEqual([{ manager: "tenantry", operation: "Apply", apiVersion: "networking.k8s.io/v1", fieldsType: "FieldsV1", fieldsV1: edit.fieldsV1 }]);
    expect(takeOver([ours, controller], "tenantry", "v1")).toBeUndefined();
  });
});

describe("unionFields", () => {
  it("is the union of nested field sets", () => {
    expect(unionFields({ "f:a": { "f:b": {} }, "f:c": {} }, { "f:a": { "f:d": {} }, "k:{\"x\":1}": {} })).toEqual({ "f:a": { "f:b": {}, "f:d": {} }, "f:c": {}, "k:{\"x\":1}": {} });
  });
});
