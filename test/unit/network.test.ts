// The pure core of the network analysis (src/network): the model's peers and ports, the
// judge's rules and the matrix's difference, on hand-made matrices (the real engine's answers
// are tested in test/cli/network.test.ts).

import { describe, expect, it } from "vitest";
import type { NetworkMatrix, PairPorts } from "../../src/model/network.js";
import { cidrRange, inClusterRange, MAX_PORTS, networkModel, podIp } from "../../src/network/model.js";
import { judgeNetwork } from "../../src/network/judge.js";
import { networkDelta } from "../../src/network/diff.js";
import { changedNamespaces } from "../../src/network/changes.js";
import type { KubeObject } from "../../src/model/object.js";

const ns = (name: string, team?: string): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: team === undefined ? {} : { "tenantry.dev/team": team } } });
const agent = (namespace: string): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "tenantry-agent", namespace },
  spec: { template: { metadata: { labels: { "app.kubernetes.io/name": "tenantry-agent" } }, spec: { containers: [{ name: "agent", ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 8081 }] }] } } },
});
const policy = (namespace: string, spec: unknown, name = "p"): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec });

describe("networkModel", () => {
  it("has a pod per team namespace, the agents, kube-dns and the outside; the ports named, DNS, the agent's and one unnamed", () => {
    const m = networkModel([ns("a", "a"), ns("tenantry-system"), agent("a"), agent("tenantry-system"), policy("tenantry-system", { podSelector: {}, ingress: [{ ports: [{ port: "metrics" }] }] }), policy("a", { podSelector: {}, ingress: [{ ports: [{ port: 9898, protocol: "TCP" }] }] })]);
    expect(m.peers.map((p) => [p.id, p.kind, p.team])).toEqual([
      ["a", "pod", "a"],
      ["a/tenantry-agent", "agent", "a"],
      ["kube-system/kube-dns", "dns", null],
      ["tenantry-system/tenantry-agent", "admin-agent", null],
      ["outside", "outside", null],
    ]);
    expect(m.ports).toEqual(["TCP/22", "UDP/53", "TCP/53", "TCP/443", "TCP/6443", "TCP/8080", "TCP/8081", "TCP/9898"]);
    expect(m.peers[0]?.namespaceLabels).toEqual({ "tenantry.dev/team": "a", "kubernetes.io/metadata.name": "a" });
  });

  it("gives each peer a stable in-cluster address and the outside one outside it", () => {
    expect(podIp("team1")).toBe(podIp("team1"));
    expect(podIp("team1")).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(networkModel([]).peers.find((p) => p.kind === "outside")?.ip).toBe("203.0.113.10");
  });

  it("models a team not built (plan) as create-team renders it", () => {
    expect(networkModel([], ["b"]).peers.map((p) => p.id)).toEqual(["b", "b/tenantry-agent", "kube-system/kube-dns", "outside"]);
  });
});

