// Takes the OpenAPI snapshot of the built-in kinds from a running API server of the pinned
// release (scripts/snapshot-openapi.sh starts one and calls writeSnapshot). Not used at run
// time: `tenantry validate` reads the committed file.

import { writeFileSync } from "node:fs";
import { loadAccess } from "../cluster/access.js";
import { RestClient } from "../cluster/rest.js";
import { formatSnapshot, snapshotOf } from "./openapi.js";

/** Fetches /openapi/v3 and every group-version document, and writes the snapshot to `out`. */
export async function writeSnapshot(kubeconfig: string, out: string): Promise<void> {
  const client = RestClient.forConfig(loadAccess(kubeconfig));
  const getJson = (path: string): Promise<unknown> => client.request({ method: "GET", path });
  const version = (await getJson("/version")) as { gitVersion: string };
  const index = (await getJson("/openapi/v3")) as { paths: Record<string, { serverRelativeURL: string }> };
  const groupVersions = Object.entries(index.paths).filter(([p]) => p === "api/v1" || /^apis\/[^/]+\/[^/]+$/.test(p));
  const docs: unknown[] = [];
  for (const [, entry] of groupVersions.sort(([a], [b]) => (a < b ? -1 : 1))) docs.push(await getJson(entry.serverRelativeURL));
  const snapshot = snapshotOf(version.gitVersion, docs);
  writeFileSync(out, formatSnapshot(snapshot));
  process.stderr.write(`snapshot of Kubernetes ${version.gitVersion}: ${Object.keys(snapshot.kinds).length} kinds, ${Object.keys(snapshot.defs).length} definitions -> ${out}\n`);
}
