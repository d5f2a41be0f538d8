import { describe, expect, it } from "vitest";
import { clusterDirOf, MAX_TEAM_NAME_LENGTH, TEAM_NAME_SUFFIXES, teamNameProblems, labelKeyProblems } from "../../src/model/names.js";
import { gitUrlProblems, ownerProblems, parseNodePool, quantityProblems, registryProblems } from "../../src/model/values.js";

describe("team names", () => {
  it.each(["team1", "a", "payments-eu", "0ab", "a".repeat(MAX_TEAM_NAME_LENGTH)])("accepts %s", (name) => {
    expect(teamNameProblems(name)).toEqual([]);
  });

  it.each(["", "-team", "team-", "Team", "team_1", "team.1", "a".repeat(MAX_TEAM_NAME_LENGTH + 1), "default", "kube-public", "tenantry-system"])(
    "refuses %j",
    (name) => {
      expect(teamNameProblems(name).length).toBeGreaterThan(0);
    },
  );

  it("keeps every derived name a DNS-1123 label", () => {
    for (const suffix of TEAM_NAME_SUFFIXES) expect(MAX_TEAM_NAME_LENGTH + suffix.length).toBeLessThanOrEqual(63);
  });
});

describe("values", () => {
  it.each(["https://github.com/acme/x.git", "ssh://git@host:2222/x.git", "git@github.com:acme/x.git", "file:///srv/git/x.git"])("git URL %s", (u) => {
    expect(gitUrlProblems("u", u)).toEqual([]);
  });

  it.each(["", "github.com/x", "http://github.com/x", "https://github.com", "https://a:b@github.com/x", "git@github.com: x"])("bad git URL %j", (u) => {
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
