// The network model of a rendered admin repo, pure: from its Namespaces, NetworkPolicies and
// the agents' workloads, the peers to probe (a pod per team namespace, each team's agent,
// kube-dns, the admin agent, an address outside the cluster) and the ports to probe (those
// the policies name, the ones the product needs, and one no policy names).

import { groupOf, type KubeObject } from "../model/object.js";
import { TEAM_LABEL } from "../model/labels.js";
import type { NetworkPeer } from "../model/network.js";

export const AGENT_LABEL = "app.kubernetes.io/name";
export const AGENT_NAME = "tenantry-agent";
export const SYSTEM_NAMESPACE = "tenantry-system";
/** What the API server sets on every Namespace (since Kubernetes 1.21). */
export const NAME_LABEL = "kubernetes.io/metadata.name";
/** An address outside the cluster (TEST-NET-3, RFC 5737): the Git host, the API server, the internet. */
export const OUTSIDE_IP = "203.0.113.10";
export const DNS_PORTS = ["UDP/53", "TCP/53"] as const;
/** What the agent needs to leave its namespace for: Git over SSH and HTTPS, the API server. */
export const AGENT_PORTS = ["TCP/22", "TCP/443", "TCP/6443"] as const;
/** A port no generated policy names: what "every port" rules let through. */
export const UNNAMED_PORT = "TCP/8080";

export interface NetworkModel {
  readonly peers: readonly NetworkPeer[];
  readonly ports: readonly string[];
  /** The NetworkPolicies, as the analyzer reads them (metadata.name/namespace and spec). */
  readonly policies: readonly KubeObject[];
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const labelsOf = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(rec(v)).filter((e): e is [string, string] => typeof e[1] === "string"));

export function isNetworkPolicy(o: KubeObject): boolean {
  return o.kind === "NetworkPolicy" && groupOf(o.apiVersion) === "networking.k8s.io";
}

/** A stable address in 10.0.0.0/8 for a peer (FNV-1a of its id): the same at base and head. */
export function podIp(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `10.${(h >>> 16) & 0xff}.${(h >>> 8) & 0xff}.${(h & 0xff) % 254 + 1}`;
}

function portLabel(protocol: unknown, port: number): string {
  return `${typeof protocol === "string" ? protocol : "TCP"}/${port}`;
}

/** The pod template of a workload kind tenantry renders the agent as, or undefined. */
function podTemplate(o: KubeObject): Obj | undefined {
  if (groupOf(o.apiVersion) !== "apps" || (o.kind !== "Deployment" && o.kind !== "StatefulSet" && o.kind !== "DaemonSet")) return undefined;
  return rec(rec(o.spec).template);
}

function namedPorts(template: Obj): Record<string, string> {
  const names: Record<string, string> = {};
  for (const c of list(rec(template.spec).containers).map(rec)) {
    for (const p of list(c.ports).map(rec)) {
      if (typeof p.name === "string" && typeof p.containerPort === "number") names[portLabel(p.protocol, p.containerPort)] = p.name;
    }
  }
  return names;
}

function namespaceLabels(name: string, labels: Record<string, string> | undefined): Record<string, string> {
  return { ...labels, [NAME_LABEL]: name };
}

function peer(p: Omit<NetworkPeer, "ip">): NetworkPeer {
  return { ...p, ip: p.kind === "outside" ? OUTSIDE_IP : podIp(p.id) };
}

/** kube-dns as CoreDNS runs it: k8s-app=kube-dns in kube-system, ports dns (UDP 53) and dns-tcp. */
function kubeDns(): NetworkPeer {
  return peer({
    id: "kube-system/kube-dns",
    kind: "dns",
    namespace: "kube-system",
    team: null,
    namespaceLabels: namespaceLabels("kube-system", {}),
    podLabels: { "k8s-app": "kube-dns" },
    portNames: { "UDP/53": "dns", "TCP/53": "dns-tcp" },
  });
}

/**
 * The peers of `objects`: a generic pod in each team Namespace (one carrying the team
 * label), the agent of each namespace that runs one (its workload's pod labels and named
 * ports), kube-dns, and the outside address. `teams` adds namespaces of teams whose objects
 * are not in `objects` (a plan builds only what changed), as create-team renders them.
 */
