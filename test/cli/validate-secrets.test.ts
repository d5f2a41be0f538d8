// `tenantry validate --team` on a team repo with SOPS files, as a process: encrypted files are
// read with placeholders by tenantry-build-sops and never decrypted (no identity anywhere), a
// Secret in plain text is refused as the team's GitSync refuses it (unless
// --allow-plain-secrets), and --base names each secret value a change touched ("encrypted value
// changed") without decrypting.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ageKeygen, sopsEncrypt } from "../../src/build/service.js";
import { sopsConfigText } from "../../src/secrets/sops-config.js";
import { runCli, tempDir } from "../helpers/cli.js";

const secret = (name: string, password: string): string => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\nstringData:\n  password: ${password}\n  user: app\n`;

const git = (dir: string, ...args: string[]): string => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-C", dir, ...args], { encoding: "utf8" });

async function teamRepo(files: Record<string, string>, encrypt: readonly string[]): Promise<string> {
  const key = await ageKeygen();
  const dir = tempDir();
  git(dir, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(dir, ".sops.yaml"), sopsConfigText("web", [key.recipient]));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), encrypt.includes(name) ? await sopsEncrypt(join(dir, name), text, join(dir, ".sops.yaml")) : text);
  git(dir, "add", "--all");
  git(dir, "commit", "--quiet", "-m", "first");
  return dir;
}

describe("validate --team and SOPS files", () => {
  it("an encrypted Secret validates without any identity; its plaintext is nowhere in the output", async () => {
    const dir = await teamRepo({ "kustomization.yaml": "resources:\n- db.yaml\n", "db.yaml": secret("db", "hunter2-secret") }, ["db.yaml"]);
    const r = await runCli(["validate", dir, "--team", "web"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Valid team repo of web: 1 objects");
    expect(r.stdout + r.stderr).not.toContain("hunter2");
  });

  it("a Secret in plain text is refused, naming it and the fix; --allow-plain-secrets accepts it", async () => {
    const dir = await teamRepo({ "kustomization.yaml": "resources:\n- db.yaml\nsecretGenerator:\n- name: gen\n  literals:\n  - token=abc\n", "db.yaml": secret("db", "hunter2-secret") }, []);
    const r = await runCli(["validate", dir, "--team", "web"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Secret db stringData.password, Secret db stringData.user, Secret gen-");
    expect(r.stderr).toContain("in plain text in Git; a team's Secrets go into Git SOPS-encrypted (tenantry secrets encrypt), unless tenantry.yaml sets spec.allowPlainSecrets");
    const allowed = await runCli(["validate", dir, "--team", "web", "--allow-plain-secrets"]);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it("a plain value that looks like validate's placeholder is still plain: the placeholder is random per build", async () => {
    const dir = await teamRepo({ "kustomization.yaml": "resources:\n- db.yaml\n- fake.yaml\n", "db.yaml": secret("db", "hunter2-secret"), "fake.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: fake\ndata:\n  password: ZW5jcnlwdGVk\n" }, ["db.yaml"]);
    const r = await runCli(["validate", dir, "--team", "web"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Secret fake data.password: in plain text in Git");
  });

  it("--base says when a SOPS file is removed or no longer encrypted", async () => {
    const dir = await teamRepo({ "kustomization.yaml": "resources:\n- db.yaml\n", "db.yaml": secret("db", "first-password"), "old.yaml": secret("old", "old-password") }, ["db.yaml", "old.yaml"]);
    git(dir, "rm", "--quiet", "old.yaml");
    writeFileSync(join(dir, "db.yaml"), secret("db", "now-in-plain-text"));
    const r = await runCli(["validate", dir, "--team", "web", "--base", "HEAD", "--allow-plain-secrets"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("note: old.yaml: SOPS file removed");
    expect(r.stderr).toContain("note: db.yaml: no longer SOPS-encrypted: what it holds would go into Git in plain text");
  });

  it("--base names each secret value a change touched, never a value", async () => {
    const dir = await teamRepo({ "kustomization.yaml": "resources:\n- db.yaml\n- api.yaml\n", "db.yaml": secret("db", "first-password"), "api.yaml": secret("api", "api-password") }, ["db.yaml", "api.yaml"]);
    const sopsConfig = join(dir, ".sops.yaml");
    writeFileSync(join(dir, "db.yaml"), await sopsEncrypt(join(dir, "db.yaml"), secret("db", "second-password").replace("  user: app\n", "  host: db.internal\n"), sopsConfig));
    const r = await runCli(["validate", dir, "--team", "web", "--base", "HEAD"]);
    expect(r.code, r.stderr).toBe(0);
    // sops encrypts every value afresh: the user's ciphertext changed too, though its value did not.
    expect(r.stderr).toContain("note: db.yaml: stringData.password: encrypted value changed");
    expect(r.stderr).toContain("note: db.yaml: stringData.host: encrypted value added");
    expect(r.stderr).toContain("note: db.yaml: stringData.user: encrypted value removed");
    expect(r.stderr).not.toContain("api.yaml");
    expect(r.stdout + r.stderr).not.toMatch(/second-password|first-password/);
  });
});