describe("networkModel: what one unlabelled pod per namespace would miss (a hostile review)", () => {
  const ids = (m: ReturnType<typeof networkModel>): string[] => m.peers.map((p) => p.id);

  it("a witness pod per pod selector a policy applies to, or a peer selects in that namespace", () => {
    const m = networkModel([
      ns("a", "a"),
      ns("b", "b"),
      policy("a", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      policy("a", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { "tenantry.dev/team": "b" } }, podSelector: { matchExpressions: [{ key: "role", operator: "Exists" }, { key: "tier", operator: "NotIn", values: ["db"] }] } }] }] }, "q"),
    ]);
    expect(ids(m)).toEqual(["a", "a/pod(app=web)", "b", "b/pod(role=witness)", "b/pod(role=witness,tier=db)", "kube-system/kube-dns", "outside"]);
    expect(m.peers.find((p) => p.id === "b/pod(role=witness)")?.podLabels).toEqual({ role: "witness" });
  });

  it("no witness for what the unlabelled pod or the agent already stands for: what create-team renders adds none", () => {
    const m = networkModel([ns("a", "a"), agent("a"), policy("a", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }), policy("a", { podSelector: { matchLabels: { "app.kubernetes.io/name": "tenantry-agent" } }, egress: [{ ports: [{ port: 443 }] }] }, "r")]);
    expect(ids(m)).toEqual(["a", "a/tenantry-agent", "kube-system/kube-dns", "outside"]);
  });

  it("every team pod names every port name the policies use; the agent's own names keep their numbers", () => {
    const m = networkModel([ns("a", "a"), agent("a"), policy("a", { podSelector: {}, ingress: [{ ports: [{ port: "web" }, { port: "metrics" }, { port: "rpc", protocol: "UDP" }] }] })]);
    expect(m.peers.find((p) => p.id === "a")?.portNames).toEqual({ "TCP/30000": "web", "TCP/8081": "metrics", "UDP/30001": "rpc" });
    expect(m.ports).toEqual(expect.arrayContaining(["TCP/30000", "TCP/8081", "UDP/30001"]));
  });

  it("a protocol named without a port is probed (SCTP/8080)", () => {
    expect(networkModel([ns("a", "a"), policy("a", { podSelector: {}, ingress: [{ ports: [{ protocol: "SCTP" }] }] })]).ports).toContain("SCTP/8080");
  });

  it("witness addresses per ipBlock: in each in-cluster range it meets and elsewhere, outside its except list", () => {
    const block = (cidr: string, except?: string[]): KubeObject => policy("a", { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr, ...(except === undefined ? {} : { except }) } }] }] });
    const addresses = (o: KubeObject): string[] => networkModel([ns("a", "a"), o]).peers.filter((p) => p.kind === "address").map((p) => p.ip);
    expect(addresses(block("10.244.0.0/16"))).toEqual(["10.244.0.0"]);
    expect(addresses(block("169.254.169.254/32"))).toEqual(["169.254.169.254"]);
    expect(addresses(block("10.0.0.0/8", ["10.0.0.0/9"]))).toEqual(["10.128.0.0"]);
    expect(addresses(block("10.0.0.0/8", ["10.0.0.0/8"]))).toEqual([]);
    expect(addresses(block("0.0.0.0/0", [podIp("a"), "203.0.113.10"].map((ip) => `${ip}/32`)))).toEqual(["1.0.0.0", "10.0.0.0", "100.64.0.0", "169.254.0.0", "172.16.0.0", "192.168.0.0"]);
    expect(inClusterRange("169.254.169.254")).toMatch(/^169\.254\.0\.0\/16, link-local/);
    expect(inClusterRange("1.0.0.0")).toBeUndefined();
    expect(cidrRange("fd00::/8")).toBeUndefined();
  });

  it("at most MAX_PORTS ports, and says so", () => {
    const m = networkModel([ns("a", "a"), policy("a", { podSelector: {}, ingress: [{ ports: Array.from({ length: 1000 }, (_, i) => ({ port: 1000 + i })) }] })]);
    expect(m.ports.length).toBe(MAX_PORTS);
    expect(m.limits).toEqual([expect.stringMatching(/^the policies name 1006 distinct ports; only 256 /)]);
  });

  it("the other ref's policies shape the model too (plan): both refs get the same witnesses and ports", () => {
    const head = policy("a", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 9000 }] }] });
    const base = networkModel([ns("a", "a")], { alsoPolicies: [head] });
    expect(ids(base)).toContain("a/pod(app=web)");
    expect(base.ports).toContain("TCP/9000");
  });
});

