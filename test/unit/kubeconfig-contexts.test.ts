import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CTX_EXTENSION, currentContext, parseKubeconfig, readCtxState, serializeKubeconfig, useContextBack, useTeamContext } from "../../src/access/kubeconfig-contexts.js";
import { userKubeconfigPath } from "../../src/access/kubeconfig-path.js";
import { teamKubeconfig, tokenSeconds } from "../../src/access/team-kubeconfig.js";

// As kubectl writes it: sequences flush with their key, keys sorted; plus a person's comment.
const KUBECONFIG = `# my clusters: keep this comment
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://prod.example.com:6443
  name: prod
- cluster:
    server: https://dev.example.com:6443
  name: dev
contexts:
- context:
    cluster: prod
    user: admin
  name: admin@prod
- context:
    cluster: dev
    namespace: scratch
    user: me
  name: dev
current-context: "admin@prod"
kind: Config
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
- name: me
  user:
    token: abc # a comment on a token
`;

function edit(text: string, change: (doc: ReturnType<typeof parseKubeconfig>) => void): string {
  const doc = parseKubeconfig(text, "kubeconfig");
  change(doc);
  return serializeKubeconfig(doc, text);
}

/** Whether the lines of `a` appear in `b` in order (b only added lines). */
function isSubsequence(a: string, b: string): boolean {
  const lines = b.split("\n");
  let j = 0;
  for (const line of a.split("\n")) {
    while (j < lines.length && lines[j] !== line) j++;
    if (j === lines.length) return false;
    j++;
  }
  return true;
}

describe("tenantry ctx on a kubeconfig document", () => {
  it("round-trips a kubeconfig it does not change byte for byte", () => {
    expect(edit(KUBECONFIG, () => undefined)).toBe(KUBECONFIG);
  });

  it("adds the team's user and context, switches, remembers the previous, and goes back", () => {
    const team = edit(KUBECONFIG, (doc) => {
      expect(useTeamContext(doc, { team: "t1", name: "tenantry-t1", token: "tok1", cluster: { name: "prod" } })).toEqual({ previous: "admin@prod" });
    });
    expect(isSubsequence(KUBECONFIG.replace('current-context: "admin@prod"\n', ""), team)).toBe(true);
    const parsed = parse(team) as { "current-context": string; contexts: { name: string; context: object }[]; users: { name: string; user: object }[]; clusters: unknown[]; extensions: unknown[] };
    expect(parsed["current-context"]).toBe("tenantry-t1");
    expect(team).toContain('current-context: "tenantry-t1"');
    expect(parsed.contexts.at(-1)).toEqual({ name: "tenantry-t1", context: { cluster: "prod", user: "tenantry-t1", namespace: "t1" } });
    expect(parsed.users.at(-1)).toEqual({ name: "tenantry-t1", user: { token: "tok1" } });
    expect(parsed.clusters).toHaveLength(2);
    expect(parsed.extensions).toEqual([{ name: CTX_EXTENSION, extension: { "previous-context": "admin@prod", contexts: ["tenantry-t1"] } }]);

    const back = edit(team, (doc) => {
      expect(useContextBack(doc, () => true)).toEqual({ from: "tenantry-t1", to: "admin@prod" });
    });
    expect(isSubsequence(KUBECONFIG, back)).toBe(true);
    expect(currentContext(parseKubeconfig(back, "k"))).toBe("admin@prod");
    // `-` again toggles, like `cd -`.
    expect(readCtxState(parseKubeconfig(back, "k")).previous).toBe("tenantry-t1");
  });

  it("refreshes the token in place and keeps the context to go back to", () => {
    const once = edit(KUBECONFIG, (doc) => useTeamContext(doc, { team: "t1", name: "tenantry-t1", token: "old", cluster: { name: "prod" } }));
    const twice = edit(once, (doc) => {
      expect(useTeamContext(doc, { team: "t1", name: "tenantry-t1", token: "new", cluster: { name: "prod" } }).previous).toBe("admin@prod");
    });
    const parsed = parse(twice) as { users: { name: string; user: { token?: string } }[]; contexts: unknown[] };
    expect(parsed.users.filter((u) => u.name === "tenantry-t1")).toEqual([{ name: "tenantry-t1", user: { token: "new" } }]);
    expect(parsed.contexts).toHaveLength(3);
  });

  it("adds a cluster entry when the admin's is not in the file", () => {
    const out = edit(KUBECONFIG, (doc) => useTeamContext(doc, { team: "t1", name: "tenantry-t1", token: "x", cluster: { name: "tenantry-t1", entry: { server: "https://other:6443", "certificate-authority-data": "Q0E=" } } }));
    const parsed = parse(out) as { clusters: { name: string; cluster: object }[] };
    expect(parsed.clusters.at(-1)).toEqual({ name: "tenantry-t1", cluster: { server: "https://other:6443", "certificate-authority-data": "Q0E=" } });
  });

  it("keeps indented sequences indented, and starts sections a file lacks", () => {
    const indented = "apiVersion: v1\nkind: Config\nclusters:\n  - name: c\n    cluster:\n      server: https://c\ncurrent-context: x\n";
    const out = edit(indented, (doc) => useTeamContext(doc, { team: "t", name: "tenantry-t", token: "x", cluster: { name: "c" } }));
    expect(out).toContain("clusters:\n  - name: c\n");
    expect(out).toContain("contexts:\n  - name: tenantry-t\n");
    expect(edit("", (doc) => useTeamContext(doc, { team: "t", name: "tenantry-t", token: "x", cluster: { name: "c", entry: { server: "https://c" } } }))).toContain("current-context: tenantry-t\n");
  });

  it("refuses to go back without a remembered or existing context", () => {
    expect(() => edit(KUBECONFIG, (doc) => useContextBack(doc, () => true))).toThrow(/no previous context/);
    const team = edit(KUBECONFIG, (doc) => useTeamContext(doc, { team: "t1", name: "tenantry-t1", token: "x", cluster: { name: "prod" } }));
    expect(() => edit(team, (doc) => useContextBack(doc, () => false))).toThrow(/admin@prod no longer exists/);
  });

  it("refuses a file that is not a kubeconfig", () => {
    expect(() => parseKubeconfig("- a\n- b\n", "f")).toThrow(/not a kubeconfig/);
    expect(() => parseKubeconfig("a: [\n", "f")).toThrow(/malformed YAML/);
  });
});

