// The matrix's difference between base and head, pure: for each pair, the ports a direction
// opened or closed. A direction is decided by one namespace's policies (ingress by the
// destination's, egress by the source's), and is compared with what that side allowed before:
//
// - a pair whose two peers existed at base: with base's answer;
// - a pair with a peer new at head (a team added, an agent or a team label added): there is no
//   base answer, so with what the tenancy lets a new pair have, the rules of `validate
//   --network`. Within one namespace: everything. Decided by a team's policies: ingress from
//   another team only into a new peer whose team.yaml `--allow-from`s that team (an existing
//   team letting a new one in is news, declared or not), egress only DNS to kube-dns and, from
//   an agent, TCP 22, 443 and 6443. Decided by another namespace (kube-system,
//   tenantry-system): nothing new when its policies did not change or it is new itself (a new
//   team gets what every team gets); when they changed, what it gives every team that existed
//   at base, at head (the opening for those teams is their own pairs' news).
// - a direction decided by a namespace whose policies plan did not read (an overlay it did not
//   build: nothing in it changed) is not compared: its answer there is not known. (Such a
//   namespace is modelled without policies, which reads as "everything open"; `validate
//   --network` judges the whole matrix.)

import type { NetworkDelta, NetworkMatrix, NetworkPeer, PairChange } from "../model/network.js";
import type { AllowFrom } from "./judge.js";
import { pairIndex } from "./matrix.js";
import { AGENT_PORTS, DNS_PORTS } from "./model.js";

export interface DeltaOptions {
  /** Which teams each team lets in (team.yaml's allowFrom at head); absent: none. */
  readonly allowFrom?: AllowFrom;
  /** Namespaces whose policies were not read at either ref (overlays plan did not build). */
  readonly unread?: ReadonlySet<string>;
}

type Direction = "ingress" | "egress";

function minus(a: readonly string[], b: readonly string[]): string[] {
  if (b.length === 0) return [...a];
  const drop = new Set(b);
  return a.filter((x) => !drop.has(x));
}

function intersect(sets: readonly (readonly string[])[]): string[] {
  const [first, ...rest] = sets;
  if (first === undefined) return [];
  return first.filter((x) => rest.every((s) => s.includes(x)));
}

export function networkDelta(base: NetworkMatrix, head: NetworkMatrix, namespaces: readonly string[], opts: DeltaOptions = {}): NetworkDelta {
  const before = pairIndex(base);
  const after = pairIndex(head);
  const existed = new Set(base.peers.map((p) => p.id));
  const peerOf = new Map(head.peers.map((p) => [p.id, p]));
  const changed = new Set(namespaces);
  const unread = opts.unread ?? new Set<string>();
  const allowFrom = opts.allowFrom ?? new Map<string, readonly string[]>();
  const all = head.ports;

  // What a changed platform namespace's peer gives, in one direction, every team peer of a
  // kind that existed at base (at head), by `peer\0direction\0kind`.
  const given = new Map<string, string[]>();
  const givenToEveryTeam = (decider: NetworkPeer, direction: Direction, kind: NetworkPeer["kind"]): string[] => {
    const key = `${decider.id}\u0000${direction}\u0000${kind}`;
    let ports = given.get(key);
    if (ports === undefined) {
      const twins = head.peers.filter((t) => t.team !== null && t.kind === kind && existed.has(t.id) && t.namespace !== decider.namespace);
      ports = intersect(twins.map((t) => (direction === "ingress" ? after.get(`${t.id}\u0000${decider.id}`)?.ingress : after.get(`${decider.id}\u0000${t.id}`)?.egress) ?? []));
      given.set(key, ports);
    }
    return ports;
  };

  /** The ports a direction of a pair with a new peer may have without being news. */
  const expected = (direction: Direction, s: NetworkPeer, d: NetworkPeer): readonly string[] => {
    const decider = direction === "ingress" ? d : s;
    const other = direction === "ingress" ? s : d;
    if (decider.namespace === null || decider.namespace === other.namespace) return all;
    if (decider.team === null) {
      if (!existed.has(decider.id) || !changed.has(decider.namespace)) return all;
      return givenToEveryTeam(decider, direction, other.kind);
    }
    if (direction === "ingress") {
      const declared = !existed.has(d.id) && s.team !== null && (allowFrom.get(decider.team) ?? []).includes(s.team);
      return declared ? all : [];
    }
    return [...(d.kind === "dns" ? DNS_PORTS : []), ...(s.kind === "agent" ? AGENT_PORTS : [])];
  };

  // The outside and witness addresses have no policies: their side is open at both refs, and
  // a difference there is only which ports were probed.
  const readAt = (p: NetworkPeer): boolean => p.namespace !== null && !unread.has(p.namespace);
  const opened: PairChange[] = [];
  const closed: PairChange[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(key);
    const h = after.get(key);
    const [from = "", to = ""] = key.split("\u0000");
    const hi = h?.ingress ?? [];
    const he = h?.egress ?? [];
    const bi = b?.ingress ?? [];
    const be = b?.egress ?? [];
    const s = peerOf.get(from);
    const d = peerOf.get(to);
    // A peer gone at head (a team removed) closes everything: team-removed says so.
    if (s === undefined || d === undefined) continue;
    const old = existed.has(from) && existed.has(to);
    const open = {
      from,
      to,
      ingress: readAt(d) ? minus(hi, old ? bi : expected("ingress", s, d)) : [],
      egress: readAt(s) ? minus(he, old ? be : expected("egress", s, d)) : [],
    };
    if (open.ingress.length + open.egress.length > 0) opened.push(open);
    const shut = { from, to, ingress: readAt(d) ? minus(bi, hi) : [], egress: readAt(s) ? minus(be, he) : [] };
    if (shut.ingress.length + shut.egress.length > 0) closed.push(shut);
  }
  const limits = [...new Set([...(base.limits ?? []), ...(head.limits ?? [])])];
  return { engine: head.engine, namespaces: [...namespaces].sort(), opened, closed, ...(limits.length > 0 ? { limits } : {}) };
}
