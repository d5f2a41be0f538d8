// The network analysis played against by a team owner in the admin repo, with the real
// tenantry-netcheck (cyclonus v0.5.6's engine), never a fake. An admin repo made with the real
// CLI (team1; team2 --allow-from team1; team3); each attack is one commit a pull request could
// hold, and each must fail `validate --network` (exit 2, the rule named) and be flagged
// `network-loosened` by `plan` from the matrix (not only from the policy's text):
//
//   F1 team3's same-namespace policy rewritten to open what the old model did not hold: pods
//      selected by label (on the policy, on a peer), a named port, an ipBlock of pod
//      addresses, 0.0.0.0/0 except the model's own addresses, SCTP without a port, egress to
//      the cloud metadata address;
//   F2 an allow-all policy for team1 written in team3's overlay (plan builds only team3);
//   F3 team3's Namespace labelled tenantry.dev/metrics-reader (opens the admin agent's metrics);
//   F4 a NetworkPolicy whose namespace forges lines of the PR comment and of the terminal;
//   F5 a protocol carrying terminal escapes, printed by validate --network;
//   F8 a policy naming thousands of ports: the model caps them and says so;
//   F9 a port named only at head is not "opened" on the outside's side.

import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import type { NetworkDelta, NetworkMatrix } from "../../src/model/network.js";
import { MAX_PORTS } from "../../src/network/model.js";

interface Plan {
  network: NetworkDelta | null;
  risks: { kind: string; objects: { object: string; reasons: string[] }[] }[];
}

let pristine: string;
/** The addresses the model gives its peers, as the unedited repo's matrix shows them. */
let modelAddresses: string[];

