// Deploy key pairs: ed25519, generated in-process with sshpk. The private half is an
// OpenSSH private key (what `ssh -i` reads); the public half one `type base64 comment` line;
// fingerprints are SHA256 as `ssh-keygen -l` prints them. Keys are compared by fingerprint,
// never by text: hosts drop or rewrite comments.

import sshpk from "sshpk";
import { ValidationError } from "../errors.js";

export interface KeyPair {
  /** OpenSSH private key (the openssh-key-v1 PEM format ssh-keygen writes). */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicKey: string;
  /** `SHA256:…` */
  readonly fingerprint: string;
}

export function generateKeyPair(comment: string): KeyPair {
  const key = sshpk.generatePrivateKey("ed25519");
  key.comment = comment;
  const pub = key.toPublic();
  return { privateKey: key.toString("openssh"), publicKey: pub.toString("ssh").trim(), fingerprint: pub.fingerprint("sha256").toString() };
}

export interface PublicKey {
  /** `type base64` without a comment: what goes onto a host. */
  readonly key: string;
  readonly comment: string;
  readonly fingerprint: string;
}

/** Parses one public key line; null when it is not one. */
export function parsePublicKey(line: string): PublicKey | null {
  const fields = line.trim().split(/\s+/);
  if (fields.length < 2 || fields[0] === undefined || fields[1] === undefined) return null;
  try {
    const k = sshpk.parseKey(`${fields[0]} ${fields[1]}`, "ssh");
    return { key: `${fields[0]} ${fields[1]}`, comment: fields.slice(2).join(" "), fingerprint: k.fingerprint("sha256").toString() };
  } catch {
    return null;
  }
}

/** The public key in `text` (a .pub file); a ValidationError naming `what` otherwise. */
export function requirePublicKey(text: string, what: string): PublicKey {
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const parsed = lines.length === 1 && lines[0] !== undefined ? parsePublicKey(lines[0]) : null;
  if (parsed === null) throw new ValidationError([`${what} is not one SSH public key line: create it again with tenantry keys create`]);
  return parsed;
}

/** The SHA256 fingerprint of a private key's public half; undefined when it cannot be parsed. */
export function privateKeyFingerprint(privateKey: string): string | undefined {
  try {
    return sshpk.parsePrivateKey(privateKey, "auto").fingerprint("sha256").toString();
  } catch {
    return undefined;
  }
}

/** The public half of a private key as a `type base64 comment` line. */
export function publicKeyOf(privateKey: string): string {
  return sshpk.parsePrivateKey(privateKey, "auto").toPublic().toString("ssh").trim();
}
