// An audit of writes as the API server itself sees them: a real validating admission webhook
// (HTTPS, its own CA) registered for some resources in namespaces carrying a label. It
// records when each write reached the API server and may hold each one for a while, which
// makes an apply slow enough to interrupt. Every write is allowed.

import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { KubeAccess } from "../../src/cluster/access.js";
import { apply, client, ignoring, waitFor } from "./cluster.js";
import { certificates } from "./githttp.js";

export interface AuditedWrite {
  /** When the API server asked the webhook (this process's clock). */
  readonly at: number;
  readonly operation: string;
  readonly namespace: string;
  readonly name: string;
  readonly user: string;
  readonly dryRun: boolean;
}

export interface WriteAudit {
  /** Every write seen so far, dry runs included, in arrival order. */
  readonly writes: AuditedWrite[];
  /** Writes stored (not dry runs) of `namespace`. */
  stored(namespace: string): AuditedWrite[];
  /** Holds each write this long before allowing it. */
  delayMs: number;
  close(): Promise<void>;
}

interface Review {
  request?: { uid?: string; operation?: string; namespace?: string; name?: string; dryRun?: boolean; userInfo?: { username?: string } };
}

/**
 * Registers webhook `name` for `resources` (core group, or `rules.apiGroups`) in namespaces
 * labelled `tenantry.test/audit=<name>` (with `rules.clusterScoped`, also every cluster-scoped
 * object of those resources: a namespace selector does not apply to them); returns once the
 * API server calls it.
 */
export async function startWriteAudit(
  admin: KubeAccess,
  name: string,
  resources: readonly string[],
  delayMs = 0,
  rules: { readonly apiGroups?: readonly string[]; readonly clusterScoped?: boolean } = {},
): Promise<WriteAudit> {
  const { dir, caCert } = certificates();
  const writes: AuditedWrite[] = [];
  const state = { delayMs };
  const server: Server = createServer({ key: readFileSync(join(dir, "server.key")), cert: readFileSync(join(dir, "server.crt")) }, (req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Review;
      const r = review.request ?? {};
      writes.push({ at, operation: r.operation ?? "", namespace: r.namespace ?? "", name: r.name ?? "", user: r.userInfo?.username ?? "", dryRun: r.dryRun === true });
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: r.uid, allowed: true } }));
      }, r.dryRun === true ? 0 : state.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const header = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name } };
  await apply(admin, {
    ...header,
    webhooks: [
      {
        name: `${name}.audit.tenantry.test`,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        timeoutSeconds: 15,
        clientConfig: { url: `https://127.0.0.1:${String(port)}/validate`, caBundle: Buffer.from(caCert).toString("base64") },
        namespaceSelector: { matchLabels: { "tenantry.test/audit": name } },
        rules: [
          {
            apiGroups: [...(rules.apiGroups ?? [""])],
            apiVersions: rules.apiGroups === undefined ? ["v1"] : ["*"],
            operations: ["CREATE", "UPDATE", "DELETE"],
            resources: [...resources],
            scope: rules.clusterScoped === true ? "*" : "Namespaced",
          },
        ],
      },
    ],
  });
  const close = async (): Promise<void> => {
    await ignoring([404], client(admin).deleteObject(header));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  };
  // The API server calls a new webhook once its informer has it: probe with a dry run.
  const probeNs = `${name}-probe`;
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: probeNs, labels: { "tenantry.test/audit": name } } });
  try {
    await waitFor(`webhook ${name} to be called`, async () => {
      await client(admin).apply({ apiVersion: "v1", kind: resources[0] === "configmaps" ? "ConfigMap" : "Secret", metadata: { name: "probe", namespace: probeNs } }, { fieldManager: "tenantry-test", dryRun: true });
      return writes.some((w) => w.namespace === probeNs) ? true : undefined;
    }, 30_000);
  } catch (e) {
    await close();
    throw e;
  }
  return {
    writes,
    stored: (namespace) => writes.filter((w) => w.namespace === namespace && !w.dryRun),
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close,
  };
}
