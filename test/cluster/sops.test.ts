// Secrets in Git per team (issue 22), on the real control plane with real git remotes, the
// real build service and the real sops CLI: `tenantry secrets init` puts each team's age
// identity only in its Secret; a Secret the team encrypts with the sops CLI and pushes becomes
// the plaintext Secret in its namespace, applied as the team; team B's repo holding a file
// encrypted for team A fails naming the file, and B can read nothing of A's; the identity never
// lands in the scratch directory (after a reconcile and after a killed one), nor in the repos,
// the output, the status or the Events.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { buildDir } from "../../src/build/kustomize.js";
import { type KubeAccess, loadAccess } from "../../src/cluster/access.js";
import { apiRefusal } from "../../src/cluster/api-errors.js";
import { applyObjects } from "../../src/cluster/apply.js";
import type { GitSync } from "../../src/model/gitsync.js";
import { findBinary } from "../../src/toolchain.js";
import { cliPath, runCli, tempDir } from "../helpers/cli.js";
import { adminAccess, client, readOrNull } from "../helpers/cluster.js";
import { bareRepo, commitAndPush, git } from "../helpers/git.js";
import { AGE_KEY_MARKER, privateKeyLeaks } from "../helpers/sshd.js";

const A = "sopsa";
const B = "sopsb";
const PLAIN = "correct-horse-battery-staple";
let admin: KubeAccess;
let adminRepo = "";
type Team = typeof A | typeof B;
const TEAMS = [A, B] as const;
const work: Record<Team, string> = { [A]: "", [B]: "" };
const remotes: Record<Team, string> = { [A]: "", [B]: "" };
const teamKubeconfig: Record<Team, string> = { [A]: "", [B]: "" };
const inits: Record<Team, { code: number; stdout: string; stderr: string }> = { [A]: { code: -1, stdout: "", stderr: "" }, [B]: { code: -1, stdout: "", stderr: "" } };

const secretYaml = (name: string): string => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\nstringData:\n  password: ${PLAIN}\n`;

/** Every file under `dir` (recursively) whose bytes hold `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

/** The sops CLI with no key of this machine's: encrypting needs only the recipients in .sops.yaml. */
function sops(args: string[], cwd: string): string {
  return execFileSync(findBinary("sops").file, args, { cwd, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: tempDir() } });
}

async function gitSync(team: string): Promise<GitSync> {
  return (await client(admin).readObject({ apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: team, namespace: team } })) as GitSync;
}

const ready = (gs: GitSync) => gs.status?.conditions?.find((c) => c.type === "Ready");

/** Applies the team's overlay as the admin repo's sync would. */
async function applyOverlay(team: string): Promise<void> {
  await applyObjects(admin, await buildDir(join(adminRepo, "cluster", team)));
}

