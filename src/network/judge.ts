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
//   address:      no team namespace admits an address of an in-cluster range (RFC 1918,
//                 100.64/10, link-local 169.254/16) by ipBlock: create-team renders none, and
//                 such an address may be any pod or node (its egress there is `egress`).
//   admin-agent:  a team peer reaches the admin agent (tenantry-system) on its http port
//                 (webhooks, probes) only: its metrics and anything else stay closed to teams.
//   limits:       the policies name more ports, selectors or ipBlocks than the model judges.

import type { NetworkMatrix, NetworkPeer } from "../model/network.js";
import { AGENT_PORTS, DNS_PORTS, inClusterRange } from "./model.js";
import { allowedPorts, pairIndex } from "./matrix.js";

export type NetworkRule = "cross-team" | "dns" | "agent-egress" | "egress" | "address" | "admin-agent" | "limits";

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
  for (const d of m.peers) {
    // Ingress into a team from an in-cluster address.
    if (d.team !== null) {
      for (const s of m.peers) {
        const range = s.kind === "address" ? inClusterRange(s.ip) : undefined;
        const admitted = range === undefined ? [] : (get(s, d)?.ingress ?? []);
        if (admitted.length === 0) continue;
        add("address", s, d, admitted, `admitted on ${admitted.join(", ")} by an ipBlock of ${d.namespace ?? "?"}'s policies, and ${s.ip} is in ${range ?? "?"}: any pod or node of the cluster may have such an address; fix: remove the ipBlock from ${overlay(d.team)}network-policies.yaml (tenantry create-team ${d.team} renders it again)`);
      }
    }
    // Ingress into the admin agent from a team: its http port only.
    if (d.kind === "admin-agent") {
      const http = Object.entries(d.portNames).filter(([, name]) => name === "http").map(([label]) => label);
      for (const s of m.peers) {
        if (s.team === null) continue;
        const extra = (get(s, d)?.ingress ?? []).filter((p) => !http.includes(p));
        if (extra.length === 0) continue;
        add("admin-agent", s, d, extra, `the admin agent admits team ${s.team} on ${extra.join(", ")}; teams reach it on its http port (webhooks) only; fix: remove the label that opens it (tenantry.dev/metrics-reader) from Namespace ${s.namespace ?? "?"} in ${overlay(s.team)}namespace.yaml, or undo the edit in cluster/common/network-policies.yaml`);
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
  for (const limit of m.limits ?? []) problems.push({ rule: "limits", from: "", to: "", ports: [], message: `not judged in full: ${limit}` });
  return problems;
}
