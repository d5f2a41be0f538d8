// What deleting a team loses (src/plan/team-loss.ts): PVCs and Secrets by name, objects no
// GitSync applied counted per kind, Kubernetes' own objects left out; and plan's team-removed
// flag carrying those counts (withTeamLosses).

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import type { Plan } from "../../src/plan/plan.js";
import { withTeamLosses } from "../../src/plan/plan.js";
import { losesData, lossLines, teamLoss } from "../../src/plan/team-loss.js";

function obj(apiVersion: string, kind: string, name: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace: "team1", ...extra } };
}

const fromGit = { labels: { "tenantry.dev/sync-name": "team1", "tenantry.dev/sync-namespace": "team1" } };

const live: KubeObject[] = [
  obj("v1", "PersistentVolumeClaim", "data"),
  obj("v1", "PersistentVolumeClaim", "cache", fromGit),
  obj("v1", "Secret", "team1-deploy-key"),
  obj("v1", "Secret", "db-password"),
  obj("v1", "ConfigMap", "kube-root-ca.crt"),
  obj("v1", "ConfigMap", "by-hand"),
  obj("v1", "ConfigMap", "app-config", fromGit),
  obj("v1", "ServiceAccount", "default"),
  obj("apps/v1", "Deployment", "web", fromGit),
  obj("apps/v1", "ReplicaSet", "web-5d8f", { ownerReferences: [{ uid: "u", controller: true }] }),
  obj("apps/v1", "Deployment", "debug"),
  obj("v1", "Endpoints", "web"),
  obj("batch/v1", "Job", "migrate"),
];

describe("teamLoss", () => {
  it("names PVCs and Secrets, counts what no GitSync applied per kind, and leaves out what Kubernetes makes", () => {
    const loss = teamLoss({ namespace: "team1", exists: true, objects: live, unread: ["widgets.acme.dev (HTTP 403)"] });
    expect(loss).toEqual({
      namespace: "team1",
      exists: true,
      pvcs: ["cache", "data"],
      secrets: ["db-password", "team1-deploy-key"],
      notFromGit: { ConfigMap: 1, Deployment: 1, Job: 1 },
      unread: ["widgets.acme.dev (HTTP 403)"],
    });
    expect(losesData(loss)).toBe(true);
    expect(lossLines(loss)).toEqual([
      "PersistentVolumeClaims: 2 (cache, data): their volumes' data goes with them",
      "Secrets: 2 (db-password, team1-deploy-key)",
      "not from Git: ConfigMap 1, Deployment 1, Job 1",
      "not read (the loss may be larger): widgets.acme.dev (HTTP 403)",
    ]);
  });

  it("an empty or missing namespace loses nothing", () => {
    const empty = teamLoss({ namespace: "team1", exists: true, objects: [obj("v1", "ServiceAccount", "default")], unread: [] });
    expect(losesData(empty)).toBe(false);
    expect(lossLines(empty)).toEqual(["PersistentVolumeClaims: 0", "Secrets: 0", "not from Git: nothing"]);
    expect(lossLines(teamLoss({ namespace: "team1", exists: false, objects: [], unread: [] }))).toEqual(["namespace team1 does not exist in the cluster: nothing there to lose"]);
  });
});

describe("withTeamLosses", () => {
  it("adds the live counts to the removed team's flag, and nothing else", () => {
    const flag = (object: string) => ({ object, reasons: ["team removed"] });
    const plan = {
      risks: [
        { kind: "team-removed", title: "Team removed", objects: [flag("Namespace/team1"), flag("Namespace/team2")] },
        { kind: "rbac-widened", title: "RBAC widened", objects: [flag("Namespace/team1")] },
      ],
    } as unknown as Plan;
    const losses = new Map([["team1", teamLoss({ namespace: "team1", exists: true, objects: live.slice(0, 1), unread: [] })]]);
    const out = withTeamLosses(plan, losses);
    expect(out.risks[0]?.objects[0]?.reasons).toEqual([
      "team removed",
      "live namespace team1: PersistentVolumeClaims: 1 (data): their volumes' data goes with them",
      "live namespace team1: Secrets: 0",
      "live namespace team1: not from Git: nothing",
    ]);
    expect(out.risks[0]?.objects[1]?.reasons).toEqual(["team removed"]);
    expect(out.risks[1]).toEqual(plan.risks[1]);
  });
});
