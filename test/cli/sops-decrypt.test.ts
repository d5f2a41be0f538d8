// Decryption in the build service (tools/build sops.go, tenantry-build-sops): a build that
// carries a team's age identities reads SOPS files as their plaintext, in memory. Played with
// the real helper, real age keys (made by the helper, filippo.io/age) and the real sops CLI at
// the same release (tools/tools.txt row sops), both ways: what the CLI encrypts tenantry
// decrypts, what tenantry encrypts the CLI decrypts. A file encrypted for another team's
// recipient, an encrypted kustomization and a failing build say what is wrong without a value.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildObjects } from "../../src/build/kustomize.js";
import { ageKeygen, BuildError, sopsEncrypt, sopsReencrypt } from "../../src/build/service.js";
import { findBinary } from "../../src/toolchain.js";
import { tempDir } from "../helpers/cli.js";

const SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: correct-horse-battery-staple\n";
const PLAIN = "correct-horse-battery-staple";

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** A `.sops.yaml` as `tenantry secrets init` writes it: Secrets' data and stringData, for `recipient`. */
function sopsYaml(recipient: string): string {
  return `creation_rules:\n  - path_regex: \\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${recipient}\n  - path_regex: \\.env$\n    age: ${recipient}\n`;
}

/** The sops CLI, with nothing of this machine's (no ~/.config, no key in the environment) unless given. */
function sops(args: string[], opts: { cwd: string; env?: Record<string, string> }): string {
  return execFileSync(findBinary("sops").file, args, { cwd: opts.cwd, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: tempDir(), ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
}

async function refusal(p: Promise<unknown>): Promise<BuildError> {
  const e: unknown = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(BuildError);
  return e as BuildError;
}

describe("SOPS decryption in the build service", () => {
  it("a Secret the sops CLI encrypted builds to its plaintext with the team's identity, a dotenv secretGenerator input too", async () => {
    const key = await ageKeygen();
    expect(key.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    expect(key.recipient).toMatch(/^age1[0-9a-z]+$/);
    const root = tempDir();
    write(root, {
      ".sops.yaml": sopsYaml(key.recipient),
      "app/kustomization.yaml": "resources:\n- secret.yaml\nsecretGenerator:\n- name: creds\n  envs:\n  - creds.env\n",
      "app/secret.yaml": SECRET,
      "app/creds.env": "token=s3cr3t-token-value\n",
    });
    for (const f of ["app/secret.yaml", "app/creds.env"]) writeFileSync(join(root, f), sops(["encrypt", f], { cwd: root }));
    expect(readFileSync(join(root, "app/secret.yaml"), "utf8")).not.toContain(PLAIN);
    expect(readFileSync(join(root, "app/creds.env"), "utf8")).not.toContain("s3cr3t");

    const objects = await buildObjects({ root, dir: "app", ageIdentities: `${key.identity}\n` });
    const db = objects.find((o) => o.metadata.name === "db") as { stringData?: Record<string, string>; sops?: unknown } | undefined;
    expect(db?.stringData).toEqual({ password: PLAIN });
    expect(db?.sops).toBeUndefined();
    const creds = objects.find((o) => o.metadata.name.startsWith("creds-")) as { data?: Record<string, string> } | undefined;
    expect(Buffer.from(creds?.data?.token ?? "", "base64").toString()).toBe("s3cr3t-token-value");
  });

  it("what tenantry encrypts (sops' own code in the helper, the creation rule of .sops.yaml) the sops CLI decrypts, and tenantry builds", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, { ".sops.yaml": sopsYaml(key.recipient), "app/kustomization.yaml": "resources:\n- secret.yaml\n" });
    const encrypted = await sopsEncrypt(join(root, "app/secret.yaml"), SECRET, join(root, ".sops.yaml"));
    expect(encrypted).not.toContain(PLAIN);
    expect(encrypted).toMatch(/^ {4}name: db$/m); // only data and stringData are encrypted
    expect(encrypted).toContain(`recipient: ${key.recipient}`);
    writeFileSync(join(root, "app/secret.yaml"), encrypted);
    const plain = sops(["decrypt", "app/secret.yaml"], { cwd: root, env: { SOPS_AGE_KEY: key.identity } });
    expect(plain).toContain(`password: ${PLAIN}`);
    const objects = await buildObjects({ root, dir: "app", ageIdentities: key.identity });
    expect((objects[0] as { stringData?: unknown }).stringData).toEqual({ password: PLAIN });
  });

  it("a file encrypted for another team's recipient fails naming the file and that recipient, never the value", async () => {
    const a = await ageKeygen();
    const b = await ageKeygen();
    const root = tempDir();
    write(root, { ".sops.yaml": sopsYaml(a.recipient), "app/kustomization.yaml": "resources:\n- secret.yaml\n" });
    writeFileSync(join(root, "app/secret.yaml"), await sopsEncrypt(join(root, "app/secret.yaml"), SECRET, join(root, ".sops.yaml")));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: b.identity }));
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe(`app/secret.yaml is SOPS-encrypted for ${a.recipient}, which this team's age identity does not open (encrypt it with the recipient in .sops.yaml)`);
    // Two identities (a rotation): either opens it.
    const both = await buildObjects({ root, dir: "app", ageIdentities: `${b.identity}\n${a.identity}\n` });
    expect((both[0] as { stringData?: unknown }).stringData).toEqual({ password: PLAIN });
  });

  it("a SOPS-encrypted kustomization is never decrypted: the walk judged its ciphertext", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    // Encrypted, its resources would hide a remote base from the walk until the build decrypted it.
    write(root, {
      ".sops.yaml": `creation_rules:\n  - path_regex: kustomization\\.yaml$\n    encrypted_regex: ^resources$\n    age: ${key.recipient}\n`,
      "app/kustomization.yaml": "resources:\n- https://github.com/evil/base//x?ref=main\n",
    });
    writeFileSync(join(root, "app/kustomization.yaml"), sops(["encrypt", "app/kustomization.yaml"], { cwd: root }));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe("app/kustomization.yaml is a SOPS-encrypted kustomization: tenantry decrypts resources and secretGenerator inputs only, never a kustomization (keep it in plain text)");
  });

  it("a build that fails after decrypting withholds kustomize's message and names the decrypted files", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    // The decrypted value is a patch target kustomize quotes when it cannot apply it.
    write(root, {
      ".sops.yaml": sopsYaml(key.recipient),
      "app/kustomization.yaml": "resources:\n- secret.yaml\npatches:\n- path: patch.yaml\n",
      "app/patch.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${PLAIN}\nstringData:\n  x: y\n`,
    });
    writeFileSync(join(root, "app/secret.yaml"), await sopsEncrypt(join(root, "app/secret.yaml"), SECRET, join(root, ".sops.yaml")));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(e.reason).toBe("BuildFailed");
    expect(e.message).toBe("kustomize build app failed after decrypting app/secret.yaml; its message is withheld, as it may quote a decrypted value (build a decrypted copy locally to see it)");
  });

  it("a fake encrypted kustomization beside a second kustomization file is refused by the walk, with identities or without: kustomize would have built the other one unwalked", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, {
      "app/kustomization.yaml": "sops:\n    mac: ENC[x]\n",
      "app/Kustomization": "resources:\n- http://127.0.0.1:9/cm.yaml\n",
    });
    for (const ageIdentities of [undefined, key.identity]) {
      const e = await refusal(buildObjects({ root, dir: "app", ...(ageIdentities === undefined ? {} : { ageIdentities }) }));
      expect(e.reason).toBe("BuildFailed");
      expect(e.message).toBe("app/kustomization.yaml: its directory holds more than one kustomization file (kustomization.yaml, Kustomization): keep one");
    }
  });

  it("only resources and secretGenerator inputs are decrypted (as Flux does): an encrypted configMapGenerator input is refused", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, { ".sops.yaml": sopsYaml(key.recipient), "app/kustomization.yaml": "configMapGenerator:\n- name: cfg\n  envs:\n  - cfg.env\n", "app/cfg.env": "TOKEN=s3cr3t-token-value\n" });
    writeFileSync(join(root, "app/cfg.env"), sops(["encrypt", "app/cfg.env"], { cwd: root }));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe("app/cfg.env is SOPS-encrypted, but it is not a resource or a secretGenerator input, the only files tenantry decrypts (as Flux does): keep it in plain text, or move its secret values into a Secret");
  });

  it("a file whose creation rule encrypts none of its values is refused both ways: tenantry does not write it, the build does not take it", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    const config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\nstringly:\n  password: in-plain-text\n";
    write(root, { ".sops.yaml": sopsYaml(key.recipient), "app/kustomization.yaml": "resources:\n- config.yaml\n", "app/config.yaml": config });
    const e = await refusal(sopsEncrypt(join(root, "app/config.yaml"), config, join(root, ".sops.yaml")));
    expect(e.reason).toBe("EncryptFailed");
    expect(e.message).toContain("encrypts none of its values (its encrypted_regex or suffix matches no key): it would go into Git in plain text");
    writeFileSync(join(root, "app/config.yaml"), sops(["encrypt", "app/config.yaml"], { cwd: root }));
    const b = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(b.message).toBe("app/config.yaml carries SOPS metadata but none of its values is encrypted (its encrypted_regex or suffix matches nothing): what it holds is in plain text in Git");
  });

  it("a decrypted value copied out of the Secret (a replacement into a label) refuses the build, naming the file, not the value", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, {
      ".sops.yaml": sopsYaml(key.recipient),
      "app/kustomization.yaml": "resources:\n- secret.yaml\n- cm.yaml\nreplacements:\n- source: {kind: Secret, name: db, fieldPath: stringData.password}\n  targets:\n  - select: {kind: ConfigMap, name: leak}\n    fieldPaths: [metadata.labels.copy]\n    options: {create: true}\n",
      "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\n",
    });
    writeFileSync(join(root, "app/secret.yaml"), await sopsEncrypt(join(root, "app/secret.yaml"), SECRET, join(root, ".sops.yaml")));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe("a value app/secret.yaml keeps encrypted appears in a ConfigMap of the render (object 2) outside a Secret's data: tenantry applies decrypted values only as a Secret's data or stringData (a replacement or a patch copies it out)");
  });

  it("a value changed after encryption is told apart from a key that does not open the file", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, { ".sops.yaml": sopsYaml(key.recipient), "app/kustomization.yaml": "resources:\n- secret.yaml\n" });
    const encrypted = await sopsEncrypt(join(root, "app/secret.yaml"), SECRET, join(root, ".sops.yaml"));
    // Another value encrypted with the same data key would verify; a ciphertext from another file does not.
    const other = await sopsEncrypt(join(root, "app/secret.yaml"), SECRET.replace(PLAIN, "another-value"), join(root, ".sops.yaml"));
    const foreign = /password: (ENC\[[^\]]+\])/.exec(other)?.[1] ?? "";
    writeFileSync(join(root, "app/secret.yaml"), encrypted.replace(/password: ENC\[[^\]]+\]/, `password: ${foreign}`));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe("app/secret.yaml was changed after it was encrypted (a value or its MAC does not verify): encrypt it again");
  });

  it("a generator input only partly encrypted does not pass its plain values off as kept encrypted; nor does a comment quoting ENC[", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, {
      ".sops.yaml": `creation_rules:\n  - path_regex: cfg\\.yaml$\n    encrypted_regex: ^dummy$\n    age: ${key.recipient}\n`,
      "app/kustomization.yaml": "secretGenerator:\n- name: gen\n  files:\n  - cfg.yaml\n",
      "app/cfg.yaml": "dummy: x\npassword: hunter2plain\n",
    });
    writeFileSync(join(root, "app/cfg.yaml"), sops(["encrypt", "app/cfg.yaml"], { cwd: root }));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity, refusePlainSecrets: true }));
    expect(e.reason).toBe("PlainSecretRefused");
    expect(e.message).toMatch(/^Secret gen-[a-z0-9]+ data\.cfg\.yaml: in plain text in Git/);
    // A file whose only "encrypted" text is a comment has no encrypted value.
    const sealed = readFileSync(join(root, "app/cfg.yaml"), "utf8").replace(/^dummy: ENC\[[^\]]+\]$/m, "dummy: x\n# ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]");
    write(root, { "app/cfg.yaml": sealed });
    const c = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(c.message).toBe("app/cfg.yaml carries SOPS metadata but none of its values is encrypted (its encrypted_regex or suffix matches nothing): what it holds is in plain text in Git");
  });

  it("an encrypted resource that is not YAML or JSON is refused (a binary file decrypted whole could be anything)", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    write(root, { ".sops.yaml": `creation_rules:\n  - age: ${key.recipient}\n`, "app/kustomization.yaml": "resources:\n- s.txt\n", "app/s.txt": SECRET });
    writeFileSync(join(root, "app/s.txt"), sops(["encrypt", "app/s.txt"], { cwd: root }));
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: key.identity }));
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe("app/s.txt is a SOPS-encrypted binary file listed as a resource: tenantry decrypts manifests as YAML or JSON only (as Flux does)");
  });

  it("re-encrypting keeps the file's own choice of what is encrypted: a file encrypted whole stays encrypted whole", async () => {
    const key = await ageKeygen();
    const root = tempDir();
    const whole = "data:\n  a: x\ntoken: s3cr3t-token\n";
    write(root, { ".sops.yaml": `creation_rules:\n  - age: ${key.recipient}\n`, "f.yaml": whole });
    const encrypted = sops(["encrypt", "f.yaml"], { cwd: root });
    expect(encrypted).not.toContain("s3cr3t-token");
    // The team's .sops.yaml encrypts only data/stringData of manifests: the file keeps its own rule.
    write(root, { ".sops.yaml": sopsYaml(key.recipient) });
    const again = await sopsReencrypt(join(root, "f.yaml"), encrypted, join(root, ".sops.yaml"), key.identity);
    expect(again).not.toBeNull();
    expect(again).not.toContain("s3cr3t-token");
    expect(again).not.toContain(": x\n");
  });

  it("identities are parsed by age's X25519 and post-quantum parser only: a plugin identity (which would run a program) is refused without quoting it", async () => {
    const root = tempDir();
    write(root, { "app/kustomization.yaml": "resources: []\n" });
    const e = await refusal(buildObjects({ root, dir: "app", ageIdentities: "AGE-PLUGIN-EVIL-1QQQQQQQQQQQQQQQQ\n" }));
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("ageIdentities is not a list of age identities (the lines age-keygen writes)");
  });

  it("encrypting refuses a creation rule with a key other than age, naming the file and the kind of key", async () => {
    const root = tempDir();
    write(root, { ".sops.yaml": "creation_rules:\n  - pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n" });
    const e = await refusal(sopsEncrypt(join(root, "secret.yaml"), SECRET, join(root, ".sops.yaml")));
    expect(e.reason).toBe("EncryptFailed");
    expect(e.message).toBe(`${join(root, "secret.yaml")}: the creation rule for it in ${join(root, ".sops.yaml")} names a pgp key: tenantry encrypts for age recipients only`);
  });
});
