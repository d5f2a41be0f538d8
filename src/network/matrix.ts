// The questions for tenantry-netcheck and the matrix from its answers, pure: every pair of
// peers (or only the rows and columns of some namespaces) on every probed port.

import type { NetworkMatrix, NetworkPeer, PairPorts } from "../model/network.js";
import type { NetworkModel } from "./model.js";

export interface NetcheckQuery {
  readonly source: number;
  readonly destination: number;
  readonly port: number;
  readonly portName: string;
  readonly protocol: string;
}

export interface NetcheckInput {
  readonly policies: readonly unknown[];
  readonly peers: readonly { namespace?: string; namespaceLabels?: Readonly<Record<string, string>>; podLabels?: Readonly<Record<string, string>>; ip: string }[];
  readonly queries: readonly NetcheckQuery[];
}

export interface NetcheckAnswer {
  readonly ingress: boolean;
  readonly egress: boolean;
}

function wirePeer(p: NetworkPeer): NetcheckInput["peers"][number] {
  return p.namespace === null ? { ip: p.ip } : { namespace: p.namespace, namespaceLabels: p.namespaceLabels, podLabels: p.podLabels, ip: p.ip };
}

/**
 * The questions: each ordered pair of distinct peers (not outside to outside) on each port,
 * named as the destination pod names it. With `focus`, only pairs with an end in one of those
 * namespaces.
 */
export function netcheckInput(model: NetworkModel, focus?: ReadonlySet<string>): NetcheckInput {
  const queries: NetcheckQuery[] = [];
  const inFocus = (p: NetworkPeer): boolean => focus === undefined || (p.namespace !== null && focus.has(p.namespace));
  const ports = model.ports.map((label) => {
    const slash = label.lastIndexOf("/");
    return { label, protocol: label.slice(0, slash), port: Number(label.slice(slash + 1)) };
  });
  model.peers.forEach((s, si) => {
    model.peers.forEach((d, di) => {
      if (si === di || (s.namespace === null && d.namespace === null) || !(inFocus(s) || inFocus(d))) return;
      for (const p of ports) queries.push({ source: si, destination: di, port: p.port, portName: d.portNames[p.label] ?? "", protocol: p.protocol });
    });
  });
  return { policies: model.policies, peers: model.peers.map(wirePeer), queries };
}

/** The matrix from the answers (one per query, in order). */
export function matrixOf(model: NetworkModel, input: NetcheckInput, answers: readonly NetcheckAnswer[], engine: string): NetworkMatrix {
  const pairs = new Map<string, { from: string; to: string; ingress: string[]; egress: string[] }>();
  input.queries.forEach((q, i) => {
    const a = answers[i];
    if (a === undefined || (!a.ingress && !a.egress)) return;
    const from = model.peers[q.source]?.id ?? "?";
    const to = model.peers[q.destination]?.id ?? "?";
    const key = `${from}\u0000${to}`;
    const pair = pairs.get(key) ?? { from, to, ingress: [], egress: [] };
    const label = `${q.protocol}/${q.port}`;
    if (a.ingress) pair.ingress.push(label);
    if (a.egress) pair.egress.push(label);
    pairs.set(key, pair);
  });
  return { engine, peers: model.peers, ports: model.ports, pairs: [...pairs.values()] as PairPorts[], ...(model.limits.length > 0 ? { limits: model.limits } : {}) };
}

/** The ports open both ways (the connection is made) for a pair. */
export function allowedPorts(pair: PairPorts | undefined): string[] {
  return pair === undefined ? [] : pair.ingress.filter((p) => pair.egress.includes(p));
}

/** The matrix's pairs by `from\0to`. */
export function pairIndex(m: NetworkMatrix): Map<string, PairPorts> {
  return new Map(m.pairs.map((p) => [`${p.from}\u0000${p.to}`, p]));
}
