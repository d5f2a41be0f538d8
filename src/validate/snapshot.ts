// Takes the OpenAPI snapshot of the built-in kinds from a running API server of the pinned
// release (scripts/snapshot-openapi.sh starts one and calls writeSnapshot). Not used at run
// time: `tenantry validate` reads the committed file.

import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { TenantryError } from "../errors.js";
import { formatSnapshot, snapshotOf } from "./openapi.js";

async function getJson(kc: KubeConfig, path: string): Promise<unknown> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new TenantryError("kubeconfig has no current cluster", 2);
  const url = new URL(path, server);
  const opts: Parameters<typeof request>[1] = { method: "GET", headers: { Accept: "application/json" } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) reject(new TenantryError(`GET ${path}: HTTP ${res.statusCode ?? "?"}: ${text.slice(0, 200)}`, 4));
        else resolve(JSON.parse(text));
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Fetches /openapi/v3 and every group-version document, and writes the snapshot to `out`. */
export async function writeSnapshot(kubeconfig: string, out: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const version = (await getJson(kc, "/version")) as { gitVersion: string };
  const index = (await getJson(kc, "/openapi/v3")) as { paths: Record<string, { serverRelativeURL: string }> };
  const groupVersions = Object.entries(index.paths).filter(([p]) => p === "api/v1" || /^apis\/[^/]+\/[^/]+$/.test(p));
  const docs: unknown[] = [];
  for (const [, entry] of groupVersions.sort(([a], [b]) => (a < b ? -1 : 1))) docs.push(await getJson(kc, entry.serverRelativeURL));
  const snapshot = snapshotOf(version.gitVersion, docs);
  writeFileSync(out, formatSnapshot(snapshot));
  process.stderr.write(`snapshot of Kubernetes ${version.gitVersion}: ${Object.keys(snapshot.kinds).length} kinds, ${Object.keys(snapshot.defs).length} definitions -> ${out}\n`);
}
