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
  /** What the model had to leave out (too many ports, selectors or ipBlocks named). */
  readonly limits: readonly string[];
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

function sortedLabels(labels: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `team1/pod(app=web,role=x)`: a witness pod by its labels. */
function witnessId(ns: string, labels: Readonly<Record<string, string>>): string {
  return `${ns}/pod(${sortedLabels(labels).map(([k, v]) => `${k}=${v}`).join(",")})`;
}

/** The witness pods' labels for a team namespace (by its name and labels). */
type Witnesses = (ns: string, namespaceLabels: Readonly<Record<string, string>>) => readonly Record<string, string>[];

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

/** Options of the model (see networkModel). */
export interface ModelOptions {
  /** Teams whose objects are not among `objects` (a plan builds only what changed), as create-team renders them. */
  readonly teams?: readonly string[];
  /**
   * NetworkPolicies of the other ref (plan): their selectors, named ports, protocols and
   * ipBlocks shape the model too, so both refs have the same peers and ports.
   */
  readonly alsoPolicies?: readonly KubeObject[];
}

/**
 * The peers of `objects`: a generic pod in each team Namespace (one carrying the team
 * label), a witness pod there for each pod selector the policies use on it (below), the
 * agent of each namespace that runs one (its workload's pod labels and named ports),
 * kube-dns, the outside address, and a witness address for each ipBlock range. Team pods
 * carry every port name the policies use (`names`).
 */
export function networkPeers(objects: readonly KubeObject[], opts: ModelOptions & { names?: Readonly<Record<string, string>>; witnesses?: Witnesses } = {}): NetworkPeer[] {
  const teams = opts.teams ?? [];
  const names = opts.names ?? {};
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
  const agents = new Map<string, Record<string, string>>();
  for (const o of objects) {
    const template = podTemplate(o);
    const ns = o.metadata.namespace;
    if (template === undefined || ns === undefined) continue;
    const podLabels = labelsOf(rec(template.metadata).labels);
    if (podLabels[AGENT_LABEL] !== AGENT_NAME || agents.has(ns)) continue;
    agents.set(ns, podLabels);
    const team = teamOf.get(ns) ?? null;
    peers.push(
      peer({ id: `${ns}/${AGENT_NAME}`, kind: team === null ? "admin-agent" : "agent", namespace: ns, team, namespaceLabels: nsLabels.get(ns) ?? namespaceLabels(ns, {}), podLabels, portNames: namedPorts(template) }),
    );
  }
  // Teams not built (plan): their agent as create-team renders it.
  for (const t of teams) {
    if (agents.has(t) || objects.some((o) => o.kind === "Namespace" && o.metadata.name === t)) continue;
    agents.set(t, { [AGENT_LABEL]: AGENT_NAME });
    peers.push(peer({ id: `${t}/${AGENT_NAME}`, kind: "agent", namespace: t, team: t, namespaceLabels: nsLabels.get(t) ?? {}, podLabels: { [AGENT_LABEL]: AGENT_NAME }, portNames: { "TCP/8080": "http", "TCP/8081": "metrics" } }));
  }
  for (const [ns, team] of teamOf) {
    const labels = nsLabels.get(ns) ?? {};
    peers.push(peer({ id: ns, kind: "pod", namespace: ns, team, namespaceLabels: labels, podLabels: {}, portNames: names }));
    const agent = agents.get(ns);
    for (const podLabels of opts.witnesses?.(ns, labels) ?? []) {
      // A witness with a subset of the agent's labels: the agent stands for it.
      if (agent !== undefined && Object.entries(podLabels).every(([k, v]) => agent[k] === v)) continue;
      peers.push(peer({ id: witnessId(ns, podLabels), kind: "pod", namespace: ns, team, namespaceLabels: labels, podLabels, portNames: names }));
    }
  }
  peers.push(kubeDns());
  peers.push(peer({ id: "outside", kind: "outside", namespace: null, team: null, namespaceLabels: {}, podLabels: {}, portNames: {} }));
  return peers.sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const KIND_RANK: Readonly<Record<NetworkPeer["kind"], number>> = { pod: 0, agent: 0, dns: 1, "admin-agent": 2, outside: 3, address: 4 };

/** At most this many distinct ports are probed; a PR naming more cannot drive the analyzer for hours. */
export const MAX_PORTS = 256;
/** At most this many witness pods per namespace, and witness addresses in all. */
export const MAX_WITNESSES = 64;
/** Named ports a team pod carries get numbers from here on (skipping any a policy names). */
export const NAMED_PORT_BASE = 30000;
const WITNESS_VALUE = "witness";

/** Address ranges inside a cluster (pods, services, nodes) or on its hosts: never a team's to open by ipBlock. */
export const IN_CLUSTER_RANGES: readonly (readonly [string, string])[] = [
  ["10.0.0.0/8", "private (RFC 1918)"],
  ["172.16.0.0/12", "private (RFC 1918)"],
  ["192.168.0.0/16", "private (RFC 1918)"],
  ["100.64.0.0/10", "shared address space (RFC 6598)"],
  ["169.254.0.0/16", "link-local, the cloud metadata service (169.254.169.254)"],
];

type Range = readonly [number, number];

function ipv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((a, o) => a * 256 + o, 0);
}

/** An IPv4 CIDR as [first, last], or undefined (IPv6, malformed). */
export function cidrRange(cidr: string): Range | undefined {
  const [addr = "", bits = ""] = cidr.split("/");
  const base = ipv4(addr);
  const n = Number(bits);
  if (base === undefined || !/^\d{1,2}$/.test(bits) || n > 32) return undefined;
  const size = 2 ** (32 - n);
  const first = base - (base % size);
  return [first, first + size - 1];
}

function ipText(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** The in-cluster range holding `ip`, described, or undefined. */
export function inClusterRange(ip: string): string | undefined {
  const n = ipv4(ip);
  if (n === undefined) return undefined;
  for (const [cidr, what] of IN_CLUSTER_RANGES) {
    const r = cidrRange(cidr);
    if (r !== undefined && n >= r[0] && n <= r[1]) return `${cidr}, ${what}`;
  }
  return undefined;
}

/** The lowest address of `within` outside every range of `out`, or undefined. */
function firstOutside(within: Range, out: readonly Range[]): number | undefined {
  const candidates = [within[0], ...out.map((r) => r[1] + 1)].filter((c) => c >= within[0] && c <= within[1]).sort((a, b) => a - b);
  return candidates.find((c) => out.every((r) => c < r[0] || c > r[1]));
}

/**
 * Witness addresses of an ipBlock: in each in-cluster range it meets, and in the rest of the
 * address space, the lowest address its `except` list does not name. So an ipBlock is judged
 * for addresses its author cannot have listed away, not for the model's own pod addresses.
 */
function blockWitnesses(block: Obj): string[] {
  const whole = cidrRange(text(block.cidr));
  if (whole === undefined) return [];
  const except = strings(block.except).map(cidrRange).filter((r): r is Range => r !== undefined);
  const ranges = IN_CLUSTER_RANGES.map(([c]) => cidrRange(c)).filter((r): r is Range => r !== undefined);
  const out: number[] = [];
  for (const r of ranges) {
    const within: Range = [Math.max(whole[0], r[0]), Math.min(whole[1], r[1])];
    if (within[0] > within[1]) continue;
    const ip = firstOutside(within, except);
    if (ip !== undefined) out.push(ip);
  }
  // Elsewhere: not "this network" (0/8) nor loopback (127/8), which no packet comes from.
  const elsewhere = firstOutside(whole, [...except, ...ranges, [0, 0x00ffffff], [0x7f000000, 0x7fffffff]]);
  if (elsewhere !== undefined) out.push(elsewhere);
  return out.map(ipText).filter((ip) => ip !== OUTSIDE_IP);
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");
const strings = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === "string");

interface Selector {
  readonly matchLabels: Record<string, string>;
  readonly matchExpressions: { key: string; operator: string; values: string[] }[];
}

function selector(v: unknown): Selector {
  const s = rec(v);
  return {
    matchLabels: labelsOf(s.matchLabels),
    matchExpressions: list(s.matchExpressions)
      .map(rec)
      .map((e) => ({ key: text(e.key), operator: text(e.operator), values: strings(e.values) })),
  };
}

/**
 * Whether a label selector matches `labels`: used only to choose which namespaces get a
 * witness pod for a peer's pod selector (the engine judges every answer).
 */
function selects(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  if (Object.entries(sel.matchLabels).some(([k, v]) => labels[k] !== v)) return false;
  return sel.matchExpressions.every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? "";
    if (e.operator === "In") return has && e.values.includes(value);
    if (e.operator === "NotIn") return !has || !e.values.includes(value);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return true; // unknown operator: assume it may match
  });
}

