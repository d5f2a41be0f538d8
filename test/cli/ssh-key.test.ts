// Deploy key pairs: the formats ssh reads, and fingerprints exactly as ssh-keygen -l prints them.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair, parsePublicKey, privateKeyFingerprint, publicKeyOf, requirePublicKey } from "../../src/model/ssh-key.js";
import { PRIVATE_KEY_MARKER } from "../helpers/sshd.js";

const dir = mkdtempSync(join(tmpdir(), "tenantry-keypair-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function sshKeygen(...args: string[]): string {
  return execFileSync("ssh-keygen", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

describe("generateKeyPair", () => {
  const pair = generateKeyPair("tenantry:prod:team1");

  it("is an ed25519 OpenSSH private key and a one-line public key with our comment", () => {
    const end = PRIVATE_KEY_MARKER.replace("BEGIN", "END");
    expect(pair.privateKey.startsWith(`-----${PRIVATE_KEY_MARKER}-----\n`)).toBe(true);
    expect(pair.privateKey.endsWith(`-----${end}-----\n`)).toBe(true);
    expect(pair.privateKey.split("\n").slice(1, -2).every((l) => /^[A-Za-z0-9+/=]{1,70}$/.test(l))).toBe(true);
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} tenantry:prod:team1$/);
    expect(pair.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("has the fingerprint ssh-keygen -l prints, for the public and the private file", () => {
    const pub = join(dir, "key.pub");
    const priv = join(dir, "key");
    writeFileSync(pub, `${pair.publicKey}\n`);
    writeFileSync(priv, pair.privateKey, { mode: 0o600 });
    expect(sshKeygen("-l", "-f", pub)).toBe(`256 ${pair.fingerprint} tenantry:prod:team1 (ED25519)`);
    expect(sshKeygen("-l", "-f", priv).split(" ")[1]).toBe(pair.fingerprint);
    // ssh itself can read the private key: its public half is ours
    expect(sshKeygen("-y", "-f", priv).split(" ").slice(0, 2).join(" ")).toBe(pair.publicKey.split(" ").slice(0, 2).join(" "));
  });

  it("derives fingerprints and the public half from the private key", () => {
    expect(privateKeyFingerprint(pair.privateKey)).toBe(pair.fingerprint);
    expect(publicKeyOf(pair.privateKey).split(" ").slice(0, 2)).toEqual(pair.publicKey.split(" ").slice(0, 2));
    expect(privateKeyFingerprint("not a key")).toBeUndefined();
  });

  it("reads keys ssh-keygen made, and rejects what is not a key", () => {
    const rsa = join(dir, "rsa");
    sshKeygen("-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "x", "-f", rsa);
    const line = execFileSync("cat", [`${rsa}.pub`], { encoding: "utf8" });
    expect(parsePublicKey(line)?.fingerprint).toBe(sshKeygen("-l", "-f", `${rsa}.pub`).split(" ")[1]);
    expect(parsePublicKey("ssh-ed25519 notbase64!")).toBeNull();
    expect(parsePublicKey("")).toBeNull();
    expect(() => requirePublicKey("ssh-ed25519 AAAA\nssh-ed25519 BBBB\n", "cluster/t/deploy-key.pub")).toThrow(/is not one SSH public key line/);
  });

  it("makes a new key every time", () => {
    expect(generateKeyPair("x").fingerprint).not.toBe(generateKeyPair("x").fingerprint);
  });
});
