// The network policies judged by the real analyzer: tenantry-netcheck (cyclonus v0.5.6's
// NetworkPolicy engine, built by scripts/install-tools.sh), never a fake. An admin repo made
// with the real CLI, three teams, team2 `--allow-from team1`:
//   - validate --network: same-namespace traffic allowed, cross-team refused both ways, DNS
//     and the agent's egress allowed, the allow-from opens exactly team1 -> team2's ingress;
//   - a team repo's allow-all policy for its own pods does not open another team (their
//     default-deny still holds): the team's objects added to the model;
//   - a hand edit of tenantry-default-deny that opens egress shows in the matrix and fails
//     validate, and in plan it is flagged network-loosened from the matrix;
//   - plan: a new --allow-from opens that direction only; a team added as rendered opens
//     nothing, one whose overlay admits every namespace is flagged pair by pair;
//   - plan skips the analyzer when no policy or Namespace label changed.

import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { editFile, runCli, tempDir } from "../helpers/cli.js";
import { git } from "../helpers/git.js";
import type { NetworkMatrix, NetworkDelta, PairPorts } from "../../src/model/network.js";
import { buildUnit, readLayout } from "../../src/build/admin-layout.js";
import { analyzeNetwork } from "../../src/network/analyze.js";
import { judgeNetwork } from "../../src/network/judge.js";
import { allowedPorts } from "../../src/network/matrix.js";
import { formatMatrix } from "../../src/network/format.js";
import { parseObjects } from "../../src/model/object.js";

let pristine: string;

