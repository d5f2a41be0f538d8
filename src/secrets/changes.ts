// What a change to a team repo does to its SOPS files, said without decrypting anything:
// `validate --team --base REF` compares each SOPS file Git tracks with its version at REF, value
// by value, and names the keys whose ciphertext changed ("encrypted value changed"), appeared or
// went. A review sees which secret a pull request touches, never what it holds.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { gitTrackedFiles, isPlainFile } from "./repo-files.js";

const ENC = "ENC[AES256_GCM,";

/** The encrypted values of a SOPS file's text by key path (YAML/JSON: a.b[0].c; dotenv/ini: the key), its metadata left out. */
export function encryptedValues(file: string, text: string): Map<string, string> {
  const out = new Map<string, string>();
  const ext = extname(file).toLowerCase();
  if (ext === ".yaml" || ext === ".yml" || ext === ".json") {
    let docs: unknown[];
    try {
      docs = parseAllDocuments(text).map((d) => d.toJS({ maxAliasCount: 0 }) as unknown);
    } catch {
      return out;
    }
    const walk = (v: unknown, path: string): void => {
      if (typeof v === "string" && v.startsWith(ENC)) out.set(path, v);
      else if (Array.isArray(v)) {
        v.forEach((e, i) => {
          walk(e, `${path}[${String(i)}]`);
        });
      }
      else if (typeof v === "object" && v !== null) for (const [k, e] of Object.entries(v)) if (!((path === "" || /^\[\d+\]$/.test(path)) && k === "sops")) walk(e, path === "" ? k : `${path}.${k}`);
    };
    docs.forEach((doc, i) => {
      walk(doc, docs.length === 1 ? "" : `[${String(i)}]`);
    });
    return out;
  }
  for (const line of text.split("\n")) {
    const m = /^\s*([^=#;\s][^=]*?)\s*=\s*(ENC\[AES256_GCM,.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined && !m[1].startsWith("sops_")) out.set(m[1], m[2]);
  }
  return out;
}

/** One line per changed secret value of the SOPS files changed between `base` and the working tree of `top`. */
export function encryptedChanges(top: string, base: string): string[] {
  const lines: string[] = [];
  for (const rel of gitTrackedFiles(top)) {
    const file = join(top, rel);
    if (!isPlainFile(file)) continue;
    const now = readFileSync(file, "utf8");
    if (!now.includes(ENC)) continue;
    let before = "";
    try {
      before = execFileSync("git", ["-C", top, "show", `${base}:${rel}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });
    } catch {
      lines.push(`${rel}: new SOPS file (${String(encryptedValues(rel, now).size)} encrypted values)`);
      continue;
    }
    if (before === now) continue;
    const a = encryptedValues(rel, before);
    const b = encryptedValues(rel, now);
    const at = lines.length;
    for (const [k, v] of b) {
      if (!a.has(k)) lines.push(`${rel}: ${k}: encrypted value added`);
      else if (a.get(k) !== v) lines.push(`${rel}: ${k}: encrypted value changed`);
    }
    for (const k of a.keys()) if (!b.has(k)) lines.push(`${rel}: ${k}: encrypted value removed`);
    // A binary file, or a change outside the values (metadata, comments): said as a whole.
    if (lines.length === at) lines.push(`${rel}: SOPS file changed (not value by value)`);
  }
  // SOPS files at the base that are gone, or no longer encrypted.
  for (const rel of sopsFilesAt(top, base)) {
    const file = join(top, rel);
    if (!isPlainFile(file)) lines.push(`${rel}: SOPS file removed`);
    else if (!readFileSync(file, "utf8").includes(ENC)) lines.push(`${rel}: no longer SOPS-encrypted: what it holds would go into Git in plain text`);
  }
  return lines;
}

/** The files of `base` that hold an encrypted value (git grep on the commit). */
function sopsFilesAt(top: string, base: string): string[] {
  try {
    const out = execFileSync("git", ["-C", top, "grep", "-l", "-F", "-z", ENC, base, "--"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });
    return out
      .split("\0")
      .filter((l) => l !== "")
      .map((l) => l.slice(base.length + 1));
  } catch {
    return []; // none (git grep exits 1), or an unknown ref (the file-by-file comparison said so)
  }
}
