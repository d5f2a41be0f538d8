// The vocabulary of the network analysis, shared by network/ (which computes it) and plan/
// (which reviews its difference): who can talk to whom, on which ports, as the NetworkPolicies
// say (judged by tenantry-netcheck, cyclonus's engine).

export type PeerKind = "pod" | "agent" | "dns" | "admin-agent" | "outside" | "address";

/** One endpoint of the model: a pod standing for a kind of workload, or the outside address. */
export interface NetworkPeer {
  /**
   * `team1`, `team1/tenantry-agent`, `kube-system/kube-dns`, `tenantry-system/tenantry-agent`,
   * `outside`; a witness pod `team1/pod(app=web)`; a witness address `ip:10.244.0.0`.
   */
  readonly id: string;
  readonly kind: PeerKind;
  /** null for the outside address. */
  readonly namespace: string | null;
  /** The team whose namespace holds it, or null. */
  readonly team: string | null;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly ip: string;
  /** The pod's named ports: `TCP/8080` -> `http`. */
  readonly portNames: Readonly<Record<string, string>>;
}

/** What the policies allow from one peer to another, as port labels (`TCP/53`, `UDP/53`). */
export interface PairPorts {
  readonly from: string;
  readonly to: string;
  /** Ports the destination's ingress policies admit from the source. */
  readonly ingress: readonly string[];
  /** Ports the source's egress policies let out to the destination. */
  readonly egress: readonly string[];
}

export interface NetworkMatrix {
  /** The cyclonus version that judged it. */
  readonly engine: string;
  readonly peers: readonly NetworkPeer[];
  /** Every probed port, in order. */
  readonly ports: readonly string[];
  /** Every probed pair with a port open in either direction; a pair absent is refused both ways. */
  readonly pairs: readonly PairPorts[];
  /** What the model had to leave out (too many ports or selectors named): the answer is partial. */
  readonly limits?: readonly string[];
}

/** A pair whose ports changed between base and head, per direction. */
export interface PairChange {
  readonly from: string;
  readonly to: string;
  /** The destination's ingress now admits these ports from the source (opened) / no longer (closed). */
  readonly ingress: readonly string[];
  /** The source's egress now lets these ports out to the destination (opened) / no longer (closed). */
  readonly egress: readonly string[];
}

/** What `tenantry plan` adds to the review: the matrix's difference, base to head. */
export interface NetworkDelta {
  readonly engine: string;
  /** The namespaces whose NetworkPolicies or labels changed: their rows and columns were judged. */
  readonly namespaces: readonly string[];
  readonly opened: readonly PairChange[];
  readonly closed: readonly PairChange[];
  /** What the model had to leave out at either ref (see NetworkMatrix.limits). */
  readonly limits?: readonly string[];
}
