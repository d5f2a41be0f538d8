// A SOPS-encrypted file in a build without age identities (tools/build sopsfiles.go,
// nosops.go): refused with DecryptionFailed, naming the file and its format, where kustomize
// would have built the ciphertext as if it were the object (a Secret with ENC[...] values and a
// `sops` field). Decryption with identities: sops-decrypt.test.ts. The fixtures were encrypted with
// the sops CLI v3.13.3 for an age recipient (test/fixtures/sops: ciphertext only, no key).
// A file that merely quotes SOPS' markers builds as before.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildObjects } from "../../src/build/kustomize.js";
import { BuildError } from "../../src/build/service.js";
import { findBinary } from "../../src/toolchain.js";
import { repoRoot, tempDir } from "../helpers/cli.js";

const FIXTURES = join(repoRoot, "test", "fixtures", "sops");

function repo(files: Record<string, string>, copies: Record<string, string> = {}): string {
  const root = tempDir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  for (const [path, fixture] of Object.entries(copies)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    copyFileSync(join(FIXTURES, fixture), join(root, path));
  }
  return root;
}

async function refusal(root: string, dir: string): Promise<BuildError> {
  const e: unknown = await buildObjects({ root, dir }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(BuildError);
  return e as BuildError;
}

describe("a SOPS-encrypted file in a build", () => {
  it("an encrypted manifest is refused: DecryptionFailed, the file and its format named, no ciphertext applied", async () => {
    const root = repo({ "app/kustomization.yaml": "resources:\n- secret.yaml\n" }, { "app/secret.yaml": "secret.enc.yaml" });
    const e = await refusal(root, "app");
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toBe("app/secret.yaml is a SOPS-encrypted yaml file, and this build has no age identity to decrypt it: a team's GitSync decrypts with spec.decryption (`tenantry secrets init <team>`); anywhere else keep it out of the kustomization");
  });

  it("an encrypted secretGenerator input (dotenv) is refused the same way", async () => {
    const root = repo({ "app/kustomization.yaml": "secretGenerator:\n- name: creds\n  envs:\n  - creds.env\n" }, { "app/creds.env": "creds.enc.env" });
    const e = await refusal(root, "app");
    expect(e.reason).toBe("DecryptionFailed");
    expect(e.message).toMatch(/^app\/creds\.env is a SOPS-encrypted dotenv file, /);
  });

  it("a file that only quotes the markers builds as before", async () => {
    const root = repo({
      "app/kustomization.yaml": "resources:\n- cm.yaml\nconfigMapGenerator:\n- name: notes\n  envs:\n  - notes.env\n",
      "app/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: quotes\ndata:\n  how: "sops writes mac: ENC[...] under sops:"\n  sops: "a key named sops"\n',
      "app/notes.env": "note=sops_mac=ENC[ is how a dotenv file ends\n",
    });
    const objects = await buildObjects({ root, dir: "app" });
    const byName = new Map(objects.map((o) => [o.metadata.name.replace(/-[a-z0-9]{10}$/, ""), o as { data?: Record<string, string> }]));
    expect([...byName.keys()].sort()).toEqual(["notes", "quotes"]);
    expect(byName.get("notes")?.data).toEqual({ note: "sops_mac=ENC[ is how a dotenv file ends" });
    expect(byName.get("quotes")?.data?.sops).toBe("a key named sops");
  });

  it("a request with age identities is refused: this build service decrypts nothing", () => {
    const root = repo({ "app/kustomization.yaml": "resources: []\n" });
    const answer = execFileSync(findBinary("build").file, [], { input: `${JSON.stringify({ id: 1, root, dir: "app", ageIdentities: "AGE-SECRET-KEY-1QQQQ" })}\n`, encoding: "utf8" });
    expect(JSON.parse(answer)).toEqual({ id: 1, reason: "BadRequest", error: "this build service does not decrypt: ageIdentities refused" });
  });
});