describe("team kubeconfigs", () => {
  it.each([
    ["8h", 8 * 3600],
    ["30m", 1800],
    ["10m", 600],
    ["24h", 86_400],
    ["1h30m", 5400],
  ])("--duration %s is %d s", (text, seconds) => {
    expect(tokenSeconds(text)).toBe(seconds);
  });

  it.each(["9m", "25h", "1s", "0h"])("--duration %s is out of range", (text) => {
    expect(() => tokenSeconds(text)).toThrow(/out of range: tokens last from 10m to 24h/);
  });

  it.each(["8", "eight hours", ""])("--duration %j is not a duration", (text) => {
    expect(() => tokenSeconds(text)).toThrow(/not a duration/);
  });

  it("embeds the CA, never skips TLS verification", () => {
    expect(teamKubeconfig("t1", { name: "prod", server: "https://prod:6443", caData: "Q0E=" }, "tok")).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "prod", cluster: { server: "https://prod:6443", "certificate-authority-data": "Q0E=" } }],
      users: [{ name: "tenantry-t1", user: { token: "tok" } }],
      contexts: [{ name: "tenantry-t1", context: { cluster: "prod", user: "tenantry-t1", namespace: "t1" } }],
      "current-context": "tenantry-t1",
      preferences: {},
    });
  });
});

describe("the kubeconfig ctx edits", () => {
  it("is --kubeconfig, else the first of $KUBECONFIG, else ~/.kube/config", () => {
    expect(userKubeconfigPath("/x/kc", { KUBECONFIG: "/a:/b" })).toBe("/x/kc");
    expect(userKubeconfigPath(undefined, { KUBECONFIG: ":/a:/b" })).toBe("/a");
    expect(userKubeconfigPath(undefined, {})).toMatch(/\.kube\/config$/);
  });
});