beforeAll(async () => {
  admin = adminAccess();
  adminRepo = join(tempDir(), "admin");
  expect((await runCli(["init", adminRepo, "--cluster-name", "sopstest"])).code).toBe(0);
  for (const team of TEAMS) {
    remotes[team] = bareRepo(team).url;
    work[team] = tempDir(`tenantry-sops-${team}-`);
    git(work[team], "init", "--quiet", "--initial-branch=main");
    const ct = await runCli(["create-team", team, "--repo-url", remotes[team], "--commit"], { cwd: adminRepo });
    expect(ct.code, ct.stderr).toBe(0);
  }
  await applyObjects(admin, (await buildDir(join(adminRepo, "cluster", "common"))).filter((o) => o.kind !== "GitSync"));
  for (const team of TEAMS) {
    await applyOverlay(team);
    teamKubeconfig[team] = join(tempDir("tenantry-sops-kc-"), `${team}.kubeconfig`);
    const kc = await runCli(["kubeconfig", team, "--out", teamKubeconfig[team], "--kubeconfig", inject("kubeconfig")]);
    expect(kc.code, kc.stderr).toBe(0);
  }
  for (const team of TEAMS) {
    inits[team] = await runCli(["secrets", "init", team, "--team-repo-dir", work[team], "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(inits[team].code, inits[team].stderr).toBe(0);
    // What the admin repo's sync would apply: the team's GitSync with spec.decryption.
    await applyOverlay(team);
  }
}, 240_000);

/** The recipient `secrets init` wrote into the admin repo for `team`. */
const recipientOf = (team: Team): string => readFileSync(join(adminRepo, "cluster", team, "age.pub"), "utf8").split("\n").find((l) => l.startsWith("age1")) ?? "";

describe("tenantry secrets init", () => {
  it("a Secret key that is no age identity fails the build naming the Secret and the key, never quoting it", async () => {
    const ref = { apiVersion: "v1", kind: "Secret", metadata: { name: `${B}-sops-age`, namespace: B } };
    const junk = "not-an-identity-but-a-secret-looking-line";
    await client(admin).mergePatch(ref, { data: { "zz-bad.agekey": Buffer.from(junk).toString("base64") } });
    try {
      const r = await runCli(["sync", "--namespace", B, "--name", B, "--kubeconfig", inject("kubeconfig")]);
      expect(r.code).toBe(1);
      const cond = ready(await gitSync(B));
      expect(cond?.reason).toBe("DecryptionFailed");
      expect(cond?.message).toBe(`Secret ${B}/${B}-sops-age (spec.decryption) key zz-bad.agekey is not a list of age identities (the lines age-keygen writes): nothing was applied or pruned`);
      expect(r.stdout + r.stderr).not.toContain(junk);
    } finally {
      await client(admin).mergePatch(ref, { data: { "zz-bad.agekey": null } });
    }
  });

  it("puts the identity only in the cluster, the recipient in the admin repo and the team repo, and is idempotent", async () => {
    for (const team of TEAMS) {
      const r = inits[team];
      expect(r.stdout).toContain(`Made the age identity of team ${team} in Secret ${team}/${team}-sops-age`);
      expect(r.stdout + r.stderr).not.toContain(AGE_KEY_MARKER);
    }
    const secret = (await client(admin).readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: `${A}-sops-age`, namespace: A } })) as unknown as { data: Record<string, string> };
    expect(Object.keys(secret.data)).toEqual(["age.agekey"]);
    expect(Buffer.from(secret.data["age.agekey"] ?? "", "base64").toString()).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+\n$/);
    const recipient = recipientOf(A);
    expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect(readFileSync(join(adminRepo, "cluster", A, "sync.yaml"), "utf8")).toContain(`  decryption:\n    provider: sops\n    secretRef:\n      name: ${A}-sops-age\n`);
    expect(readFileSync(join(work[A], ".sops.yaml"), "utf8")).toContain(`age: ${recipient}`);

    const again = await runCli(["secrets", "init", A, "--team-repo-dir", work[A], "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Kept the age identity of team ${A}`);
    expect(again.stdout).toContain(`Recipient: ${recipient}`);
    expect(again.stdout).toContain("The admin repo has it already.");
    // Nothing secret in any repo, its remote or the output, in any commit.
    const bare = TEAMS.map((t) => remotes[t].replace(/^file:\/\//, ""));
    expect(privateKeyLeaks([adminRepo, work[A], work[B], ...bare], { initA: inits[A].stdout + inits[A].stderr, initB: inits[B].stdout + inits[B].stderr, again: again.stdout + again.stderr })).toEqual([]);
    expect((await gitSync(A)).spec.decryption).toEqual({ provider: "sops", secretRef: { name: `${A}-sops-age` } });
  });

  it("a Secret encrypted with the sops CLI and pushed becomes the plaintext Secret in the team's namespace; nothing secret in the scratch directory, output, status or Events", async () => {
    writeFileSync(join(work[A], "kustomization.yaml"), "resources:\n- db.yaml\n");
    writeFileSync(join(work[A], "db.yaml"), secretYaml("db"));
    writeFileSync(join(work[A], "db.yaml"), sops(["encrypt", "db.yaml"], work[A]));
    expect(readFileSync(join(work[A], "db.yaml"), "utf8")).not.toContain(PLAIN);
    const sha = commitAndPush(work[A], remotes[A], "an encrypted Secret");
    const scratch = tempDir("tenantry-sops-scratch-");
    // The team's own agent's identity: the API server judges the Secret as the team's.
    const r = await runCli(["sync", "--namespace", A, "--name", A, "--kubeconfig", teamKubeconfig[A]], { env: { TMPDIR: scratch } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = (await readOrNull(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: A } })) as { data?: Record<string, string> } | null;
    expect(Buffer.from(db?.data?.password ?? "", "base64").toString()).toBe(PLAIN);
    const gs = await gitSync(A);
    expect(ready(gs)?.status).toBe("True");
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    expect(filesHolding(scratch, AGE_KEY_MARKER)).toEqual([]);
    expect(filesHolding(scratch, PLAIN)).toEqual([]);
    for (const text of [r.stdout, r.stderr, JSON.stringify(gs.status)]) {
      expect(text).not.toContain(PLAIN);
      expect(text).not.toContain(AGE_KEY_MARKER);
    }
    const events = await client(admin).listObjects("v1", "Event", A);
    expect(JSON.stringify(events.items)).not.toContain(PLAIN);
  });

  it("a killed reconcile leaves no identity in the scratch directory", async () => {
    const scratch = tempDir("tenantry-sops-killed-");
    writeFileSync(join(work[A], "db.yaml"), secretYaml("db"));
    writeFileSync(join(work[A], "db.yaml"), sops(["encrypt", "db.yaml"], work[A]));
    commitAndPush(work[A], remotes[A], "the Secret encrypted again");
    for (const after of [150, 400, 800]) {
      const child = spawn(process.execPath, [cliPath, "sync", "--namespace", A, "--name", A, "--kubeconfig", inject("kubeconfig")], { env: { ...process.env, TMPDIR: scratch }, stdio: "ignore" });
      const exited = new Promise((r) => child.once("exit", r));
      await new Promise((r) => setTimeout(r, after));
      child.kill("SIGKILL");
      await exited;
      expect(filesHolding(scratch, AGE_KEY_MARKER)).toEqual([]);
      expect(filesHolding(scratch, PLAIN)).toEqual([]);
    }
  });

  it("team B's repo holding a file encrypted for team A fails naming the file and A's recipient; B cannot read A's identity", async () => {
    writeFileSync(join(work[B], "kustomization.yaml"), "resources:\n- stolen.yaml\n");
    // A's file, encrypted by A's .sops.yaml, copied into B's repo.
    writeFileSync(join(work[A], "stolen.yaml"), secretYaml("db"));
    writeFileSync(join(work[B], "stolen.yaml"), sops(["encrypt", "stolen.yaml"], work[A]));
    const sha = commitAndPush(work[B], remotes[B], "A's file");
    const r = await runCli(["sync", "--namespace", B, "--name", B, "--kubeconfig", inject("kubeconfig")]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const gs = await gitSync(B);
    expect(ready(gs)?.reason).toBe("DecryptionFailed");
    expect(ready(gs)?.message).toBe(`stolen.yaml is SOPS-encrypted for ${recipientOf(A)}, which this team's age identity does not open (encrypt it with the recipient in .sops.yaml)`);
    expect(gs.status?.lastAttemptedRevision).toBe(`main@sha1:${sha}`);
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: B } })).toBeNull();
    // As team A: its own age Secret is readable (reencrypt reads it) but the admin's: no change, no delete.
    const aClient = client(loadAccess(teamKubeconfig[A]));
    const own = { apiVersion: "v1", kind: "Secret", metadata: { name: `${A}-sops-age`, namespace: A } };
    expect((await aClient.readObject(own)).metadata.name).toBe(`${A}-sops-age`);
    for (const attempt of [aClient.mergePatch(own, { data: { "age.agekey": Buffer.from("x").toString("base64") } }), aClient.deleteObject(own)]) {
      const e: unknown = await attempt.catch((x: unknown) => x);
      expect(apiRefusal(e)?.code).toBe(403);
      expect(apiRefusal(e)?.message).toContain("tenantry-admin-owned");
    }
    // As team B: A's age Secret and A's decrypted Secret are not B's to read.
    const bClient = client(loadAccess(teamKubeconfig[B]));
    for (const name of [`${A}-sops-age`, "db"]) {
      const e: unknown = await bClient.readObject({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: A } }).catch((x: unknown) => x);
      expect(apiRefusal(e)?.code).toBe(403);
    }
  });
});

