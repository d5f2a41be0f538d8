// Team kubeconfigs, the pure part: the token lifetime a person asks for, and the kubeconfig
// of the team's identity (ServiceAccount <team>, a TokenRequest token) for one cluster.

import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/gitsync.js";

/** The context (and user) name tenantry gives a team in a kubeconfig. */
export function teamContextName(team: string): string {
  return `tenantry-${team}`;
}

export const MIN_TOKEN_SECONDS = 10 * 60;
export const MAX_TOKEN_SECONDS = 24 * 60 * 60;
export const DEFAULT_TOKEN_DURATION = "8h";

/** Seconds of a `--duration` like 8h, 30m or 1h30m, between 10m and 24h. */
export function tokenSeconds(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text.trim());
  } catch {
    throw new ValidationError([`--duration "${text}" is not a duration: use e.g. 8h, 30m or 1h30m (10m to 24h)`]);
  }
  const seconds = Math.floor(ms / 1000);
  if (seconds < MIN_TOKEN_SECONDS || seconds > MAX_TOKEN_SECONDS) {
    throw new ValidationError([`--duration ${text} is out of range: tokens last from 10m to 24h`]);
  }
  return seconds;
}

export interface ClusterAccess {
  /** The cluster entry's name in the admin kubeconfig. */
  readonly name: string;
  readonly server: string;
  /** Base64 PEM of the cluster's CA. */
  readonly caData: string;
  readonly tlsServerName?: string | undefined;
}

/** `cluster:` of a kubeconfig cluster entry: never insecure-skip-tls-verify. */
export function clusterEntry(c: ClusterAccess): Record<string, string> {
  return { server: c.server, "certificate-authority-data": c.caData, ...(c.tlsServerName === undefined ? {} : { "tls-server-name": c.tlsServerName }) };
}

/** A whole kubeconfig for `team`: one cluster, user and context `tenantry-<team>`, namespace `<team>`. */
export function teamKubeconfig(team: string, cluster: ClusterAccess, token: string): Record<string, unknown> {
  const name = teamContextName(team);
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster.name, cluster: clusterEntry(cluster) }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: cluster.name, user: name, namespace: team } }],
    "current-context": name,
    preferences: {},
  };
}