const P = ["TCP/22", "UDP/53", "TCP/53", "TCP/443", "TCP/6443", "TCP/8080"];
function matrix(pairs: PairPorts[], teams = ["a", "b"]): NetworkMatrix {
  const m = networkModel([...teams.flatMap((t) => [ns(t, t), agent(t)])]);
  return { engine: "cyclonus test", peers: m.peers, ports: P, pairs };
}
/** What create-team renders, as the engine answers it. */
function rendered(teams = ["a", "b"]): PairPorts[] {
  return teams.flatMap((t) => [
    { from: t, to: `${t}/tenantry-agent`, ingress: P, egress: P },
    { from: `${t}/tenantry-agent`, to: t, ingress: P, egress: P },
    { from: t, to: "kube-system/kube-dns", ingress: P, egress: ["UDP/53", "TCP/53"] },
    { from: `${t}/tenantry-agent`, to: "kube-system/kube-dns", ingress: P, egress: ["TCP/22", "UDP/53", "TCP/53", "TCP/443", "TCP/6443"] },
    { from: `${t}/tenantry-agent`, to: "outside", ingress: P, egress: ["TCP/22", "TCP/443", "TCP/6443"] },
  ]);
}

describe("judgeNetwork", () => {
  it("finds nothing in what create-team renders", () => {
    expect(judgeNetwork(matrix(rendered()), new Map())).toEqual([]);
  });

  it("cross-team: a team admitting another it did not --allow-from, with the fix; none when it did", () => {
    const m = matrix([...rendered(), { from: "a", to: "b", ingress: ["TCP/8080"], egress: [] }]);
    const problems = judgeNetwork(m, new Map());
    expect(problems.map((p) => p.message)).toEqual([
      "a → b: is admitted on TCP/8080 (its own egress refuses for now, and its team can open that), but team b does not --allow-from team a; fix: remove what lets it in from cluster/b/ (tenantry create-team b renders the overlay again), or, if meant, tenantry create-team b --allow-from a",
    ]);
    expect(judgeNetwork(m, new Map([["b", ["a"]]]))).toEqual([]);
  });

  it("dns and agent-egress: what is refused, by port", () => {
    const m = matrix(rendered().filter((p) => !(p.from === "a" && p.to === "kube-system/kube-dns") && !(p.from === "b/tenantry-agent" && p.to === "outside")));
    expect(judgeNetwork(m, new Map()).map((p) => [p.rule, p.from, p.to, p.ports])).toEqual([
      ["dns", "a", "kube-system/kube-dns", ["UDP/53", "TCP/53"]],
      ["agent-egress", "b/tenantry-agent", "outside", ["TCP/22", "TCP/443", "TCP/6443"]],
    ]);
  });

  it("egress: what leaves a team namespace beyond DNS and the agent's ports", () => {
    const m = matrix([...rendered().filter((p) => !(p.from === "a" && p.to === "kube-system/kube-dns")), { from: "a", to: "kube-system/kube-dns", ingress: P, egress: P }]);
    expect(judgeNetwork(m, new Map()).map((p) => [p.rule, p.from, p.to, p.ports])).toEqual([["egress", "a", "kube-system/kube-dns", ["TCP/22", "TCP/443", "TCP/6443", "TCP/8080"]]]);
  });
});

