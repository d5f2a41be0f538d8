// Every bad input gets one clear message naming the problem and the fix, a non-zero exit
// code, and leaves the admin repo byte-for-byte unchanged (.git included).

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_TEAM_NAME_LENGTH } from "../../src/model/names.js";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { startAgent } from "../helpers/agent.js";
import { cliPath, runCli, runProgram, snapshotTree, tempDir, treeHash, type CliResult } from "../helpers/cli.js";

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

  it("an --allow-from namespace YAML reads as a number: the NetworkPolicy would select another namespace", async () => {
    await expectRefused(
      ["create-team", "team2", "--repo-url", "https://git.example/t2.git", "--allow-from", "010"],
      2,
      /^tenantry: error: --allow-from "010" reads as a number in YAML: tenantry cannot write it into a NetworkPolicy yet: leave it out of --allow-from\n$/,
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

/** A "billion laughs" file: nine levels of nine aliases, far past the yaml library's alias limit. */
const ALIAS_BOMB = [
  'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
  ..."bcdefghi".split("").map((n, i) => `${n}: &${n} [${Array(9).fill(`*${"abcdefghi"[i] ?? ""}`).join(", ")}]`),
  "",
].join("\n");

describe("an alias bomb (billion laughs) in a file tenantry reads: exit 2, one line naming the file, nothing changed", () => {
  it.each([
    ["tenantry.yaml", ["create-team", "team2", "--repo-url", "https://git.example/t2.git", "--dry-run"]],
    ["tenantry.yaml", ["validate", "."]],
    ["cluster/team1/team.yaml", ["create-team", "team1", "--tier", "medium", "--dry-run"]],
    ["cluster/team1/team.yaml", ["list"]],
    ["cluster/team1/team.yaml", ["validate", "."]],
    ["cluster/teams/tombstones/tombstones.yaml", ["create-team", "team2", "--repo-url", "https://git.example/t2.git", "--dry-run"]],
  ])("%s: %j", async (path, args) => {
    const dir = copyOfAdmin();
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), ALIAS_BOMB);
    const before = snapshotTree(dir);
    const r = await runCli(args, { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain(`tenantry: error: ${path}: its aliases expand past the limit a YAML reader allows (an alias bomb?): fix`);
    expect(snapshotTree(dir)).toEqual(before);
  });
});

describe("schema messages quote the field names a file holds", () => {
  it("an unknown field with a quote, a bar and a line break in its name is one line, the name a JSON string", async () => {
    const dir = copyOfAdmin();
    const file = join(dir, "tenantry.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^spec:\n/m, 'spec:\n  "lpt|S\\"\\nx": 1\n'));
    const r = await runCli(["create-team", "team2", "--repo-url", "https://git.example/t2.git", "--dry-run"], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toBe('tenantry: error: tenantry.yaml: spec: unknown field "lpt|S\\"\\nx"\n');
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

  it("a cluster name YAML reads as a number: the template writes it bare", async () => {
    const dir = join(tempDir(), "new");
    const r = await runCli(["init", dir, "--cluster-name", "010"]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain('cluster name "010" reads as a number in YAML: start it with a letter');
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

  // Checked before the kubeconfig is read: a kubeconfig that does not exist is never reached.
  it.each([
    [["--url", "https://git.example/x.git", "--as-team", "Bad_Name"], /^--as-team: team name "Bad_Name" is not a DNS-1123 label: use lowercase/],
    [["--url", "https://git.example/x.git", "--as-team", "010"], /^--as-team: team name "010" reads as a number in YAML: start it with a letter$/],
    [["--url", "https://git.example/x.git", "--as-team", "kube-system"], /^--as-team: team name "kube-system" is reserved/],
    [["--namespace", "Bad NS", "--name", "x"], /^--namespace "Bad NS" is not a DNS-1123 label: use lowercase/],
    [["--namespace", "team1", "--name", "Bad/Name"], /^--name "Bad\/Name" is not a DNS-1123 subdomain: use lowercase/],
    [["--namespace", "team1", "--name", ""], /^--name is empty: give a lowercase name/],
    [["-n", "team1", "--namespace", "team2", "--name", "x"], /^--namespace is given 2 times: give it once, with a name$/],
  ])("names are checked: %j", async (args, message) => {
    const r = await runCli(["sync", ...args, "--kubeconfig", "/nonexistent/kubeconfig"]);
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr.replace(/^tenantry: error: /, "").trimEnd()).toMatch(message);
  });

  it("every bad name at once", async () => {
    const r = await runCli(["sync", "--namespace", "Bad NS", "--name", "Bad/Name", "--kubeconfig", "/nonexistent/kubeconfig"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: "))).toEqual([
      expect.stringMatching(/--namespace "Bad NS"/),
      expect.stringMatching(/--name "Bad\/Name"/),
    ]);
  });

  it("valid names pass the check and reach the kubeconfig", async () => {
    const r = await runCli(["sync", "--namespace", "team1", "--name", "team1", "--kubeconfig", "/nonexistent/kubeconfig"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\/nonexistent\/kubeconfig/);
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

/** One error line, no stack frame, no "This is a bug". */
function expectOneLine(stderr: string): void {
  const lines = stderr.split("\n").filter((l) => l !== "" && !l.startsWith("note: "));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tenantry: error: /);
  expect(stderr).not.toMatch(/^ {4}at |This is a bug|internal error/m);
}

/** A copy of the admin repo (its .git too) to break by hand. */
function copyOfAdmin(): string {
  const dir = join(tempDir(), "admin");
  cpSync(admin, dir, { recursive: true });
  return dir;
}

describe("agent options are checked before anything runs", () => {
  // --kubeconfig names no file: an option problem must be found before it is read.
  const agent = (...args: string[]): Promise<CliResult> => runCli(["agent", "--kubeconfig", "/nonexistent/kubeconfig", ...args]);

  it.each([
    [["--port", "70000"], /--port 70000 is not a TCP port: give an integer from 0 to 65535/],
    [["--port", "-1"], /--port -1 is not a TCP port/],
    [["--port", "1.5"], /--port 1\.5 is not a TCP port/],
    [["--port", "abc"], /--port NaN is not a TCP port/],
    [["--metrics-port", "65536"], /--metrics-port 65536 is not a TCP port/],
    [["--concurrency", "-1"], /--concurrency -1 is not a number of GitSyncs reconciled at once: give an integer from 1 to 64/],
    [["--concurrency", "0"], /--concurrency 0 is not/],
    [["--concurrency", "2.5"], /--concurrency 2\.5 is not/],
    [["--concurrency", "abc"], /--concurrency NaN is not/],
    [["--concurrency", "1000"], /--concurrency 1000 is not/],
    [["--poll-interval", "0"], /--poll-interval 0 is not a duration: give seconds, more than 0 and at most 3600/],
    [["--poll-interval", "-2"], /--poll-interval -2 is not a duration/],
    [["--poll-interval", "abc"], /--poll-interval NaN is not a duration/],
    [["--poll-interval", "1e400"], /--poll-interval Infinity is not a duration/],
    [["--poll-interval", "3601"], /--poll-interval 3601 is not a duration/],
    [["--trigger-spacing", "-1"], /--trigger-spacing -1 is not a duration: give seconds, at least 0 and at most 86400/],
    [["--namespace", "Bad_NS"], /--namespace "Bad_NS" is not a DNS-1123 label/],
    [["--host", ""], /--host is empty: give a value or leave the option out/],
    [["--host", "127.0.0.1", "--host", "::1"], /--host is given 2 times: give it once/],
    [["--port", "9000", "--metrics-port", "9000"], /--metrics-port 9000 is the webhook port/],
  ])("%j: exit 2, one line", async (args, message) => {
    const r = await agent(...args);
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });

  it("every problem at once", async () => {
    const r = await agent("--port", "-5", "--concurrency", "-1", "--poll-interval", "0", "--trigger-spacing", "-1");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").map((l) => l.replace(/ is not .*/, ""))).toEqual([
      "tenantry: error: --port -5",
      "tenantry: error: --concurrency -1",
      "tenantry: error: --poll-interval 0",
      "tenantry: error: --trigger-spacing -1",
    ]);
  });

  it("accepts the limits: port 0, concurrency 1 and 64, trigger spacing 0 and fractional", async () => {
    // (startAgent gives --poll-interval 1 itself; an option given twice is refused.)
    for (const args of [["--concurrency", "64", "--trigger-spacing", "0.5"], ["--concurrency", "1", "--trigger-spacing", "0"]]) {
      const a = await startAgent(["--kubeconfig", unreachableKubeconfig(), ...args]);
      // Running with these options: its watch of the GitSyncs tried the (unreachable) API server and said so in one line.
      await expect.poll(() => a.logs.find((l) => l.msg === "watching GitSyncs failed; retrying")?.error, { timeout: 10_000 }).toBe("cannot reach the API server at https://127.0.0.1:1 (ECONNREFUSED): check the kubeconfig and that the cluster is up");
      expect(await a.stop()).toBe(0);
    }
  });
});

/** A kubeconfig that loads but whose API server is never reached (port 1 refuses). */
function unreachableKubeconfig(): string {
  const file = join(tempDir(), "kubeconfig");
  writeFileSync(
    file,
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    { mode: 0o600 },
  );
  return file;
}

describe("agent: ports and addresses it cannot listen on", () => {
  it("a port another program holds: exit 1, one line naming it", async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", done));
    const port = (taken.address() as AddressInfo).port;
    try {
      for (const flag of ["--port", "--metrics-port"]) {
        const other = flag === "--port" ? "--metrics-port" : "--port";
        const r = await runCli(["agent", "--kubeconfig", unreachableKubeconfig(), "--host", "127.0.0.1", flag, String(port), other, "0"]);
        expect(r.code, r.stderr).toBe(1);
        expectOneLine(r.stderr);
        expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: another program uses that port: choose another --port or --metrics-port`);
      }
    } finally {
      taken.close();
    }
  });

  it("an address this machine does not have: exit 2", async () => {
    // TEST-NET-1 (RFC 5737): binding it fails locally; nothing is sent anywhere.
    const r = await runCli(["agent", "--kubeconfig", unreachableKubeconfig(), "--host", "192.0.2.1", "--port", "0", "--metrics-port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/cannot listen on 192\.0\.2\.1(:0)?: no interface of this machine has that address: give one of its addresses with --host/);
  });
});

describe("a file where a directory belongs (or the reverse): exit 2, one line naming it, nothing changed", () => {
  async function expectPathRefused(dir: string, args: string[], named: RegExp): Promise<void> {
    const before = snapshotTree(dir);
    const r = await runCli(args, { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(named);
    expect(snapshotTree(dir)).toEqual(before);
  }

  it.each([
    ["cluster", ["create-team", "team2", "--repo-url", "https://git.example/t2.git"]],
    ["cluster", ["create-team", "team1", "--tier", "medium"]],
    ["cluster", ["list"]],
    ["cluster", ["validate", "."]],
    ["cluster/teams", ["create-team", "team2", "--repo-url", "https://git.example/t2.git"]],
    ["cluster/teams", ["list"]],
    ["cluster/team1", ["create-team", "team1", "--tier", "medium"]],
    ["cluster/team1", ["list"]],
    ["cluster/team1", ["validate", "."]],
  ])("%s is a file: %j", async (path, args) => {
    const dir = copyOfAdmin();
    rmSync(join(dir, path), { recursive: true });
    writeFileSync(join(dir, path), "not a directory\n");
    await expectPathRefused(dir, args, new RegExp(`${path.replace("/", "\\/")}\\b`));
  });

  it.each([
    ["tenantry.yaml", ["create-team", "team2", "--repo-url", "https://git.example/t2.git"]],
    ["tenantry.yaml", ["validate", "."]],
    ["cluster/teams/kustomization.yaml", ["create-team", "team2", "--repo-url", "https://git.example/t2.git"]],
    ["cluster/teams/kustomization.yaml", ["list"]],
    ["cluster/teams/kustomization.yaml", ["validate", "."]],
    ["cluster/team1/team.yaml", ["create-team", "team1", "--tier", "medium"]],
    ["cluster/team1/team.yaml", ["validate", "."]],
  ])("%s is a directory: %j", async (path, args) => {
    const dir = copyOfAdmin();
    rmSync(join(dir, path));
    mkdirSync(join(dir, path));
    // The line names the directory (Node names no path for a read of one).
    await expectPathRefused(dir, args, new RegExp(`${path.replaceAll("/", "\\/").replaceAll(".", "\\.")} is a directory`));
  });

  it("--admin-repo naming a file", async () => {
    await expectPathRefused(admin, ["create-team", "team2", "--admin-repo", join(admin, "tenantry.yaml")], /--admin-repo .*tenantry\.yaml has no tenantry\.yaml/);
    await expectPathRefused(admin, ["list", "--admin-repo", join(admin, "CODEOWNERS")], /--admin-repo .*CODEOWNERS has no tenantry\.yaml/);
  });

  it("init into a file, or below one", async () => {
    const file = join(tempDir(), "file");
    writeFileSync(file, "mine\n");
    for (const target of [file, join(file, "admin")]) {
      const r = await runCli(["init", target, "--cluster-name", "prod"]);
      expect(r.code, r.stderr).toBe(2);
      expectOneLine(r.stderr);
      expect(r.stderr).toContain(`${file} is a file where a directory was expected`);
      expect(readFileSync(file, "utf8")).toBe("mine\n");
    }
  });
});

// A read-only bind mount in a private mount namespace (unshare -rm: a user namespace, so no
// root is needed where unprivileged user namespaces are allowed). Root ignores file modes, so
// chmod cannot make a repo read-only for the root user CI runs as; a read-only mount can.
const canMountReadOnly = (() => {
  try {
    execFileSync("unshare", ["-rm", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0"', tmpdir()], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

function runReadOnly(dir: string, args: string[], cwd: string): Promise<CliResult> {
  return runProgram("unshare", ["-rm", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && shift && exec "$@"', dir, "x", process.execPath, cliPath, ...args], { cwd });
}

describe.runIf(canMountReadOnly)("a read-only admin repo: exit 1, one line naming it, nothing changed", () => {
  it.each([
    [["create-team", "team2", "--repo-url", "https://git.example/t2.git"]],
    [["create-team", "team2", "--repo-url", "https://git.example/t2.git", "--commit"]],
    [["create-team", "team1", "--tier", "medium", "--commit"]],
  ])("%j", async (args) => {
    const dir = copyOfAdmin();
    const before = snapshotTree(dir);
    const r = await runReadOnly(dir, args, dir);
    expect(r.code, r.stderr).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/read-only/);
    expect(r.stderr).toContain(dir);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it("init restoring a deleted file", async () => {
    const dir = copyOfAdmin();
    rmSync(join(dir, "README.md"));
    const before = snapshotTree(dir);
    const r = await runReadOnly(dir, ["init", dir, "--cluster-name", "test"], dir);
    expect(r.code, r.stderr).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/read-only/);
    expect(snapshotTree(dir)).toEqual(before);
  });
});

describe("a reader that closes the pipe early", () => {
  it("ends the output quietly: no EPIPE stack trace, the command's own exit code", async () => {
    const child = spawn(process.execPath, [cliPath, "create-team", "team2", "--repo-url", "https://git.example/t2.git", "--dry-run"], { cwd: admin, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone before the first line
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((done) => child.on("exit", done));
    expect(stderr).not.toMatch(/EPIPE|^ {4}at /m);
    expect(code).toBe(0);
  });
});

// Shapes that attack a YAML reader (the property tests draw from these rarely): each of the
// admin repo's own files holding one is refused in one line, or read, but never a crash.
const HOSTILE_YAML: [string, string][] = [
  ["deep flow sequence", "[".repeat(5_000)],
  ["deep block sequence", `${"- ".repeat(3_000)}x\n`],
  ["deep flow mapping", `${"{a: ".repeat(2_000)}1${"}".repeat(2_000)}\n`],
  ["alias bomb", 'a: &a ["x", "x"]\nb: &b [*a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n'],
  ["recursive alias", "a: &a\n  b: *a\n"],
  ["js function tag", "x: !!js/function 'function () { return 1 }'\n"],
  ["unknown tags", "x: !!binary AAAA\ny: !custom {a: 1}\n"],
  ["duplicate keys", "a: 1\na: 2\n"],
  ["byte order mark", "\ufeffkind: Kustomization\n"],
  ["tab indentation", "\tkey: value\n"],
  ["infinite numbers", "key: 1e999\nother: -.inf\n"],
  ["complex key", "? [complex, key]\n: value\n"],
  ["merge key", "<<: {spec: {}}\n"],
  ["two documents", "--- a\n--- b\n"],
  ["YAML 1.1 directive", "%YAML 1.1\n---\nyes: no\n"],
  ["a 200 kB value", `key: ${"x".repeat(200_000)}\n`],
  ["control characters", "\u0000\u0001\u0002\u001b[2J"],
  ["empty", ""],
];

describe("hostile YAML in the admin repo's files: one line (or one per problem), no crash, nothing written", () => {
  const cases = ["tenantry.yaml", "cluster/teams/kustomization.yaml", "cluster/team1/team.yaml"].flatMap((file) => HOSTILE_YAML.map(([what, text]): [string, string, string] => [file, what, text]));
  it.each(cases)("%s: %s", async (file, _what, text) => {
    const dir = copyOfAdmin();
    writeFileSync(join(dir, file), text);
    const commands = file === "tenantry.yaml" ? [["create-team", "team1", "--tier", "medium", "--dry-run"]] : [["create-team", "team1", "--tier", "medium", "--dry-run"], ["list"]];
    for (const args of commands) {
      const before = snapshotTree(dir);
      const r = await runCli(args, { cwd: dir });
      expect([0, 2], `${args.join(" ")}: ${r.stderr}`).toContain(r.code);
      expect(r.stderr).not.toMatch(/^ {4}at |This is a bug|internal error/m);
      if (r.code !== 0) expect(r.stderr.split("\n").filter((l) => l.startsWith("tenantry: error: ")).length).toBeGreaterThan(0);
      expect(snapshotTree(dir)).toEqual(before);
    }
  });
});

describe("usage errors are one line", () => {
  it("an invalid choice (yargs breaks it over two lines)", async () => {
    const r = await runCli(["status", "-o", "xml", "--kubeconfig", "/nonexistent"]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toBe('tenantry: error: Invalid values: Argument: output, Given: "xml", Choices: "table", "json", "yaml" (see tenantry --help)\n');
  });
});

describe("a directory this user may not write: exit 1, one line, nothing created", () => {
  // Root ignores modes: as root, the CLI runs as nobody (setpriv); otherwise the mode does it.
  const asRoot = process.getuid?.() === 0;
  const hasSetpriv = (() => {
    try {
      execFileSync("setpriv", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(!asRoot || hasSetpriv)("init into it", async () => {
    const base = tempDir();
    const locked = join(base, "locked");
    mkdirSync(locked);
    chmodSync(base, 0o755);
    chmodSync(locked, asRoot ? 0o755 : 0o555);
    const target = join(locked, "admin");
    const args = ["init", target, "--cluster-name", "prod"];
    const r = asRoot
      ? await runProgram("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cliPath, ...args], { env: { HOME: tmpdir() } })
      : await runCli(args);
    expect(r.code, r.stderr).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain(`tenantry: error: permission denied: cannot create a directory in ${locked}: make it writable (and readable) by this user, or run as its owner`);
    expect(readdirSync(locked)).toEqual([]);
    chmodSync(locked, 0o755);
  });
});
