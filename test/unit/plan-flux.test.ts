// plan's risk flags for Flux objects (src/plan/risks.ts with src/plan/flux.ts): a
// Kustomization that applies with more rights, a team Namespace Flux may delete. The pure
// core, objects inline.

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { buildPlan, type Plan, type PlanSide } from "../../src/plan/plan.js";
import { formatText } from "../../src/plan/format.js";

const LABELS = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "team1" };
const PRUNE = "kustomize.toolkit.fluxcd.io/prune";

function side(objects: KubeObject[], ref: string, teams = ["team1"]): PlanSide {
  return { ref, commit: (ref === "base" ? "a" : "b").repeat(40), teams, objects: objects.map((object) => ({ object, file: null })) };
}

function plan(base: KubeObject[], head: KubeObject[], teams: [string[], string[]] = [["team1"], ["team1"]]): Plan {
  return buildPlan(side(base, "base", teams[0]), side(head, "head", teams[1]));
}

function flagged(p: Plan, kind: string): Record<string, readonly string[]> {
  return Object.fromEntries((p.risks.find((r) => r.kind === kind)?.objects ?? []).map((o) => [o.object, o.reasons]));
}

function kustomization(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "team1", namespace: "team1", labels: LABELS },
    spec: { serviceAccountName: "team1", sourceRef: { kind: "GitRepository", name: "team1" }, path: "./", targetNamespace: "team1", prune: true, interval: "1m", ...spec },
  };
}

function namespace(annotations?: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: "team1", labels: { ...LABELS, "pod-security.kubernetes.io/enforce": "restricted" }, ...(annotations === undefined ? {} : { annotations }) } };
}

function tombstones(entries: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "tenantry-tombstones", namespace: "tenantry-system", labels: { "app.kubernetes.io/managed-by": "tenantry" } },
    data: { "tombstones.yaml": entries },
  };
}

const TEAM1_TOMBSTONE = '- kind: Team\n  name: team1\n  deletedAt: "2025-01-02T03:04:05Z"\n  by: alice@acme.dev\n';

describe("plan: Flux Kustomizations (flux-escalation)", () => {
  it("flags a Kustomization losing serviceAccountName as a privilege escalation", () => {
    const lost = kustomization();
    delete (lost.spec as Record<string, unknown>).serviceAccountName;
    const p = plan([kustomization()], [lost]);
    expect(flagged(p, "flux-escalation")).toEqual({
      "Kustomization/team1/team1": ["loses serviceAccountName team1: kustomize-controller applies it as itself (cluster-admin), or as team1/default under --default-service-account"],
    });
    expect(p.risks.find((r) => r.kind === "flux-escalation")?.title).toBe("Flux applies with more rights");
    expect(formatText(p)).toMatch(/Flux applies with more rights/);
  });

  it("flags gaining a cross-namespace sourceRef", () => {
    const p = plan([kustomization()], [kustomization({ sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } })]);
    expect(flagged(p, "flux-escalation")).toEqual({
      "Kustomization/team1/team1": ["reads its source from namespace flux-system (spec.sourceRef.namespace): another namespace's repo decides what it applies"],
    });
  });

  it("leaves a new team's sync as the flux engine renders it, and other changes, unflagged", () => {
    expect(plan([], [namespace({ [PRUNE]: "disabled" }), kustomization()], [[], ["team1"]]).risks.map((r) => r.kind)).toEqual(["team-added"]);
    expect(plan([kustomization()], [kustomization({ interval: "5m" })]).risks).toEqual([]);
  });
});

describe("plan: team Namespaces under Flux (flux-prune)", () => {
  it("flags a team Namespace losing prune: disabled without a tombstone", () => {
    const p = plan([namespace({ [PRUNE]: "disabled" })], [namespace()]);
    expect(flagged(p, "flux-prune")).toEqual({
      "Namespace/team1": [
        "kustomize.toolkit.fluxcd.io/prune: disabled removed without a tombstone: Flux deletes namespace team1 and everything in it once it leaves the render; run tenantry delete-team team1 to ask for that",
      ],
    });
    expect(flagged(plan([namespace({ [PRUNE]: "disabled" })], [namespace({ [PRUNE]: "enabled" })]), "flux-prune")["Namespace/team1"]?.[0]).toMatch(/^kustomize\.toolkit\.fluxcd\.io\/prune: disabled changed to enabled without a tombstone/);
  });

  it("does not flag it when the same change adds the team's tombstone (delete-team under flux)", () => {
    const p = plan([namespace({ [PRUNE]: "disabled" }), tombstones("[]\n")], [namespace(), tombstones(TEAM1_TOMBSTONE)]);
    expect(flagged(p, "flux-prune")).toEqual({});
  });

  it("does not flag a Namespace that keeps the annotation, or leaves the render with it (Flux keeps it)", () => {
    expect(flagged(plan([namespace({ [PRUNE]: "disabled" })], [namespace({ [PRUNE]: "disabled", other: "x" })]), "flux-prune")).toEqual({});
    expect(flagged(plan([namespace({ [PRUNE]: "disabled" })], [], [["team1"], []]), "flux-prune")).toEqual({});
  });
});

describe("a team removed without a tombstone under Flux", () => {
  it("says what Flux prunes (everything but the Namespace), not what tenantry's agent would keep", () => {
    const p = plan([namespace({ [PRUNE]: "disabled" }), kustomization()], [], [["team1"], []]);
    expect(flagged(p, "team-removed")["Namespace/team1"]).toEqual([
      "team team1 removed without a tombstone: Flux keeps its Namespace (prune: disabled) and the workloads in it, but prunes the rest of its 2 objects: its quota, RoleBinding, NetworkPolicies and policy bindings go, and the namespace runs without them; to delete the team, run tenantry delete-team team1",
    ]);
    const tenantry = plan([namespace()], [], [["team1"], []]);
    expect(flagged(tenantry, "team-removed")["Namespace/team1"]?.[0]).toMatch(/the reconciler keeps its 1 object and its namespace and reports TeamDeletionNotRequested/);
  });
});
