// What the matrix must show for an admin repo, pure. Each rule is one check a reviewer can
// grep for; each problem is one line naming the pair and the fix.
//
//   cross-team:   a team's namespace admits (ingress) another team's pods only when it
//                 `--allow-from`s that team (team.yaml). Isolation rests on the destination:
//                 a team controls its own egress through its repo.
//   dns:          every team pod and agent reaches kube-dns on UDP and TCP 53.
//   agent-egress: every agent reaches the outside address on TCP 22, 443 and 6443.
//   egress:       nothing else leaves a team namespace (what create-team renders; a team's
//                 repo may open its own egress, the admin repo does not).

import type { NetworkMatrix, NetworkPeer } from "../model/network.js";
import { AGENT_PORTS, DNS_PORTS } from "./model.js";
import { allowedPorts, pairIndex } from "./matrix.js";

export type NetworkRule = "cross-team" | "dns" | "agent-egress" | "egress";

export interface NetworkProblem {
  readonly rule: NetworkRule;
  readonly from: string;
  readonly to: string;
  readonly ports: readonly string[];
  readonly message: string;
}

/** Which teams each team lets in (team.yaml's allowFrom). */
export type AllowFrom = ReadonlyMap<string, readonly string[]>;

function overlay(team: string): string {
  return `cluster/${team}/`;
}

export function judgeNetwork(m: NetworkMatrix, allowFrom: AllowFrom): NetworkProblem[] {
  const pairs = pairIndex(m);
  const get = (s: NetworkPeer, d: NetworkPeer): ReturnType<typeof pairs.get> => pairs.get(`${s.id}\u0000${d.id}`);
  const problems: NetworkProblem[] = [];
  const add = (rule: NetworkRule, s: NetworkPeer, d: NetworkPeer, ports: readonly string[], message: string): void => {
    problems.push({ rule, from: s.id, to: d.id, ports, message: `${s.id} → ${d.id}: ${message}` });
  };
  const dns = m.peers.find((p) => p.kind === "dns");
  const outside = m.peers.find((p) => p.kind === "outside");
  for (const s of m.peers) {
    if (s.team === null) continue;
    const team = s.team;
    if (dns !== undefined) {
      const open = allowedPorts(get(s, dns));
      const refused = DNS_PORTS.filter((p) => !open.includes(p));
      if (refused.length > 0) {
        add("dns", s, dns, refused, `DNS refused on ${refused.join(", ")}: its pods cannot resolve names; fix: restore NetworkPolicy ${s.namespace ?? "?"}/tenantry-allow-dns in ${overlay(team)} (tenantry create-team ${team} renders it again)`);
      }
    }
    if (s.kind === "agent" && outside !== undefined) {
      const open = allowedPorts(get(s, outside));
      const refused = AGENT_PORTS.filter((p) => !open.includes(p));
      if (refused.length > 0) {
        add("agent-egress", s, outside, refused, `the agent's egress is refused on ${refused.join(", ")}: it cannot reach the Git host or the API server; fix: restore NetworkPolicy ${s.namespace ?? "?"}/tenantry-allow-agent-egress in ${overlay(team)} (tenantry create-team ${team} renders it again)`);
      }
    }
    for (const d of m.peers) {
      if (d === s || d.team === team) continue;
      const pair = get(s, d);
      const expected = new Set<string>([...(d.kind === "dns" ? DNS_PORTS : []), ...(s.kind === "agent" ? AGENT_PORTS : [])]);
      const widened = (pair?.egress ?? []).filter((p) => !expected.has(p));
      if (widened.length > 0) {
        add("egress", s, d, widened, `egress allowed on ${widened.join(", ")} by the admin repo's policies of ${s.namespace ?? "?"}; create-team lets only DNS and the agent's TCP 22, 443, 6443 out of a team namespace; fix: undo the edit in ${overlay(team)}network-policies.yaml (tenantry create-team ${team} renders it again)`);
      }
    }
  }
  // Ingress into a team from another team's pods.
  for (const d of m.peers) {
    if (d.team === null) continue;
    for (const s of m.peers) {
      if (s.team === null || s.team === d.team) continue;
      const admitted = get(s, d)?.ingress ?? [];
      if (admitted.length === 0 || (allowFrom.get(d.team) ?? []).includes(s.team)) continue;
      const both = allowedPorts(get(s, d));
      const how = both.length > 0 ? `reaches it on ${both.join(", ")}` : `is admitted on ${admitted.join(", ")} (its own egress refuses for now, and its team can open that)`;
      add("cross-team", s, d, admitted, `${how}, but team ${d.team} does not --allow-from team ${s.team}; fix: remove what lets it in from ${overlay(d.team)} (tenantry create-team ${d.team} renders the overlay again), or, if meant, tenantry create-team ${d.team} --allow-from ${s.team}`);
    }
  }
  return problems;
}
