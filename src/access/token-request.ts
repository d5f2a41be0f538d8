// The team's credentials, from the cluster the team lives on (the host, or a controlplane
// team's own API server): a TokenRequest for ServiceAccount <team> and the cluster's CA (the
// admin kubeconfig's, else the kube-root-ca.crt ConfigMap the controller-manager publishes in
// every namespace).

import { readFileSync } from "node:fs";
import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { RestClient } from "../cluster/rest.js";
import { clusterCall } from "../cluster/team-namespace.js";
import { resolveTeamTarget, type TeamTarget, withinControlPlane } from "../cluster/controlplane-access.js";
import { type ClusterAccess, teamContextName } from "./team-kubeconfig.js";

export interface TeamToken {
  readonly token: string;
  /** RFC 3339, as the API server granted it (it may shorten what was asked). */
  readonly expirationTimestamp: string;
}

interface TokenRequestReply {
  status?: { token?: string; expirationTimestamp?: string };
}

export async function requestTeamToken(client: RestClient, team: string, seconds: number): Promise<TeamToken> {
  const reply = await clusterCall(client, `requesting a token for ServiceAccount ${team}/${team}`, () =>
    client.post<TokenRequestReply>(`/api/v1/namespaces/${team}/serviceaccounts/${team}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: seconds },
    }),
  );
  const token = reply.status?.token;
  if (token === undefined || token === "") throw new TenantryError(`the API server returned no token for ServiceAccount ${team}/${team}`, ExitCode.external);
  return { token, expirationTimestamp: reply.status?.expirationTimestamp ?? "" };
}

/** Server, CA and cluster name for a team kubeconfig, taken from `kc`'s current cluster. */
export async function clusterAccess(kc: KubeAccess, client: RestClient, team: string): Promise<ClusterAccess> {
  const cluster = kc.cluster;
  let caData = cluster.caData;
  if ((caData === undefined || caData === "") && cluster.caFile !== undefined && cluster.caFile !== "") {
    try {
      caData = readFileSync(cluster.caFile).toString("base64");
    } catch (e) {
      throw new TenantryError(`cannot read the cluster's CA file ${cluster.caFile}: ${(e as Error).message}`, ExitCode.failure);
    }
  }
  if (caData === undefined || caData === "") {
    const cm = await clusterCall(client, `reading ConfigMap ${team}/kube-root-ca.crt`, () => client.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${team}/configmaps/kube-root-ca.crt`));
    const pem = cm.data?.["ca.crt"];
    if (pem === undefined || pem === "") throw new TenantryError(`ConfigMap ${team}/kube-root-ca.crt has no ca.crt: cannot embed the cluster's CA`, ExitCode.external);
    caData = Buffer.from(pem).toString("base64");
  }
  return { name: cluster.name, server: cluster.server, caData, tlsServerName: cluster.tlsServerName };
}

/**
 * Token and cluster access for `team`, after checking that the team exists: on the host for a
 * namespace team; for a controlplane team in its own API server, with the admin kubeconfig of
 * its ControlPlane's Secret (held in memory), the cluster entry named tenantry-<team> so that
 * it never stands for the host's.
 */
export async function teamCredentials(kc: KubeAccess, team: string, seconds: number): Promise<{ access: ClusterAccess; token: TeamToken; target: TeamTarget }> {
  const target = await resolveTeamTarget(kc, team);
  const client = RestClient.forConfig(target.access);
  return withinControlPlane(target, async () => {
    const token = await requestTeamToken(client, team, seconds);
    const access = await clusterAccess(target.access, client, team);
    return { access: target.isolation === "controlplane" ? { ...access, name: teamContextName(team) } : access, token, target };
  });
}