function repo(): string {
  const dir = join(tempDir(), "admin");
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

const SAME_NS_SPEC = `spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector: {}
  egress:
    - to:
        - podSelector: {}
`;

/** team3's tenantry-allow-same-namespace with `spec` instead, committed. */
function attack(spec: string, file = "cluster/team3/network-policies.yaml"): string {
  const dir = repo();
  const path = join(dir, file);
  const before = readFileSync(path, "utf8");
  const after = before.replace(SAME_NS_SPEC, spec);
  expect(after).not.toBe(before);
  writeFileSync(path, after);
  git(dir, "commit", "--quiet", "-am", "attack");
  return dir;
}

async function validate(dir: string): Promise<{ code: number; network: NetworkMatrix; problems: string[] }> {
  const r = await runCli(["validate", "--network", "-o", "json"], { cwd: dir });
  const report = JSON.parse(r.stdout) as { network: NetworkMatrix; problems: { message: string }[] };
  return { code: r.code, network: report.network, problems: report.problems.map((p) => p.message) };
}

async function plan(dir: string): Promise<{ code: number; plan: Plan }> {
  const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
  expect(r.stdout, r.stderr).not.toBe("");
  return { code: r.code, plan: JSON.parse(r.stdout) as Plan };
}

/** The network-loosened reasons judged by the engine (from the matrix), by pair. */
function fromMatrix(p: Plan): Map<string, string[]> {
  const objects = p.risks.find((r) => r.kind === "network-loosened")?.objects ?? [];
  return new Map(objects.filter((o) => o.object.includes(" → ")).map((o) => [o.object, o.reasons]));
}

beforeAll(async () => {
  pristine = await makeAdminRepo([["team1"], ["team2", "--allow-from", "team1"], ["team3"]]);
  const r = await validate(pristine);
  expect(r.problems).toEqual([]);
  modelAddresses = r.network.peers.map((p) => p.ip);
});

describe("F1: what one unlabelled pod per namespace did not show", () => {
  it("a policy for pods labelled app=web admitting every namespace: cross-team for the witness pod", async () => {
    const dir = attack(`spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector: {}
`);
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network cross-team: team1 → team3\/pod\(app=web\): is admitted on TCP\/22, /));
    const p = await plan(dir);
    expect(p.code).toBe(3);
    expect(fromMatrix(p.plan).get("team1 → team3/pod(app=web)")?.[0]).toMatch(/^team3\/pod\(app=web\)'s policies now admit team1 on TCP\/22, /);
  });

  it("matchLabels app=b with In [a, b] and `from: []` (every source): the witness is a pod the selector picks, app=b (second review)", async () => {
    const dir = attack(`spec:
  podSelector:
    matchLabels: {app: b}
    matchExpressions:
      - {key: app, operator: In, values: [a, b]}
  policyTypes: [Ingress]
  ingress:
    - from: []
`);
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.network.peers.map((x) => x.id)).toContain("team3/pod(app=b)");
    expect(v.problems).toContainEqual(expect.stringMatching(/^network cross-team: team1 → team3\/pod\(app=b\): is admitted on /));
    const p = await plan(dir);
    expect(p.code).toBe(3);
    expect(fromMatrix(p.plan).get("team1 → team3/pod(app=b)")?.[0]).toMatch(/^team3\/pod\(app=b\)'s policies now admit team1 on /);
    // and from the text: an empty `from` is every source
    const text = p.plan.risks.find((r) => r.kind === "network-loosened")?.objects.find((o) => o.object === "NetworkPolicy/team3/tenantry-allow-same-namespace");
    expect(text?.reasons).toContain("allows ingress from anywhere");
  });

  it("a peer selecting pods by matchExpressions Exists in every namespace: a witness pod in team1 gets in", async () => {
    const dir = attack(SAME_NS_SPEC.replace("        - podSelector: {}\n  egress:", "        - podSelector: {}\n        - namespaceSelector: {}\n          podSelector:\n            matchExpressions:\n              - {key: role, operator: Exists}\n  egress:"));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network cross-team: team1\/pod\(role=witness\) → team3: is admitted on /));
    const p = await plan(dir);
    expect(fromMatrix(p.plan).get("team1/pod(role=witness) → team3")?.[0]).toMatch(/^team3's policies now admit team1\/pod\(role=witness\) on /);
  });

  it("a named port (web) from every namespace: every team pod names it, and it is probed", async () => {
    const dir = attack(SAME_NS_SPEC.replace("        - podSelector: {}\n  egress:", "        - podSelector: {}\n    - from:\n        - namespaceSelector: {}\n      ports:\n        - port: web\n  egress:"));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.network.ports).toContain("TCP/30000");
    expect(v.network.peers.find((x) => x.id === "team3")?.portNames).toEqual(expect.objectContaining({ "TCP/30000": "web" }));
    expect(v.problems).toContainEqual(expect.stringMatching(/^network cross-team: team1 → team3: is admitted on TCP\/30000 /));
    const p = await plan(dir);
    expect(fromMatrix(p.plan).get("team1 → team3")).toEqual(["team3's policies now admit team1 on TCP/30000 (judged by cyclonus v0.5.6)"]);
  });

  it("SCTP without a port from every namespace: SCTP is probed", async () => {
    const dir = attack(SAME_NS_SPEC.replace("        - podSelector: {}\n  egress:", "        - podSelector: {}\n    - from:\n        - namespaceSelector: {}\n      ports:\n        - protocol: SCTP\n  egress:"));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network cross-team: team1 → team3: is admitted on SCTP\/8080 /));
    const p = await plan(dir);
    expect(fromMatrix(p.plan).get("team1 → team3")).toEqual(["team3's policies now admit team1 on SCTP/8080 (judged by cyclonus v0.5.6)"]);
  });

  const ipBlock = (cidr: string, except: readonly string[] = []): string =>
    SAME_NS_SPEC.replace(
      "        - podSelector: {}\n  egress:",
      `        - podSelector: {}\n        - ipBlock:\n            cidr: ${cidr}\n${except.length > 0 ? `            except: [${except.join(", ")}]\n` : ""}  egress:`,
    );

  it("ingress from ipBlock 10.244.0.0/16 (pod addresses): an address rule, whatever the model's own addresses", async () => {
    const dir = attack(ipBlock("10.244.0.0/16"));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network address: ip:10\.244\.0\.0 → team3: admitted on TCP\/22, .* and 10\.244\.0\.0 is in 10\.0\.0\.0\/8, private \(RFC 1918\)/));
    const p = await plan(dir);
    expect(fromMatrix(p.plan).get("ip:10.244.0.0 → team3")?.[0]).toMatch(/^team3's policies now admit ip:10\.244\.0\.0 on /);
  });

  it("ingress from 0.0.0.0/0 except every address of the model: witness addresses outside the except list", async () => {
    const dir = attack(ipBlock("0.0.0.0/0", modelAddresses.map((ip) => `${ip}/32`)));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    for (const ip of ["10.0.0.0", "172.16.0.0", "192.168.0.0", "100.64.0.0", "169.254.0.0"]) {
      expect(v.problems).toContainEqual(expect.stringMatching(new RegExp(`^network address: ip:${ip.replaceAll(".", "\\.")} → team3: admitted on `)));
    }
    const p = await plan(dir);
    expect(fromMatrix(p.plan).has("ip:169.254.0.0 → team3")).toBe(true);
  });

  it("egress to 169.254.169.254/32 (cloud metadata): an egress problem and flag", async () => {
    const dir = attack(SAME_NS_SPEC.replace("    - to:\n        - podSelector: {}\n", "    - to:\n        - podSelector: {}\n    - to:\n        - ipBlock:\n            cidr: 169.254.169.254/32\n"));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network egress: team3 → ip:169\.254\.169\.254: egress allowed on TCP\/22, /));
    const p = await plan(dir);
    expect(fromMatrix(p.plan).get("team3 → ip:169.254.169.254")?.[0]).toMatch(/^team3's policies now let .* out to ip:169\.254\.169\.254/);
  });

  it("plan also flags from the policy's text, whatever the matrix says", async () => {
    const dir = attack(ipBlock("10.244.0.0/16"));
    const p = await plan(dir);
    const text = p.plan.risks.find((r) => r.kind === "network-loosened")?.objects.find((o) => o.object === "NetworkPolicy/team3/tenantry-allow-same-namespace");
    expect(text?.reasons).toEqual(["allows ingress from ipBlock 10.244.0.0/16"]);
  });
});