/**
 * The pods a selector tells apart: one it selects, and, for each NotIn or DoesNotExist, one it
 * leaves out for that expression alone. The selected pod satisfies every term together
 * (matchLabels and every expression on the same key: In narrows, NotIn forbids, Exists and
 * DoesNotExist require or forbid the key); a selector no pod satisfies selects nothing and
 * needs no witness. An empty selector needs none: the namespace's unlabelled pod is selected.
 */
function witnessLabels(sel: Selector): Record<string, string>[] {
  const keys = new Set([...Object.keys(sel.matchLabels), ...sel.matchExpressions.map((e) => e.key)]);
  const selected: Record<string, string> = {};
  for (const key of keys) {
    const on = sel.matchExpressions.filter((e) => e.key === key);
    let allowed: string[] | undefined = Object.hasOwn(sel.matchLabels, key) ? [sel.matchLabels[key] ?? ""] : undefined;
    for (const e of on.filter((x) => x.operator === "In")) allowed = (allowed ?? e.values).filter((v) => e.values.includes(v));
    const forbidden = new Set(on.filter((x) => x.operator === "NotIn").flatMap((e) => e.values));
    const absent = on.some((e) => e.operator === "DoesNotExist");
    const present = allowed !== undefined || on.some((e) => e.operator === "Exists");
    if (absent && present) return []; // no pod has and lacks the key
    if (absent) continue;
    if (allowed !== undefined) {
      const value = allowed.find((v) => !forbidden.has(v));
      if (value === undefined) return []; // every value the selector allows is also forbidden
      selected[key] = value;
    } else if (present) {
      let value = WITNESS_VALUE;
      for (let i = 1; forbidden.has(value); i++) value = `${WITNESS_VALUE}-${i}`;
      selected[key] = value;
    }
  }
  if (!selects(sel, selected)) return []; // unknown operators: the engine gets no witness for them
  const out = [selected];
  for (const e of sel.matchExpressions) {
    if (e.operator === "NotIn") out.push({ ...selected, [e.key]: e.values[0] ?? WITNESS_VALUE });
    else if (e.operator === "DoesNotExist") out.push({ ...selected, [e.key]: WITNESS_VALUE });
  }
  return out.filter((l) => Object.keys(l).length > 0);
}