describe("a Secret in plain text in a team repo", () => {
  it("is refused before any apply (PlainSecretRefused, naming it), and applied once the GitSync allows plain Secrets", async () => {
    writeFileSync(join(work[B], "kustomization.yaml"), "resources:\n- plain.yaml\n");
    writeFileSync(join(work[B], "plain.yaml"), secretYaml("plain"));
    const sha = commitAndPush(work[B], remotes[B], "a plain Secret");
    const sync = () => runCli(["sync", "--namespace", B, "--name", B, "--kubeconfig", inject("kubeconfig")]);
    const r = await sync();
    expect(r.code).toBe(1);
    const cond = ready(await gitSync(B));
    expect(cond?.reason).toBe("PlainSecretRefused");
    expect(cond?.message).toBe("Secret plain stringData.password: in plain text in Git; a team's Secrets go into Git SOPS-encrypted (tenantry secrets encrypt), unless tenantry.yaml sets spec.allowPlainSecrets");
    expect((await gitSync(B)).status?.lastAttemptedRevision).toBe(`main@sha1:${sha}`);
    expect(await readOrNull(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "plain", namespace: B } })).toBeNull();
    const header = { apiVersion: "tenantry.dev/v1alpha1", kind: "GitSync", metadata: { name: B, namespace: B } };
    await client(admin).mergePatch(header, { spec: { allowPlainSecrets: true } });
    try {
      expect((await sync()).code).toBe(0);
      expect(await readOrNull(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "plain", namespace: B } })).not.toBeNull();
    } finally {
      await client(admin).mergePatch(header, { spec: { allowPlainSecrets: null } });
    }
  });
});

