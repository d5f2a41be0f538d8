// The matrix for a terminal, pure. Rows are sources, columns destinations (numbered, the
// numbers listed with the rows). A cell: ✓ connects on every probed port; a letter: connects
// on some ports (the letters are listed); ○ the destination admits it but the source's own
// egress refuses (the source's team can open its egress: isolation rests on the
// destination); · refused. Past MAX_MATRIX_PEERS peers the grid would not fit a screen: each
// source's reach is given as a line instead, and sources whose reach reads the same relative
// to their own namespace share one line.

import type { NetworkMatrix, NetworkPeer } from "../model/network.js";
import { allowedPorts, pairIndex } from "./matrix.js";
import { escapeControl } from "../model/safe-text.js";

// Ids and port labels come from the admin repo's files (a namespace's name, a policy's
// protocol): each is shown escaped, so none can break a line or drive the terminal.
const show = escapeControl;

export const MAX_MATRIX_PEERS = 40;
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function cellsOf(m: NetworkMatrix): { cell: (s: NetworkPeer, d: NetworkPeer) => string; legend: string[] } {
  const pairs = pairIndex(m);
  const sets = new Map<string, string>();
  const cell = (s: NetworkPeer, d: NetworkPeer): string => {
    if (s === d) return "-";
    const pair = pairs.get(`${s.id}\u0000${d.id}`);
    const both = allowedPorts(pair);
    if (both.length === m.ports.length) return "✓";
    if (both.length > 0) {
      const key = both.map(show).join(", ");
      let letter = sets.get(key);
      if (letter === undefined) {
        letter = LETTERS[sets.size] ?? "*";
        sets.set(key, letter);
      }
      return letter;
    }
    return (pair?.ingress.length ?? 0) > 0 ? "○" : "·";
  };
  for (const s of m.peers) for (const d of m.peers) cell(s, d);
  return { cell, legend: [...sets].map(([ports, letter]) => `${letter} = ${ports}`) };
}

function grid(m: NetworkMatrix): string[] {
  const { cell, legend } = cellsOf(m);
  const width = Math.max(...m.peers.map((p, i) => `${i + 1} ${show(p.id)}`.length));
  const num = String(m.peers.length).length + 1;
  const lines = [`${"from \\ to".padEnd(width)} ${m.peers.map((_, i) => String(i + 1).padStart(num)).join("")}`];
  m.peers.forEach((s, i) => {
    lines.push(`${`${i + 1} ${show(s.id)}`.padEnd(width)} ${m.peers.map((d) => cell(s, d).padStart(num)).join("")}`);
  });
  lines.push("", `✓ every probed port · refused ○ admitted by the destination, refused by the source's egress${legend.length > 0 ? `; ${legend.join("; ")}` : ""}`);
  return lines;
}

/** A destination relative to a source, so that the teams' lines read alike. */
function relative(s: NetworkPeer, d: NetworkPeer): string {
  if (d.namespace !== null && d.namespace === s.namespace) return d.kind === "pod" ? "own namespace" : "own agent";
  return show(d.id);
}

function summary(m: NetworkMatrix): string[] {
  const pairs = pairIndex(m);
  const groups = new Map<string, string[]>();
  for (const s of m.peers) {
    const reach = m.peers
      .filter((d) => d !== s)
      .map((d) => {
        const both = allowedPorts(pairs.get(`${s.id}\u0000${d.id}`));
        return both.length === 0 ? null : `${relative(s, d)} (${both.length === m.ports.length ? "every port" : both.map(show).join(", ")})`;
      })
      .filter((r): r is string => r !== null);
    const key = `${s.kind}\u0000${reach.join("; ")}`;
    groups.set(key, [...(groups.get(key) ?? []), show(s.id)]);
  }
  return [...groups].map(([key, ids]) => {
    const reach = key.slice(key.indexOf("\u0000") + 1);
    const who = ids.length === 1 ? (ids[0] ?? "") : `${ids.length} peers (${ids.slice(0, 3).join(", ")}${ids.length > 3 ? ", …" : ""})`;
    return `${who} → ${reach === "" ? "nothing" : reach}`;
  });
}

export function formatMatrix(m: NetworkMatrix): string {
  const head = `Network (judged by ${show(m.engine)}): ${m.peers.length} peers, ports ${m.ports.map(show).join(", ")}`;
  const body = m.peers.length <= MAX_MATRIX_PEERS ? grid(m) : ["(too many peers for a grid: each source's reach, alike sources on one line)", ...summary(m)];
  return [head, ...body].join("\n");
}