interface PolicyFacts {
  /** Pod selectors by the namespace whose pods they pick: each policy's spec.podSelector. */
  readonly applied: Map<string, Selector[]>;
  /** Peer pod selectors: namespaceSelector (undefined: the policy's own namespace) and podSelector. */
  readonly peerSelectors: { namespace: string; namespaceSelector: Selector | undefined; podSelector: Selector }[];
  /** Port names by protocol: `TCP` -> {web, http}. */
  readonly names: Map<string, Set<string>>;
  /** Numeric ports (with the ends of ranges) and protocols named without a port. */
  readonly numbers: Set<string>;
  readonly ipBlocks: Obj[];
}

function policyFacts(policies: readonly KubeObject[]): PolicyFacts {
  const facts: PolicyFacts = { applied: new Map(), peerSelectors: [], names: new Map(), numbers: new Set(), ipBlocks: [] };
  for (const p of policies) {
    const ns = p.metadata.namespace ?? "default";
    const spec = rec(p.spec);
    facts.applied.set(ns, [...(facts.applied.get(ns) ?? []), selector(spec.podSelector)]);
    for (const [direction, field] of [["ingress", "from"], ["egress", "to"]] as const) {
      for (const rule of list(spec[direction]).map(rec)) {
        for (const peer of list(rule[field]).map(rec)) {
          if (peer.ipBlock !== undefined) facts.ipBlocks.push(rec(peer.ipBlock));
          if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined) {
            facts.peerSelectors.push({ namespace: ns, namespaceSelector: peer.namespaceSelector === undefined ? undefined : selector(peer.namespaceSelector), podSelector: selector(peer.podSelector) });
          }
        }
        for (const np of list(rule.ports).map(rec)) {
          const protocol = typeof np.protocol === "string" ? np.protocol : "TCP";
          if (typeof np.port === "number") {
            facts.numbers.add(portLabel(protocol, np.port));
            if (typeof np.endPort === "number") facts.numbers.add(portLabel(protocol, np.endPort));
          } else if (typeof np.port === "string") {
            const set = facts.names.get(protocol) ?? new Set<string>();
            set.add(np.port);
            facts.names.set(protocol, set);
          } else {
            // A protocol without a port: every port of it (UDP, SCTP are probed only when named).
            facts.numbers.add(`${protocol}/${UNNAMED_PORT.split("/")[1] ?? "8080"}`);
          }
        }
      }
    }
  }
  return facts;
}

function portOrder(a: string, b: string): number {
  const [pa, na] = [a.slice(0, a.lastIndexOf("/")), Number(a.slice(a.lastIndexOf("/") + 1))];
  const [pb, nb] = [b.slice(0, b.lastIndexOf("/")), Number(b.slice(b.lastIndexOf("/") + 1))];
  return na - nb || (pa < pb ? 1 : pa > pb ? -1 : 0);
}