describe("rotating a team's age key", () => {
  it("rotate adds an identity beside the old; every revision decrypts throughout; reencrypt moves the repo to the new recipient", async () => {
    const old = recipientOf(A);
    writeFileSync(join(work[A], "kustomization.yaml"), "resources:\n- rot.yaml\n");
    writeFileSync(join(work[A], "rot.yaml"), secretYaml("rot"));
    writeFileSync(join(work[A], "rot.yaml"), sops(["encrypt", "rot.yaml"], work[A]));
    commitAndPush(work[A], remotes[A], "a Secret for the old key");
    const sync = () => runCli(["sync", "--namespace", A, "--name", A, "--kubeconfig", teamKubeconfig[A]]);
    expect((await sync()).code).toBe(0);

    const r = await runCli(["secrets", "rotate", A, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(r.code, r.stderr).toBe(0);
    const fresh = /^New recipient: (age1[0-9a-z]+)$/m.exec(r.stdout)?.[1] ?? "";
    expect(fresh).not.toBe("");
    expect(r.stdout + r.stderr).not.toContain(AGE_KEY_MARKER);
    const secret = (await client(admin).readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: `${A}-sops-age`, namespace: A } })) as unknown as { data: Record<string, string> };
    expect(Object.keys(secret.data).sort()).toEqual(["age-2.agekey", "age.agekey"]);
    expect(readFileSync(join(adminRepo, "cluster", A, "age.pub"), "utf8").split("\n").filter((l) => l.startsWith("age1"))).toEqual([old, fresh]);
    const list = await runCli(["secrets", "list"], { cwd: adminRepo });
    expect(list.stdout).toMatch(new RegExp(`^${A}\\s+${old},${fresh}$`, "m"));
    // The same revision, with the Secret's new key set: built again, and it still decrypts.
    expect((await sync()).code).toBe(0);
    // Retiring now would leave the applied revision undecryptable: refused, nothing changed.
    const early = await runCli(["secrets", "retire", A, "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain("does not build with the newest identity (age-2.agekey) alone");
    expect(early.stderr).toContain("nothing was retired");
    const still = (await client(admin).readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: `${A}-sops-age`, namespace: A } })) as unknown as { data: Record<string, string> };
    expect(Object.keys(still.data).sort()).toEqual(["age-2.agekey", "age.agekey"]);

    const re = await runCli(["secrets", "reencrypt", "--team", A, "--recipient", fresh, "--kubeconfig", teamKubeconfig[A]], { cwd: work[A] });
    expect(re.code, re.stderr).toBe(0);
    expect(re.stdout).toContain("rot.yaml");
    expect(re.stdout + re.stderr).not.toContain(PLAIN);
    const files = await runCli(["secrets", "list", "--team-repo-dir", work[A]], { cwd: adminRepo });
    expect(files.stdout).toMatch(new RegExp(`^rot\\.yaml\\s+${fresh}$`, "m"));
    expect(readFileSync(join(work[A], ".sops.yaml"), "utf8")).toContain(`age: ${fresh}\n`);
    const sha = commitAndPush(work[A], remotes[A], "re-encrypted for the new key");
    expect((await sync()).code).toBe(0);
    expect((await gitSync(A)).status?.lastAppliedRevision).toBe(`main@sha1:${sha}`);
    const rot = (await readOrNull(admin, { apiVersion: "v1", kind: "Secret", metadata: { name: "rot", namespace: A } })) as { data?: Record<string, string> } | null;
    expect(Buffer.from(rot?.data?.password ?? "", "base64").toString()).toBe(PLAIN);

    // Now the applied revision needs the new identity alone: retire removes the old one.
    const retire = await runCli(["secrets", "retire", A, "--commit", "--kubeconfig", inject("kubeconfig")], { cwd: adminRepo });
    expect(retire.code, retire.stderr).toBe(0);
    expect(retire.stdout).toContain(`main@sha1:${sha} builds with age-2.agekey alone: retired age.agekey from Secret ${A}/${A}-sops-age.`);
    const after = (await client(admin).readObject({ apiVersion: "v1", kind: "Secret", metadata: { name: `${A}-sops-age`, namespace: A } })) as unknown as { data: Record<string, string> };
    expect(Object.keys(after.data)).toEqual(["age-2.agekey"]);
    expect(readFileSync(join(adminRepo, "cluster", A, "age.pub"), "utf8").split("\n").filter((l) => l.startsWith("age1"))).toEqual([fresh]);
    expect((await sync()).code).toBe(0);
    expect(ready(await gitSync(A))?.status).toBe("True");

    // The new revision opens with the new identity alone, not with the old one.
    const [first, second] = ["age.agekey", "age-2.agekey"].map((k) => Buffer.from(secret.data[k] ?? "", "base64").toString());
    const { buildObjects } = await import("../../src/build/kustomize.js");
    const objects = await buildObjects({ root: work[A], dir: ".", ageIdentities: second ?? "" });
    expect(objects.map((o) => o.metadata.name)).toEqual(["rot"]);
    const e: unknown = await buildObjects({ root: work[A], dir: ".", ageIdentities: first ?? "" }).catch((x: unknown) => x);
    expect(String(e)).toContain(`rot.yaml is SOPS-encrypted for ${fresh}, which this team's age identity does not open`);
  });
});
