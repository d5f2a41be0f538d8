// The team's credentials, from the cluster the team lives on (the host, or a controlplane
// team's own API server): a TokenRequest for ServiceAccount <team> and the cluster's CA (the
// admin kubeconfig's, else the kube-root-ca.crt ConfigMap the controller-manager publishes in
// every namespace). A team of several namespaces (issue 20): the token is the same
// ServiceAccount's, and is checked to reach each of them (its RoleBinding there).

import { readFileSync } from "node:fs";
import type { KubeAccess } from "../cluster/access.js";
import { ExitCode, TenantryError } from "../errors.js";
import { RestClient } from "../cluster/rest.js";
import { clusterCall, teamNamespaces } from "../cluster/team-namespace.js";
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

/** One of the team's namespaces, and whether the minted token may create objects there. */
export interface NamespaceReach {
  readonly namespace: string;
  readonly reached: boolean;
}

/**
 * Whether `token` may create ConfigMaps in each namespace, asked with the token itself
 * (SelfSubjectAccessReview: every authenticated identity may ask about itself).
 */
async function reach(base: KubeAccess, token: string, namespaces: readonly string[]): Promise<NamespaceReach[]> {
  const client = RestClient.forConfig({ ...base, user: { name: "tenantry-team-token", token } });
  return Promise.all(
    namespaces.map(async (namespace) => {
      const review = await clusterCall(client, `asking whether the team's token may act in namespace ${namespace}`, () =>
        client.post<{ status?: { allowed?: boolean } }>("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { namespace, verb: "create", resource: "configmaps" } },
        }),
      );
      return { namespace, reached: review.status?.allowed === true };
    }),
  );
}

/**
 * Token and cluster access for `team`, after checking that the team exists: on the host for a
 * namespace team; for a controlplane team in its own API server, with the admin kubeconfig of
 * its ControlPlane's Secret (held in memory), the cluster entry named tenantry-<team> so that
 * it never stands for the host's. `namespaces`: the team's (home first); for a team with extra
 * namespaces, whether the token reaches each.
 */
export async function teamCredentials(kc: KubeAccess, team: string, seconds: number): Promise<{ access: ClusterAccess; token: TeamToken; target: TeamTarget; namespaces: NamespaceReach[] }> {
  const target = await resolveTeamTarget(kc, team);
  const client = RestClient.forConfig(target.access);
  return withinControlPlane(target, async () => {
    const token = await requestTeamToken(client, team, seconds);
    const access = await clusterAccess(target.access, client, team);
    const listed = target.isolation === "namespace" ? (await teamNamespaces(client, team)).namespaces : [team];
    const namespaces = listed.length > 1 ? await reach(target.access, token.token, listed) : [{ namespace: team, reached: true }];
    return { access: target.isolation === "controlplane" ? { ...access, name: teamContextName(team) } : access, token, target, namespaces };
  });
}