/** The model of `objects` (see ModelOptions). */
export function networkModel(objects: readonly KubeObject[], opts: ModelOptions | readonly string[] = {}): NetworkModel {
  const options: ModelOptions = Array.isArray(opts) ? { teams: opts as readonly string[] } : (opts as ModelOptions);
  const policies = objects.filter(isNetworkPolicy).map((p) => ({ apiVersion: p.apiVersion, kind: p.kind, metadata: { name: p.metadata.name, namespace: p.metadata.namespace ?? "default" }, spec: p.spec ?? {} }));
  const facts = policyFacts([...policies, ...(options.alsoPolicies ?? []).filter(isNetworkPolicy)]);
  const limits: string[] = [];

  // Ports: what the product needs, one no policy names, every port named by number.
  const fixed = [...DNS_PORTS, ...AGENT_PORTS, UNNAMED_PORT];
  const ports = new Set<string>(fixed);
  const known = networkPeers(objects, options);
  // Named ports: the number a modelled pod gives the name, else a free one from NAMED_PORT_BASE.
  const names: Record<string, string> = {};
  const used = new Set([...facts.numbers].map((l) => Number(l.slice(l.lastIndexOf("/") + 1))));
  let next = NAMED_PORT_BASE;
  const numberOf = new Map<string, number>();
  for (const [protocol, set] of [...facts.names].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const name of [...set].sort()) {
      let n = numberOf.get(name);
      if (n === undefined) {
        const real = known.flatMap((p) => Object.entries(p.portNames)).find(([, v]) => v === name)?.[0];
        n = real !== undefined ? Number(real.slice(real.lastIndexOf("/") + 1)) : undefined;
        if (n === undefined) {
          while (used.has(next)) next++;
          n = next++;
        }
        numberOf.set(name, n);
      }
      names[portLabel(protocol, n)] = name;
    }
  }
  // The ports other modelled pods name (the agent's, kube-dns's), as the policies name them.
  const named = new Set(Object.keys(names));
  for (const p of known) for (const [label, name] of Object.entries(p.portNames)) if (facts.names.get(label.slice(0, label.lastIndexOf("/")))?.has(name) === true) named.add(label);
  for (const label of [...named].sort(portOrder)) ports.add(label);
  for (const label of [...facts.numbers].sort(portOrder)) ports.add(label);
  let probed = [...ports];
  if (probed.length > MAX_PORTS) {
    limits.push(`the policies name ${probed.length} distinct ports; only ${MAX_PORTS} (DNS, the agent's, the named ports first) are judged: name fewer ports (a range with endPort is two)`);
    probed = probed.slice(0, MAX_PORTS);
  }
  probed.sort(portOrder);
  const probedNames = Object.fromEntries(Object.entries(names).filter(([label]) => probed.includes(label)));

  // Witness pods: per team namespace, the pods the policies' selectors tell apart.
  const capped = { witnesses: false };
  const witnesses: Witnesses = (ns, nsLabels) => {
    const sels = [...(facts.applied.get(ns) ?? [])];
    for (const ps of facts.peerSelectors) {
      if (ps.namespaceSelector === undefined ? ps.namespace === ns : selects(ps.namespaceSelector, nsLabels)) sels.push(ps.podSelector);
    }
    const seen = new Map<string, Record<string, string>>();
    for (const sel of sels) for (const l of witnessLabels(sel)) seen.set(JSON.stringify(sortedLabels(l)), l);
    const all = [...seen.values()];
    if (all.length > MAX_WITNESSES) capped.witnesses = true;
    return all.slice(0, MAX_WITNESSES);
  };
  const peers = networkPeers(objects, { ...options, names: probedNames, witnesses });
  if (capped.witnesses) limits.push(`the policies select pods by more than ${MAX_WITNESSES} distinct label sets in a namespace; only the first ${MAX_WITNESSES} are judged: select by fewer labels`);

  // Witness addresses: per ipBlock, addresses its except list does not name.
  const addresses = new Set<string>();
  for (const block of facts.ipBlocks) for (const ip of blockWitnesses(block)) addresses.add(ip);
  let ips = [...addresses].sort((a, b) => (ipv4(a) ?? 0) - (ipv4(b) ?? 0));
  if (ips.length > MAX_WITNESSES) {
    limits.push(`the policies' ipBlocks need ${ips.length} witness addresses; only the first ${MAX_WITNESSES} are judged: use fewer ipBlocks`);
    ips = ips.slice(0, MAX_WITNESSES);
  }
  for (const ip of ips) peers.push({ id: `ip:${ip}`, kind: "address", namespace: null, team: null, namespaceLabels: {}, podLabels: {}, ip, portNames: {} });
  return { peers, ports: probed, policies, limits };
}