function repo(): string {
  const dir = join(tempDir(), "admin");
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function pair(m: NetworkMatrix, from: string, to: string): PairPorts {
  return m.pairs.find((p) => p.from === from && p.to === to) ?? { from, to, ingress: [], egress: [] };
}

async function validateJson(dir: string): Promise<{ code: number; network: NetworkMatrix; problems: { message: string }[] }> {
  const r = await runCli(["validate", "--network", "-o", "json"], { cwd: dir });
  const report = JSON.parse(r.stdout) as { network: NetworkMatrix; problems: { message: string }[] };
  return { code: r.code, ...report };
}

/** What the admin repo renders, every overlay built by the build service. */
async function adminObjects(dir: string): Promise<ReturnType<typeof parseObjects>> {
  const layout = readLayout(dir);
  return (await Promise.all(layout.units.map((u) => buildUnit(dir, u)))).flat().map((s) => s.object);
}

const DEFAULT_DENY = `spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`;

beforeAll(async () => {
  pristine = await makeAdminRepo([["team1"], ["team2", "--allow-from", "team1"], ["team3"]]);
});

describe("validate --network: the rendered policies, judged by cyclonus", () => {
  let m: NetworkMatrix;
  beforeAll(async () => {
    const r = await validateJson(pristine);
    expect(r.problems).toEqual([]);
    expect(r.code).toBe(0);
    m = r.network;
  });

  it("is judged by the pinned engine, on the ports the policies name and one they do not", () => {
    expect(m.engine).toBe("cyclonus v0.5.6");
    expect(m.ports).toEqual(["TCP/22", "UDP/53", "TCP/53", "TCP/443", "TCP/6443", "TCP/8080", "TCP/8081"]);
  });

  it("same namespace: a team's pods and its agent reach each other on every port", () => {
    expect(allowedPorts(pair(m, "team1", "team1/tenantry-agent"))).toEqual(m.ports);
    expect(allowedPorts(pair(m, "team1/tenantry-agent", "team1"))).toEqual(m.ports);
  });

  it("cross-team: refused both ways, by the destination's ingress, between teams that did not allow each other", () => {
    for (const [a, b] of [["team1", "team3"], ["team3", "team1"], ["team2", "team3"], ["team3", "team2"], ["team2", "team1"]] as const) {
      for (const [from, to] of [[a, b], [`${a}/tenantry-agent`, b], [a, `${b}/tenantry-agent`]]) {
        expect(pair(m, from ?? "", to ?? "").ingress, `${from ?? ""} -> ${to ?? ""}`).toEqual([]);
      }
    }
  });

  it("DNS: every team pod and agent reaches kube-dns on UDP and TCP 53, and nothing else there", () => {
    for (const t of ["team1", "team2", "team3"]) {
      expect(allowedPorts(pair(m, t, "kube-system/kube-dns"))).toEqual(["UDP/53", "TCP/53"]);
      expect(allowedPorts(pair(m, `${t}/tenantry-agent`, "kube-system/kube-dns"))).toEqual(expect.arrayContaining(["UDP/53", "TCP/53"]));
    }
  });

  it("the agent reaches the outside on TCP 22, 443 and 6443 only; a team pod does not leave", () => {
    expect(allowedPorts(pair(m, "team1/tenantry-agent", "outside"))).toEqual(["TCP/22", "TCP/443", "TCP/6443"]);
    expect(allowedPorts(pair(m, "team1", "outside"))).toEqual([]);
  });

  it("--allow-from team1 opens exactly team2's ingress from team1, not the other direction", () => {
    expect(pair(m, "team1", "team2").ingress).toEqual(m.ports);
    expect(pair(m, "team1", "team2").egress).toEqual([]); // team1's own egress still refuses
    expect(allowedPorts(pair(m, "team1/tenantry-agent", "team2"))).toEqual(["TCP/22", "TCP/443", "TCP/6443"]);
    expect(pair(m, "team2", "team1")).toEqual({ from: "team2", to: "team1", ingress: [], egress: [] });
    expect(pair(m, "team3", "team2").ingress).toEqual([]);
  });

  it("prints the matrix (rows: from, columns: to)", async () => {
    const r = await runCli(["validate", "--network"], { cwd: pristine });
    expect(r.code, r.stderr).toBe(0);
    const matrix = r.stdout.slice(r.stdout.indexOf("Network ("), r.stdout.indexOf("Valid admin repo"));
    expect(matrix).toMatchSnapshot();
  });
});

describe("a team repo's own allow-all policy (the team's objects added to the model)", () => {
  it("opens the team's egress, but another team's default-deny ingress still holds", async () => {
    const ownPolicy = parseObjects(
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-everything, namespace: team1}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
`,
      "team1 repo",
    );
    const m = await analyzeNetwork([...(await adminObjects(pristine)), ...ownPolicy]);
    expect(pair(m, "team1", "team3").egress).toEqual(m.ports);
    expect(allowedPorts(pair(m, "team1", "team3"))).toEqual([]); // team3's default-deny holds
    expect(allowedPorts(pair(m, "team1", "team3/tenantry-agent"))).toEqual([]);
    expect(allowedPorts(pair(m, "team1", "team2"))).toEqual(m.ports); // team2 allows team1, team1 now sends
    // Its ingress is open, so others' egress is all that stops them: team3's still does.
    expect(allowedPorts(pair(m, "team3", "team1"))).toEqual([]);
    // team1 opened its own door (it is judged for that); nobody else's is open.
    const crossTeam = judgeNetwork(m, new Map([["team2", ["team1"]]])).filter((p) => p.rule === "cross-team");
    expect(crossTeam.length).toBeGreaterThan(0);
    expect(crossTeam.filter((p) => !p.to.startsWith("team1"))).toEqual([]);
  });
});

describe("a hand edit of tenantry-default-deny that opens egress", () => {
  let dir: string;
  beforeAll(() => {
    dir = repo();
    editFile(dir, "cluster/team1/network-policies.yaml", DEFAULT_DENY, `${DEFAULT_DENY}  egress:\n    - {}\n`);
    git(dir, "commit", "--quiet", "-am", "open team1's egress");
  });

  it("shows in the matrix and fails validate, one line per pair with the fix", async () => {
    const r = await validateJson(dir);
    expect(r.code).toBe(2);
    expect(pair(r.network, "team1", "outside").egress).toEqual(r.network.ports);
    const text = await runCli(["validate", "--network"], { cwd: dir });
    expect(text.code).toBe(2);
    const lines = text.stderr.split("\n").filter((l) => l.includes("network egress: "));
    expect(lines).toContain(
      "tenantry: error: cluster/team1: network egress: team1 → outside: egress allowed on TCP/22, UDP/53, TCP/53, TCP/443, TCP/6443, TCP/8080, TCP/8081 by the admin repo's policies of team1; create-team lets only DNS and the agent's TCP 22, 443, 6443 out of a team namespace; fix: undo the edit in cluster/team1/network-policies.yaml (tenantry create-team team1 renders it again)",
    );
    expect(lines.every((l) => l.includes(": network egress: team1"))).toBe(true);
    // Another team's ingress still refuses: no cross-team line.
    expect(text.stderr).not.toContain("network cross-team");
    // team1 now reaches team2 (which allows it) and the outside; team3 still refuses it.
    expect(text.stdout).toMatch(/^1 team1 +- ✓ ✓ ✓ · · ✓ a ✓$/m);
  });

  it("is flagged network-loosened in the plan, from the matrix, pair by pair", async () => {
    // Only cluster/team1 is built: the ports probed are those its policies and the product name.
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    const plan = JSON.parse(r.stdout) as { network: NetworkDelta; risks: { kind: string; objects: { object: string; reasons: string[] }[] }[] };
    expect(plan.network.namespaces).toEqual(["team1"]);
    expect(plan.network.closed).toEqual([]);
    expect(plan.network.opened.map((c) => `${c.from} → ${c.to}`)).toContain("team1 → outside");
    expect(plan.network.opened.every((c) => c.from.startsWith("team1") && c.ingress.length === 0)).toBe(true);
    const loosened = plan.risks.find((f) => f.kind === "network-loosened");
    expect(loosened?.objects.find((o) => o.object === "team1 → team3")?.reasons).toEqual([
      "team1's policies now let TCP/22, UDP/53, TCP/53, TCP/443, TCP/6443, TCP/8080, TCP/8081 out to team3 (judged by cyclonus v0.5.6)",
    ]);
    const text = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: dir });
    expect(text.stdout).toContain("Network: judged by cyclonus v0.5.6 for 1 namespace whose policies or labels changed (team1)");
    expect(text.stdout).toContain("  + team1 → outside: egress TCP/22, UDP/53, TCP/53, TCP/443, TCP/6443, TCP/8080");
  });
});

describe("plan: the matrix's difference", () => {
  it("flags a new --allow-from as team3 now admitting team1, in that direction only", async () => {
    const dir = repo();
    const r0 = await runCli(["create-team", "team3", "--allow-from", "team1", "--commit"], { cwd: dir });
    expect(r0.code, r0.stderr).toBe(0);
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    const plan = JSON.parse(r.stdout) as { network: NetworkDelta; risks: { kind: string; objects: { object: string; reasons: string[] }[] }[] };
    expect(plan.network.namespaces).toEqual(["team3"]);
    // Every port probed (only cluster/team3 is built; tenantry-system, as init renders it, names the metrics port).
    const ports = ["TCP/22", "UDP/53", "TCP/53", "TCP/443", "TCP/6443", "TCP/8080", "TCP/8081"];
    expect(plan.network.opened).toEqual([
      { from: "team1", to: "team3", ingress: ports, egress: [] },
      { from: "team1", to: "team3/tenantry-agent", ingress: ports, egress: [] },
      { from: "team1/tenantry-agent", to: "team3", ingress: ports, egress: [] },
      { from: "team1/tenantry-agent", to: "team3/tenantry-agent", ingress: ports, egress: [] },
    ]);
    const loosened = plan.risks.find((f) => f.kind === "network-loosened");
    expect(loosened?.objects.map((o) => o.object).filter((o) => o.includes(" → "))).toEqual(["team1 → team3", "team1 → team3/tenantry-agent", "team1/tenantry-agent → team3", "team1/tenantry-agent → team3/tenantry-agent"]);
    // And from the policy's text (defence in depth: the text names what the model may not hold).
    expect(loosened?.objects.filter((o) => !o.object.includes(" → ")).map((o) => o.reasons)).toEqual([["allows ingress from namespace team1"]]);
  });

  it("a team added as create-team renders it opens nothing; one whose overlay admits every namespace is flagged pair by pair", async () => {
    const dir = repo();
    const r0 = await runCli(["create-team", "team4", "--commit"], { cwd: dir });
    expect(r0.code, r0.stderr).toBe(0);
    // The teams not built (team1..3) are modelled without their policies: their side of a pair
    // with team4 is unknown, not "open".
    const added = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    const rendered = JSON.parse(added.stdout) as { network: NetworkDelta; risks: { kind: string }[] };
    expect(added.code, added.stderr).toBe(3);
    expect(rendered.network.namespaces).toEqual(["team4"]);
    expect(rendered.network.opened).toEqual([]);
    expect(rendered.risks.map((f) => f.kind)).toEqual(["team-added"]);
    const file = join(dir, "cluster/team4/network-policies.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: open\n  namespace: team4\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - namespaceSelector: {}\n`);
    git(dir, "commit", "--quiet", "-am", "team4 admits everyone");
    const r = await runCli(["plan", "--base", "HEAD~2", "--head", "HEAD", "-o", "json"], { cwd: dir });
    const plan = JSON.parse(r.stdout) as { network: NetworkDelta; risks: { kind: string; objects: { object: string; reasons: string[] }[] }[] };
    const froms = ["team1", "team1/tenantry-agent", "team2", "team2/tenantry-agent", "team3", "team3/tenantry-agent", "kube-system/kube-dns", "tenantry-system/tenantry-agent"];
    expect(plan.network.opened.map((c) => `${c.from} → ${c.to}`).sort()).toEqual(froms.flatMap((f) => [`${f} → team4`, `${f} → team4/tenantry-agent`]).sort());
    expect(plan.network.opened.every((c) => c.egress.length === 0 && c.ingress.length > 0)).toBe(true);
    const loosened = plan.risks.find((f) => f.kind === "network-loosened");
    expect(loosened?.objects.find((o) => o.object === "team1 → team4")?.reasons).toEqual(["team4's policies now admit team1 on TCP/22, UDP/53, TCP/53, TCP/443, TCP/6443, TCP/8080, TCP/8081 (judged by cyclonus v0.5.6)"]);
  });

  it("skips the analyzer when no NetworkPolicy or Namespace label changed", async () => {
    const dir = repo();
    const file = join(dir, "cluster/team1/quota.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^(\s+)pods: "?(\d+)"?$/m, (_, s: string, n: string) => `${s}pods: "${Number(n) + 1}"`));
    git(dir, "commit", "--quiet", "-am", "one more pod");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir, env: { TENANTRY_NETCHECK: "/nonexistent/tenantry-netcheck" } });
    const plan = JSON.parse(r.stdout) as { network: NetworkDelta | null; changes: unknown[] };
    expect(plan.changes.length).toBeGreaterThan(0);
    expect(plan.network).toBeNull();
  });
});

describe("formatMatrix", () => {
  it("summarises a matrix too large for a grid: alike sources on one line", async () => {
    const objects = await adminObjects(pristine);
    // 30 teams rendered as team3 is (its objects with the name replaced).
    const team3 = objects.filter((o) => o.metadata.namespace === "team3" || (o.kind === "Namespace" && o.metadata.name === "team3"));
    const many = Array.from({ length: 30 }, (_, i) => team3.map((o) => JSON.parse(JSON.stringify(o).replaceAll("team3", `many${i}`)) as (typeof objects)[number])).flat();
    const m = await analyzeNetwork([...objects.filter((o) => !team3.includes(o)), ...many]);
    const text = formatMatrix(m);
    expect(text).toContain("(too many peers for a grid");
    expect(text).toMatch(/^32 peers \(many0, many1, many10, …\) → own agent \(every port\); kube-system\/kube-dns \(UDP\/53, TCP\/53\)$/m);
  });
});