export function networkPeers(objects: readonly KubeObject[], teams: readonly string[] = []): NetworkPeer[] {
  const peers: NetworkPeer[] = [];
  const nsLabels = new Map<string, Record<string, string>>();
  const teamOf = new Map<string, string>();
  for (const o of objects) {
    if (o.kind !== "Namespace" || o.apiVersion !== "v1") continue;
    nsLabels.set(o.metadata.name, namespaceLabels(o.metadata.name, o.metadata.labels));
    const team = o.metadata.labels?.[TEAM_LABEL];
    if (team !== undefined) teamOf.set(o.metadata.name, team);
  }
  for (const t of teams) {
    if (nsLabels.has(t)) continue;
    nsLabels.set(t, namespaceLabels(t, { [TEAM_LABEL]: t }));
    teamOf.set(t, t);
  }
  for (const [ns, team] of teamOf) {
    peers.push(peer({ id: ns, kind: "pod", namespace: ns, team, namespaceLabels: nsLabels.get(ns) ?? {}, podLabels: {}, portNames: {} }));
  }
  const agents = new Set<string>();
  for (const o of objects) {
    const template = podTemplate(o);
    const ns = o.metadata.namespace;
    if (template === undefined || ns === undefined) continue;
    const podLabels = labelsOf(rec(template.metadata).labels);
    if (podLabels[AGENT_LABEL] !== AGENT_NAME || agents.has(ns)) continue;
    agents.add(ns);
    const team = teamOf.get(ns) ?? null;
    peers.push(
      peer({ id: `${ns}/${AGENT_NAME}`, kind: team === null ? "admin-agent" : "agent", namespace: ns, team, namespaceLabels: nsLabels.get(ns) ?? namespaceLabels(ns, {}), podLabels, portNames: namedPorts(template) }),
    );
  }
  // Teams not built (plan): their agent as create-team renders it.
  for (const t of teams) {
    if (agents.has(t) || objects.some((o) => o.kind === "Namespace" && o.metadata.name === t)) continue;
    peers.push(peer({ id: `${t}/${AGENT_NAME}`, kind: "agent", namespace: t, team: t, namespaceLabels: nsLabels.get(t) ?? {}, podLabels: { [AGENT_LABEL]: AGENT_NAME }, portNames: { "TCP/8080": "http", "TCP/8081": "metrics" } }));
  }
  peers.push(kubeDns());
  peers.push(peer({ id: "outside", kind: "outside", namespace: null, team: null, namespaceLabels: {}, podLabels: {}, portNames: {} }));
  return peers.sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const KIND_RANK: Readonly<Record<NetworkPeer["kind"], number>> = { pod: 0, agent: 0, dns: 1, "admin-agent": 2, outside: 3 };

function portOrder(a: string, b: string): number {
  const [pa = "", na = "0"] = a.split("/");
  const [pb = "", nb = "0"] = b.split("/");
  return Number(na) - Number(nb) || (pa < pb ? 1 : pa > pb ? -1 : 0);
}

/**
 * The ports to probe: DNS, the agent's, one no policy names, and every port the policies
 * name (a named port through the peers that name it; a range by its two ends).
 */
export function probedPorts(policies: readonly KubeObject[], peers: readonly NetworkPeer[]): string[] {
  const ports = new Set<string>([...DNS_PORTS, ...AGENT_PORTS, UNNAMED_PORT]);
  for (const p of policies) {
    const spec = rec(p.spec);
    for (const rule of [...list(spec.ingress), ...list(spec.egress)].map(rec)) {
      for (const np of list(rule.ports).map(rec)) {
        if (typeof np.port === "number") {
          ports.add(portLabel(np.protocol, np.port));
          if (typeof np.endPort === "number") ports.add(portLabel(np.protocol, np.endPort));
        } else if (typeof np.port === "string") {
          const protocol = typeof np.protocol === "string" ? np.protocol : "TCP";
          for (const peer of peers) {
            for (const [label, name] of Object.entries(peer.portNames)) if (name === np.port && label.startsWith(`${protocol}/`)) ports.add(label);
          }
        }
      }
    }
  }
  return [...ports].sort(portOrder);
}

/** The model of `objects` (see networkPeers for `teams`). */
export function networkModel(objects: readonly KubeObject[], teams: readonly string[] = []): NetworkModel {
  const policies = objects.filter(isNetworkPolicy).map((p) => ({ apiVersion: p.apiVersion, kind: p.kind, metadata: { name: p.metadata.name, namespace: p.metadata.namespace ?? "default" }, spec: p.spec ?? {} }));
  const peers = networkPeers(objects, teams);
  return { peers, ports: probedPorts(policies, peers), policies };
}