describe("F2: a policy for team1 in team3's overlay", () => {
  it("is judged with team1 modelled as create-team renders it, and flagged pair by pair", async () => {
    const dir = repo();
    const file = join(dir, "cluster/team3/network-policies.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: let-everyone-in\n  namespace: team1\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n    - {}\n`);
    git(dir, "commit", "--quiet", "-am", "team1 admits everyone, from team3's overlay");
    const p = await plan(dir);
    expect(p.plan.network?.namespaces).toEqual(["team1"]);
    const pairs = fromMatrix(p.plan);
    expect(pairs.get("team3 → team1")).toEqual(["team1's policies now admit team3 on TCP/22, UDP/53, TCP/53, TCP/443, TCP/6443, TCP/8080, TCP/8081 (judged by cyclonus v0.5.6)"]);
    expect(pairs.has("outside → team1")).toBe(true);
  });
});

describe("F3: a team Namespace labelled tenantry.dev/metrics-reader", () => {
  it("fails validate (admin-agent) and plan flags the admin agent's metrics port, cluster/common not built", async () => {
    const dir = repo();
    const file = join(dir, "cluster/team3/namespace.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("    tenantry.dev/team: team3\n", '    tenantry.dev/team: team3\n    tenantry.dev/metrics-reader: "true"\n'));
    git(dir, "commit", "--quiet", "-am", "team3 reads the agent's metrics");
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network admin-agent: team3 → tenantry-system\/tenantry-agent: the admin agent admits team team3 on TCP\/8081; /));
    const p = await plan(dir);
    expect(fromMatrix(p.plan).get("team3 → tenantry-system/tenantry-agent")).toEqual(["tenantry-system/tenantry-agent's policies now admit team3 on TCP/8081 (judged by cyclonus v0.5.6)"]);
  });
});