describe("networkDelta", () => {
  it("says which direction opened or closed on which ports, between peers that existed at base", () => {
    const base = matrix(rendered(["a", "b"]), ["a", "b"]);
    const head = matrix([...rendered(["a", "b"]), { from: "a", to: "b", ingress: ["TCP/8080"], egress: [] }], ["a", "b"]);
    expect(networkDelta(base, head, ["b"]).opened).toEqual([{ from: "a", to: "b", ingress: ["TCP/8080"], egress: [] }]);
    expect(networkDelta(head, base, ["b"]).closed).toEqual([{ from: "a", to: "b", ingress: ["TCP/8080"], egress: [] }]);
  });

  it("a team added as create-team renders it opens nothing, though the teams not built read as open towards it", () => {
    const base = matrix(rendered(["a", "b"]), ["a", "b"]);
    // a and b were not built (plan): modelled without policies, the engine answers "open" on
    // their side of every pair with c.
    const unbuilt = ["a", "a/tenantry-agent", "b", "b/tenantry-agent"].flatMap((x) => [
      { from: x, to: "c", ingress: [], egress: P },
      { from: "c", to: x, ingress: P, egress: [] },
    ]);
    const head = matrix([...rendered(["a", "b", "c"]), ...unbuilt], ["a", "b", "c"]);
    expect(networkDelta(base, head, ["c"], { unread: new Set(["a", "b"]) }).opened).toEqual([]);
  });

  it("a new team's pairs: news only beyond its --allow-from, DNS and the agent's egress", () => {
    const base = matrix(rendered(["a", "b"]), ["a", "b"]);
    const head = matrix(
      [
        ...rendered(["a", "b", "c"]),
        // c admits a (--allow-from a) and b (not declared); c's pod leaves on TCP/443 (only agents may).
        { from: "a", to: "c", ingress: P, egress: [] },
        { from: "b", to: "c", ingress: ["TCP/8080"], egress: [] },
        { from: "c", to: "outside", ingress: [], egress: ["TCP/443"] },
        { from: "c/tenantry-agent", to: "a", ingress: [], egress: ["TCP/22", "TCP/443", "TCP/6443"] },
      ],
      ["a", "b", "c"],
    );
    expect(networkDelta(base, head, ["c"], { allowFrom: new Map([["c", ["a"]]]) }).opened).toEqual([
      { from: "b", to: "c", ingress: ["TCP/8080"], egress: [] },
      { from: "c", to: "outside", ingress: [], egress: ["TCP/443"] },
    ]);
  });

  it("an existing team letting a new one in is news, declared or not", () => {
    const base = matrix(rendered(["a", "b"]), ["a", "b"]);
    const head = matrix([...rendered(["a", "b", "c"]), { from: "c", to: "a", ingress: ["TCP/8080"], egress: [] }], ["a", "b", "c"]);
    expect(networkDelta(base, head, ["a", "c"], { allowFrom: new Map([["a", ["c"]]]) }).opened).toEqual([{ from: "c", to: "a", ingress: ["TCP/8080"], egress: [] }]);
  });

  it("a changed platform namespace gives a new team what it gives the teams that existed", () => {
    const peers = (teams: string[]): NetworkMatrix["peers"] => networkModel([ns("tenantry-system"), agent("tenantry-system"), ...teams.flatMap((t) => [ns(t, t), agent(t)])]).peers;
    const admin = "tenantry-system/tenantry-agent";
    const webhook = (teams: string[]): PairPorts[] => teams.map((t) => ({ from: t, to: admin, ingress: ["TCP/8080"], egress: [] }));
    const base: NetworkMatrix = { engine: "cyclonus test", peers: peers(["a"]), ports: P, pairs: [...rendered(["a"]), ...webhook(["a"])] };
    const head: NetworkMatrix = { engine: "cyclonus test", peers: peers(["a", "c"]), ports: P, pairs: [...rendered(["a", "c"]), ...webhook(["a"]), { from: "c", to: admin, ingress: ["TCP/8080", "TCP/22"], egress: [] }] };
    expect(networkDelta(base, head, ["c", "tenantry-system"]).opened).toEqual([{ from: "c", to: admin, ingress: ["TCP/22"], egress: [] }]);
  });
});

describe("changedNamespaces", () => {
  it("names the namespaces whose policies, labels or agent pods changed, nothing else", () => {
    const base = [ns("a", "a"), ns("b", "b"), policy("a", { podSelector: {} }), agent("b")];
    expect(changedNamespaces(base, base)).toEqual([]);
    expect(changedNamespaces(base, [ns("a", "a"), { ...ns("b", "b"), metadata: { name: "b", labels: { x: "y" } } }, policy("a", { podSelector: {}, ingress: [{}] }), agent("b")])).toEqual(["a", "b"]);
 
    // Key order is no change; a policy or an agent added is.
    expect(changedNamespaces([policy("a", { podSelector: {}, policyTypes: ["Ingress"] })], [policy("a", { policyTypes: ["Ingress"], podSelector: {} })])).toEqual([]);
    expect(changedNamespaces(base, [...base, policy("b", { podSelector: {} }, "q"), agent("c")])).toEqual(["b", "c"]);
  });
});
