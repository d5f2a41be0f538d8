// `tenantry usage` of a team of several namespaces (issue 20), the pure part: the team's total
// over its namespaces against its tier (src/views/usage.ts).

import { describe, expect, it } from "vitest";
import { formatTotal, quotaUsage, teamTotal, totalRows } from "../../src/views/usage.js";
import type { QuotaObject } from "../../src/views/status.js";

function quota(namespace: string, hard: Record<string, string>, used: Record<string, string>): QuotaObject {
  return { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenantry-quota", namespace }, status: { hard, used } };
}

describe("the team total", () => {
  const home = quotaUsage([quota("shop", { pods: "6", "limits.cpu": "1333m", "limits.memory": "2730Mi", resourcequotas: "1" }, { pods: "2", "limits.cpu": "500m", "limits.memory": "1Gi", resourcequotas: "1" })]);
  const api = quotaUsage([quota("shop-api", { pods: "6", "limits.cpu": "1333m", "limits.memory": "2730Mi", resourcequotas: "1" }, { pods: "1", "limits.cpu": "1", "limits.memory": "512Mi", resourcequotas: "1" })]);
  const web = quotaUsage([quota("shop-web", { pods: "6", "limits.cpu": "1333m", "limits.memory": "2730Mi", resourcequotas: "1" }, { pods: "0", resourcequotas: "1" })]);
  const tier = { pods: "20", "limits.cpu": "4", "limits.memory": "8Gi" };

  it("sums used and hard over the namespaces, against the tier when known (never above it)", () => {
    const total = teamTotal([home, api, web], tier);
    expect(total).toEqual([
      { resource: "limits.cpu", used: "1500m", hard: "3999m", tier: "4", percent: 37.5 },
      { resource: "limits.memory", used: "1536Mi", hard: "8190Mi", tier: "8Gi", percent: 18.75 },
      { resource: "pods", used: "3", hard: "18", tier: "20", percent: 15 },
    ]);
    expect(totalRows(total).map((r) => [r.resource, r.tier, r.usage])).toEqual([
      ["limits.cpu", "4", "[###.......] 37%"],
      ["limits.memory", "8Gi", "[#.........] 18%"],
      ["pods", "20", "[#.........] 15%"],
    ]);
  });

  it("without the tier's values, against the namespaces' sum", () => {
    const total = teamTotal([home, api], null);
    expect(total.find((r) => r.resource === "pods")).toEqual({ resource: "pods", used: "3", hard: "12", tier: null, percent: 25 });
    expect(totalRows(total).find((r) => r.resource === "pods")?.tier).toBe("-");
  });

  it("is empty for a team of one namespace: its quota is the total", () => {
    expect(teamTotal([home], tier)).toEqual([]);
  });

  it("writes sums as Kubernetes writes quantities", () => {
    expect(formatTotal("limits.cpu", 1.5)).toBe("1500m");
    expect(formatTotal("requests.cpu", 2)).toBe("2");
    expect(formatTotal("limits.memory", 6 * 2 ** 30)).toBe("6Gi");
    expect(formatTotal("requests.ephemeral-storage", 2730 * 2 ** 20)).toBe("2730Mi");
    expect(formatTotal("pods", 12)).toBe("12");
  });
});
