import { describe, expect, it } from "vitest";
import { clusterDirOf, dnsSubdomainProblems, MAX_TEAM_NAME_LENGTH, TEAM_NAME_SUFFIXES, teamNameProblems, labelKeyProblems, yamlScalarProblems } from "../../src/model/names.js";
import { gitUrlProblems, ownerProblems, parseNodePool, quantityProblems, registryProblems } from "../../src/model/values.js";

describe("team names", () => {
  it.each(["team1", "a", "payments-eu", "0ab", "a".repeat(MAX_TEAM_NAME_LENGTH)])("accepts %s", (name) => {
    expect(teamNameProblems(name)).toEqual([]);
  });

  it.each(["", "-team", "team-", "Team", "team_1", "team.1", "a".repeat(MAX_TEAM_NAME_LENGTH + 1), "default", "kube-public", "tenantry-system", "tenantry", "team1-system", "flux-system"])(
    "refuses %j",
    (name) => {
      expect(teamNameProblems(name).length).toBeGreaterThan(0);
    },
  );

  // The templates write a team name bare: YAML must read it back as that very string, in 1.2 and in 1.1.
  it.each([
    ["010", "a number", "start it with a letter"],
    ["1e3", "a number", "start it with a letter"],
    ["0x1f", "a number", "start it with a letter"],
    ["0o17", "a number", "start it with a letter"], // YAML 1.2 only
    ["0b101", "a number", "start it with a letter"], // YAML 1.1 only
    ["2024-05-01", "a date", "start it with a letter"], // YAML 1.1 only
    ["1".repeat(40), "a number", "start it with a letter"],
    ["true", "a boolean", 'choose another name, e.g. "true-team"'],
    ["false", "a boolean", 'choose another name, e.g. "false-team"'],
    ["yes", "a boolean", 'choose another name, e.g. "yes-team"'], // YAML 1.1 only
    ["no", "a boolean", 'choose another name, e.g. "no-team"'],
    ["on", "a boolean", 'choose another name, e.g. "on-team"'],
    ["off", "a boolean", 'choose another name, e.g. "off-team"'],
    ["y", "a boolean", 'choose another name, e.g. "y-team"'],
    ["null", "null", 'choose another name, e.g. "null-team"'],
  ])("refuses %s, which YAML reads as %s, in one line", (name, reads, fix) => {
    expect(teamNameProblems(name)).toEqual([`team name "${name}" reads as ${reads} in YAML: ${fix}`]);
  });

  // Text in both versions: digits with a dash, a name ending in digits, and "e3", which the
  // yaml library's 1.1 floats take for NaN (YAML 1.1's floats need a dot).
  it.each(["1-2", "123abc", "team010", "e3", "nan", "inf", "true-team", "yes-team", "nulls"])("accepts %s, text in YAML 1.2 and 1.1", (name) => {
    expect(teamNameProblems(name)).toEqual([]);
  });

  it("YAML readings of a name that is no DNS label are not checked (the label's problem is the one line)", () => {
    expect(yamlScalarProblems("x", "~")).toEqual([]);
    expect(yamlScalarProblems("x", ".inf")).toEqual([]);
    expect(teamNameProblems("~")).toHaveLength(1);
    expect(teamNameProblems(".inf")).toHaveLength(1);
  });

  it("keeps every derived name a DNS-1123 label", () => {
    for (const suffix of TEAM_NAME_SUFFIXES) expect(MAX_TEAM_NAME_LENGTH + suffix.length).toBeLessThanOrEqual(63);
  });
});

describe("object names", () => {
  it("a bad DNS-1123 subdomain is one line naming the fix", () => {
    expect(dnsSubdomainProblems("--name", "Bad/Name")).toEqual([
      `--name "Bad/Name" is not a DNS-1123 subdomain: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    ]);
    expect(dnsSubdomainProblems("--name", "")).toEqual(['--name is empty: give a lowercase name like "team1"']);
    expect(dnsSubdomainProblems("--name", "gitsync.team1")).toEqual([]);
  });
});

describe("values", () => {
  it.each(["https://github.com/acme/x.git", "ssh://git@host:2222/x.git", "git@github.com:acme/x.git", "file:///srv/git/x.git", "http://127.0.0.1:8080/x.git", "http://localhost/x.git"])("git URL %s", (u) => {
    expect(gitUrlProblems("u", u)).toEqual([]);
  });

  it.each(["", "github.com/x", "http://github.com/x", "http://127.0.0.2/x.git", "http://10.0.0.1/x.git", "https://github.com", "https://a:b@github.com/x", "git@github.com: x"])("bad git URL %j", (u) => {
    expect(gitUrlProblems("u", u)).toHaveLength(1);
  });

  it("registry prefixes must end a host with a slash", () => {
    expect(registryProblems("r", "ghcr.io/acme/")).toEqual([]);
    expect(registryProblems("r", "localhost:5000/x/")).toHaveLength(1);
    expect(registryProblems("r", "ghcr.io")[0]).toMatch(/must end with '\/'/);
    expect(registryProblems("r", "https://ghcr.io/")).toHaveLength(1);
  });

  it("quantities", () => {
    for (const q of ["1", "500m", "4Gi", "0.5", "1e3"]) expect(quantityProblems("q", q)).toEqual([]);
    for (const q of ["", "lots", "4GB", "-1"]) expect(quantityProblems("q", q)).toHaveLength(1);
  });

  it("node pools are label=value", () => {
    expect(parseNodePool("n", "tenantry.dev/pool=a").pool).toEqual({ key: "tenantry.dev/pool", value: "a" });
    expect(parseNodePool("n", "pool").problems).toHaveLength(1);
    expect(parseNodePool("n", "pool=").problems.length).toBeGreaterThan(0);
    expect(labelKeyProblems("k", "Bad Key")).toHaveLength(1);
  });
});

describe("clusterDirOf", () => {
  it("names the directory under cluster/ a file sits in, and nothing for other paths", () => {
    expect(clusterDirOf("cluster/team1/network-policies.yaml")).toBe("team1");
    expect(clusterDirOf("cluster/common/rbac.yaml")).toBe("common");
    expect(clusterDirOf("cluster/team1")).toBeUndefined();
    expect(clusterDirOf("other/cluster/team1/x.yaml")).toBeUndefined();
    expect(clusterDirOf(null)).toBeUndefined();
  });
});

describe("ownerProblems", () => {
  it("takes @org/team, @user and plain e-mail addresses, nothing that could carry markup into a review", () => {
    for (const ok of ["@acme/team1-leads", "@alice", "alice.smith+ops@example.co.uk"]) expect(ownerProblems("--owner", ok)).toEqual([]);
    for (const bad of ["<details>@x.io", "a@b", "@acme/<b>", "alice@exa mple.com", "`x`@y.io"]) expect(ownerProblems("--owner", bad)).toHaveLength(1);
  });
});
