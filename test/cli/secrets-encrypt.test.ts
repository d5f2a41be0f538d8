// `tenantry secrets encrypt` (team side) as a process, in a checkout of a team repo: files are
// encrypted in place by the .sops.yaml's creation rules through tenantry-build-sops, the real
// sops CLI decrypts them with the team's identity, nothing of the plaintext is printed, and a
// file that cannot be encrypted stops the run before any file is replaced.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ageKeygen } from "../../src/build/service.js";
import { sopsConfigText } from "../../src/secrets/sops-config.js";
import { findBinary } from "../../src/toolchain.js";
import { runCli, tempDir } from "../helpers/cli.js";

const PLAIN = "correct-horse-battery-staple";
const SECRET = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${PLAIN}\n`;

async function teamRepo(): Promise<{ dir: string; identity: string }> {
  const key = await ageKeygen();
  const dir = tempDir();
  execFileSync("git", ["init", "--quiet", dir]);
  writeFileSync(join(dir, ".sops.yaml"), sopsConfigText("web", [key.recipient]));
  mkdirSync(join(dir, "app"));
  return { dir, identity: key.identity };
}

const sopsDecrypt = (dir: string, file: string, identity: string): string =>
  execFileSync(findBinary("sops").file, ["decrypt", file], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: tempDir(), SOPS_AGE_KEY: identity } });

describe("tenantry secrets encrypt", () => {
  it("encrypts a manifest and a dotenv file in place, by the nearest .sops.yaml; the sops CLI decrypts both", async () => {
    const { dir, identity } = await teamRepo();
    writeFileSync(join(dir, "app", "db.yaml"), SECRET);
    writeFileSync(join(dir, "app", "creds.env"), "token=s3cr3t-token\n");
    const r = await runCli(["secrets", "encrypt", "app/db.yaml", "app/creds.env"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Encrypted app/db.yaml (rules of .sops.yaml).\nEncrypted app/creds.env (rules of .sops.yaml).\n");
    const db = readFileSync(join(dir, "app", "db.yaml"), "utf8");
    expect(db).not.toContain(PLAIN);
    expect(db).toMatch(/^ {4}name: db$/m);
    expect(readFileSync(join(dir, "app", "creds.env"), "utf8")).not.toContain("s3cr3t");
    expect(sopsDecrypt(dir, "app/db.yaml", identity)).toContain(`password: ${PLAIN}`);
    expect(sopsDecrypt(dir, "app/creds.env", identity)).toBe("token=s3cr3t-token\n");
  });

  it("a file already encrypted stops the run before any file is replaced, naming it", async () => {
    const { dir } = await teamRepo();
    writeFileSync(join(dir, "app", "a.yaml"), SECRET);
    writeFileSync(join(dir, "app", "b.yaml"), SECRET);
    expect((await runCli(["secrets", "encrypt", "app/b.yaml"], { cwd: dir })).code).toBe(0);
    const b = readFileSync(join(dir, "app", "b.yaml"), "utf8");
    const r = await runCli(["secrets", "encrypt", "app/a.yaml", "app/b.yaml"], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("b.yaml is already SOPS-encrypted (it has a top-level sops entry)");
    expect(r.stdout + r.stderr).not.toContain(PLAIN);
    expect(readFileSync(join(dir, "app", "a.yaml"), "utf8")).toBe(SECRET);
    expect(readFileSync(join(dir, "app", "b.yaml"), "utf8")).toBe(b);
  });

  it("outside a repo with a .sops.yaml, says where the rules come from", async () => {
    const dir = tempDir();
    execFileSync("git", ["init", "--quiet", dir]);
    writeFileSync(join(dir, "db.yaml"), SECRET);
    const r = await runCli(["secrets", "encrypt", "db.yaml"], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe("tenantry: error: no .sops.yaml governs db.yaml: run it inside the team's repo, whose .sops.yaml `tenantry secrets init <team> --team-repo-dir` writes\n");
    expect(readFileSync(join(dir, "db.yaml"), "utf8")).toBe(SECRET);
  });
});
