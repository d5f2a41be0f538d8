// The views of a team of several namespaces (issue 20): which namespaces are the team's
// (src/cluster/team-namespace.ts, against a stub API server on 127.0.0.1), and the pure part
// of `tenantry usage`, the team's total over its namespaces against its tier (src/views/usage.ts).

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RestClient } from "../../src/cluster/rest.js";
import { teamNamespaces } from "../../src/cluster/team-namespace.js";
import { formatTotal, quotaUsage, teamTotal, totalRows } from "../../src/views/usage.js";
import { type QuotaObject, statusCells, syncStatusRows } from "../../src/views/status.js";

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

// A stub API server: path -> [status, body].
type Answer = readonly [number, unknown];
let routes: Record<string, Answer> = {};
let server: Server;
let base: string;
const status = (code: number, reason: string): Answer => [code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message: `${reason.toLowerCase()} (stub)` }];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const [code, body] = routes[path] ?? status(404, "NotFound");
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
});
beforeEach(() => {
  routes = {};
});

const stub = (): RestClient => RestClient.forConfig({ context: "c", cluster: { name: "c", server: base, skipTLSVerify: false }, user: { name: "u", token: "t" }, namespace: "default" });
const gitSyncWith = (namespaces: unknown): Answer => [200, { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "shop", namespace: "shop" }, spec: { url: "file:///r", interval: "1m", namespaces } }];
const ns = (name: string, team: string): Answer => [200, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "tenantry.dev/team": team } } }];
const GS = "/apis/tenantry.dev/v1alpha1/namespaces/shop/gitsyncs/shop";

describe("a team's namespaces, as the views read them", () => {
  it("home, then the GitSync's list, each labelled as the team's", async () => {
    routes[GS] = gitSyncWith(["shop-api", "shop-web"]);
    routes["/api/v1/namespaces/shop-api"] = ns("shop-api", "shop");
    routes["/api/v1/namespaces/shop-web"] = ns("shop-web", "shop");
    expect(await teamNamespaces(stub(), "shop")).toEqual({ namespaces: ["shop", "shop-api", "shop-web"], notes: [] });
  });

  it("leaves out, with a note, a name not <team>-<name>, a namespace of another team's, one that does not exist", async () => {
    routes[GS] = gitSyncWith(["bank", "shop-api", "shop-gone"]);
    routes["/api/v1/namespaces/bank"] = ns("bank", "bank");
    routes["/api/v1/namespaces/shop-api"] = ns("shop-api", "bank");
    const t = await teamNamespaces(stub(), "shop");
    expect(t.namespaces).toEqual(["shop"]);
    expect(t.notes).toEqual([
      "GitSync shop/shop lists namespace bank, which is not one of the team's (shop-<name>): left out",
      "namespace shop-api (listed by GitSync shop/shop) is not labelled tenantry.dev/team=shop: left out",
      "namespace shop-gone (listed by GitSync shop/shop) does not exist (yet): left out",
    ]);
  });

  it("a team's own token, which may not read Namespaces: the GitSync's list as it is", async () => {
    routes[GS] = gitSyncWith(["shop-api"]);
    routes["/api/v1/namespaces/shop-api"] = status(403, "Forbidden");
    expect((await teamNamespaces(stub(), "shop")).namespaces).toEqual(["shop", "shop-api"]);
  });

  it("without a GitSync: the Namespaces labelled as the team's; without rights to list them, home only", async () => {
    routes["/api/v1/namespaces"] = [200, { kind: "NamespaceList", items: [ns("shop", "shop")[1], ns("shop-web", "shop")[1], ns("shop-api", "shop")[1]] }];
    expect((await teamNamespaces(stub(), "shop")).namespaces).toEqual(["shop", "shop-api", "shop-web"]);
    routes["/api/v1/namespaces"] = status(403, "Forbidden");
    expect(await teamNamespaces(stub(), "shop")).toEqual({ namespaces: ["shop"], notes: [] });
  });
});

describe("status's QUOTA cell", () => {
  it("is the fullest quota over every namespace of the team, named with its namespace when not the GitSync's", () => {
    const label = (name: string, team: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "tenantry.dev/team": team } } });
    const gs = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: "shop", namespace: "shop" }, spec: { url: "file:///r", interval: "1m" } };
    const rows = syncStatusRows(
      [gs],
      [label("shop", "shop"), label("shop-api", "shop"), label("bank", "bank")],
      [quota("shop", { pods: "6" }, { pods: "1" }), quota("shop-api", { pods: "6" }, { pods: "3" }), quota("bank", { pods: "6" }, { pods: "6" })],
      new Date(),
    );
    expect(rows[0]?.quota).toEqual({ quota: "shop-api/tenantry-quota", resource: "pods", used: "3", hard: "6", percent: 50 });
    expect(rows[0] === undefined ? "" : statusCells(rows[0]).quota).toBe("pods 50%");
  });
});
