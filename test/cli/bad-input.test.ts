// Every bad input gets one clear message naming the problem and the fix, a non-zero exit
// code, and leaves the admin repo byte-for-byte unchanged (.git included).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_TEAM_NAME_LENGTH } from "../../src/model/names.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir, treeHash } from "../helpers/cli.js";

let admin: string;

beforeAll(async () => {
  admin = await makeAdminRepo([["team1"]]);
});

async function expectRefused(args: string[], code: number, ...messages: RegExp[]): Promise<void> {
  const before = treeHash(admin);
  const r = await runCli(args, { cwd: admin });
  expect(r.code, r.stderr).toBe(code);
  for (const m of messages) expect(r.stderr).toMatch(m);
  expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
  expect(treeHash(admin)).toBe(before);
}

describe("create-team refuses bad input and writes nothing", () => {
  it.each([
    ["Team1", /team name "Team1" is not a DNS-1123 label/],
    ["team-", /is not a DNS-1123 label/],
    ["team_1", /is not a DNS-1123 label/],
    ["a".repeat(MAX_TEAM_NAME_LENGTH + 1), new RegExp(`use at most ${MAX_TEAM_NAME_LENGTH}`)],
    ["default", /reserved/],
    ["kube-system", /reserved/],
    ["kube-anything", /reserved/],
    ["tenantry-system", /reserved/],
  ])("team name %s", async (name, message) => {
    await expectRefused(["create-team", name], 2, message);
  });

  it("accepts the longest allowed name", async () => {
    const r = await runCli(["create-team", "a".repeat(MAX_TEAM_NAME_LENGTH), "--dry-run"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
  });

  it("an unknown tier names the tiers there are", async () => {
    await expectRefused(["create-team", "team2", "--tier", "huge"], 2, /unknown tier "huge": use one of small, medium, large/);
  });

  it.each(["not a url", "http://github.com/acme/x.git", "ftp://x/y", "https://user:secret@github.com/acme/x.git"])("repo URL %s", async (url) => {
    await expectRefused(["create-team", "team2", "--repo-url", url], 2, /repo URL|credentials/);
  });

  it("reports every problem at once", async () => {
    await expectRefused(
      ["create-team", "team2", "--tier", "huge", "--repo-url", "nope", "--registry", "docker.io", "--node-pool", "nolabel", "--allow-from", "Bad_NS"],
      2,
      /unknown tier/,
      /repo URL "nope"/,
      /--registry "docker.io" must end with '\/'/,
      /--node-pool "nolabel" is not label=value/,
      /--allow-from "Bad_NS" is not a DNS-1123 label/,
    );
  });

  it("outside an admin repo", async () => {
    const r = await runCli(["create-team", "team2"], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no tenantry.yaml in .* or its parents: run inside an admin repo .* or pass --admin-repo DIR/);
  });

  it("an unknown flag", async () => {
    await expectRefused(["create-team", "team2", "--teir", "small"], 2, /Unknown argument: teir/);
  });
});

describe("hand-broken files are reported, not overwritten", () => {
  async function withBrokenFile(path: string, content: string, ...messages: RegExp[]): Promise<void> {
    const file = join(admin, path);
    const original = readFileSync(file, "utf8");
    writeFileSync(file, content);
    try {
      await expectRefused(["create-team", "team2"], 2, ...messages);
      await expectRefused(["delete-team", "team1"], 2, ...messages);
    } finally {
      writeFileSync(file, original);
    }
  }

  it("malformed tenantry.yaml", async () => {
    await withBrokenFile("tenantry.yaml", "spec: [unclosed\n", /tenantry.yaml: malformed YAML .*: fix the file or restore it with git/);
  });

  it("tenantry.yaml that breaks the schema, every problem listed", async () => {
    const original = readFileSync(join(admin, "tenantry.yaml"), "utf8");
    const broken = original.replace("policyEngine: both", "policyEngine: opa").replace('limits.cpu: "4"', "limits.cpu: lots");
    await withBrokenFile("tenantry.yaml", broken, /spec.policyEngine: must be one of gatekeeper, vap, both/);
    await withBrokenFile("tenantry.yaml", original.replace('limits.cpu: "4"', "limits.cpu: lots"), /spec.tiers.small.quota.limits.cpu "lots" is not a Kubernetes quantity/);
  });

  it("--admin-repo without tenantry.yaml", async () => {
    await expectRefused(["create-team", "team2", "--admin-repo", join(admin, "cluster")], 2, /--admin-repo .*\/cluster has no tenantry.yaml/);
  });

  it("missing tenantry.yaml", async () => {
    renameSync(join(admin, "tenantry.yaml"), join(admin, "..", "moved.yaml"));
    try {
      const r = await runCli(["create-team", "team2"], { cwd: admin });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no tenantry.yaml in .*admin or its parents/);
    } finally {
      renameSync(join(admin, "..", "moved.yaml"), join(admin, "tenantry.yaml"));
    }
  });

  it("hand-broken cluster/teams/kustomization.yaml", async () => {
    await withBrokenFile("cluster/teams/kustomization.yaml", "resources: [../team1\n", /cluster\/teams\/kustomization.yaml: malformed YAML .*fix it by hand or restore it with git/);
    await withBrokenFile("cluster/teams/kustomization.yaml", "kind: Kustomization\nresources: {a: b}\n", /resources is not a list/);
  });
});

describe("init refuses", () => {
  it("a non-empty directory that is not an admin repo", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "x"));
    writeFileSync(join(dir, "x", "notes.txt"), "mine");
    const r = await runCli(["init", join(dir, "x"), "--cluster-name", "prod"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not empty and not a tenantry admin repo: choose an empty or new directory/);
    expect(readFileSync(join(dir, "x", "notes.txt"), "utf8")).toBe("mine");
  });

  it("a bad cluster name, URL and owner, all at once, creating nothing", async () => {
    const dir = join(tempDir(), "new");
    const r = await runCli(["init", dir, "--cluster-name", "Prod!", "--git-url", "github.com/x", "--platform-team", "platform"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cluster name "Prod!"/);
    expect(r.stderr).toMatch(/--git-url "github.com\/x"/);
    expect(r.stderr).toMatch(/--platform-team "platform" is not a CODEOWNERS owner/);
    const { existsSync } = await import("node:fs");
    expect(existsSync(dir)).toBe(false);
  });

  it("an unknown policy engine", async () => {
    const r = await runCli(["init", join(tempDir(), "a"), "--cluster-name", "p", "--policy-engine", "opa"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid values:.*policy-engine/s);
  });
});

describe("sync", () => {
  it("without a GitSync to name is a usage error", async () => {
    const r = await runCli(["sync"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/name a GitSync with --namespace and --name, use --all, or give --url/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe("kubeconfig", () => {
  it("-o table without --out: a kubeconfig is printed as yaml or json, and no token is minted", async () => {
    const r = await runCli(["kubeconfig", "team1", "-o", "table", "--kubeconfig", "/nonexistent"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("tenantry: error: a kubeconfig is printed as yaml or json: use -o yaml or -o json, or --out FILE for a summary table");
  });
});

describe("delete-team", () => {
  it("refuses an unknown team", async () => {
    await expectRefused(["delete-team", "nosuchteam"], 2, /unknown team "nosuchteam": `tenantry list` shows the teams/);
  });
});
