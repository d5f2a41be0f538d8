// The matrix's difference between base and head, pure: for each pair, the ports a direction
// opened or closed. A direction is compared only where it was judged at both refs on the
// same policies' side: ingress when the destination existed at base and either the source did
// too or the destination's policies changed; egress the other way round (a new team reaching
// DNS is how it starts, not a loosening; an old team letting a new one in is).

import type { NetworkDelta, NetworkMatrix, PairChange } from "../model/network.js";
import { pairIndex } from "./matrix.js";

function minus(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((x) => !b.includes(x));
}

export function networkDelta(base: NetworkMatrix, head: NetworkMatrix, namespaces: readonly string[]): NetworkDelta {
  const before = pairIndex(base);
  const after = pairIndex(head);
  const existed = new Set(base.peers.map((p) => p.id));
  const exists = new Set(head.peers.map((p) => p.id));
  const changed = new Set(namespaces);
  const namespaceOf = new Map(head.peers.map((p) => [p.id, p.namespace]));
  const judged = (side: string, other: string): boolean => existed.has(side) && (existed.has(other) || changed.has(namespaceOf.get(side) ?? ""));
  const opened: PairChange[] = [];
  const closed: PairChange[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const [from = "", to = ""] = key.split("\u0000");
    const b = before.get(key);
    const h = after.get(key);
    const bi = b?.ingress ?? [];
    const be = b?.egress ?? [];
    const hi = h?.ingress ?? [];
    const he = h?.egress ?? [];
    const open = { from, to, ingress: judged(to, from) ? minus(hi, bi) : [], egress: judged(from, to) ? minus(he, be) : [] };
    if (open.ingress.length + open.egress.length > 0) opened.push(open);
    const shut = { from, to, ingress: minus(bi, hi), egress: minus(be, he) };
    // A peer gone at head (a team removed) closes everything: team-removed says so.
    if (shut.ingress.length + shut.egress.length > 0 && exists.has(from) && exists.has(to)) closed.push(shut);
  }
  return { engine: head.engine, namespaces: [...namespaces].sort(), opened, closed };
}