describe("F4, F5: text from the repo cannot forge lines", () => {
  it("a NetworkPolicy namespace with line breaks and a comment opener stays one code span in the PR comment, escaped in text", async () => {
    const dir = repo();
    const file = join(dir, "cluster/team3/network-policies.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: evil\n  namespace: "team3\\n\\n### ✅ Risk flags: none <!--"\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n    - {}\n`);
    git(dir, "commit", "--quiet", "-am", "forge");
    const md = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown"], { cwd: dir });
    const networkRow = md.stdout.split("\n").find((l) => l.startsWith("| **Network** |")) ?? "";
    expect(networkRow).toContain("(`team3\\n\\n### ✅ Risk flags: none <!--`)");
    expect(md.stdout).not.toMatch(/^### ✅ Risk flags: none/m);
    const text = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: dir });
    expect(text.stdout).toContain("(team3\\n\\n### ✅ Risk flags: none <!--)");
    expect(text.stdout).not.toMatch(/^### /m);
  });

  it("validate --network prints a protocol with terminal escapes escaped", async () => {
    const dir = attack(SAME_NS_SPEC.replace("        - podSelector: {}\n  egress:", '        - podSelector: {}\n      ports:\n        - protocol: "\\e]0;pwned\\a\\e[2JTCP\\nFAKE LINE"\n          port: 80\n  egress:'));
    const r = await runCli(["validate", "--network"], { cwd: dir });
    expect(r.stdout + r.stderr).not.toContain("\u001b");
    expect(r.stdout).toContain("\\x1b]0;pwned\\x07\\x1b[2JTCP\\nFAKE LINE/80");
    expect(r.stdout).not.toMatch(/^FAKE LINE/m);
    expect(r.stderr).not.toMatch(/^FAKE LINE/m);
  });
});

describe("F8, F9: ports", () => {
  it("a policy naming thousands of ports is judged on at most MAX_PORTS of them, and says so", async () => {
    const ports = Array.from({ length: 3000 }, (_, i) => `        - port: ${10000 + i}`).join("\n");
    const dir = attack(SAME_NS_SPEC.replace("        - podSelector: {}\n  egress:", `        - podSelector: {}\n      ports:\n${ports}\n  egress:`));
    const v = await validate(dir);
    expect(v.code).toBe(2);
    expect(v.network.ports.length).toBe(MAX_PORTS);
    expect(v.problems).toContainEqual(expect.stringMatching(/^network limits: not judged in full: the policies name \d+ distinct ports; only 256 /));
    const p = await plan(dir);
    expect(p.plan.risks.find((r) => r.kind === "network-loosened")?.objects.find((o) => o.object === "the network model")?.reasons[0]).toMatch(/^not judged in full, review the policies by hand: /);
  }, 120_000);

  it("a port named only at head is probed at base too: the outside's side never reads as opened", async () => {
    const dir = attack(SAME_NS_SPEC.replace("        - podSelector: {}\n  egress:", "        - podSelector: {}\n    - from:\n        - namespaceSelector: {}\n      ports:\n        - port: 9000\n  egress:"));
    const p = await plan(dir);
    const opened = p.plan.network?.opened ?? [];
    expect(opened.filter((c) => c.from === "outside" || c.from.startsWith("ip:"))).toEqual([]);
    expect(opened.find((c) => c.from === "team1" && c.to === "team3")).toEqual({ from: "team1", to: "team3", ingress: ["TCP/9000"], egress: [] });
    expect(opened.every((c) => c.egress.length === 0)).toBe(true);
  });
});
