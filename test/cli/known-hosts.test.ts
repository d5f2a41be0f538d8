// known_hosts handling: the pattern ssh looks up, hashed entries, merging a host's new pins
// without touching other hosts, and telling a changed host key from an added one.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { entriesFor, hostFieldMatches, hostKeysFromText, hostPattern, hostProblems, isChange, mergeKnownHosts, parseKnownHosts } from "../../src/keys/known-hosts.js";
import { generateKeyPair, parsePublicKey } from "../../src/model/ssh-key.js";

const dir = mkdtempSync(join(tmpdir(), "tenantry-knownhosts-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const k = (): string => parsePublicKey(generateKeyPair("h").publicKey)?.key ?? "";
const A = k();
const B = k();
const C = k();

describe("known_hosts", () => {
  it("names a host as ssh looks it up", () => {
    expect(hostPattern("GitHub.com", 22)).toBe("github.com");
    expect(hostPattern("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  it("refuses hosts that are not names or addresses (ssh-keyscan gets no options)", () => {
    expect(hostProblems("github.com", 22)).toEqual([]);
    expect(hostProblems("::1", 22)).toEqual([]);
    expect(hostProblems("-oProxyCommand=touch", 22)).toHaveLength(1);
    expect(hostProblems("a b", 22)).toHaveLength(1);
    expect(hostProblems("h", 70000)).toHaveLength(1);
  });

  it("matches hashed entries as ssh-keygen -H writes them", () => {
    const file = join(dir, "kh");
    writeFileSync(file, `[127.0.0.1]:2222 ${A}\ngithub.com ${B}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    const { entries, problems } = parseKnownHosts(readFileSync(file, "utf8"), file);
    expect(problems).toEqual([]);
    expect(entries.every((e) => e.hosts[0]?.startsWith("|1|"))).toBe(true);
    expect(entriesFor(entries, "[127.0.0.1]:2222").map((e) => e.key)).toEqual([A]);
    expect(entriesFor(entries, "github.com").map((e) => e.key)).toEqual([B]);
    expect(entriesFor(entries, "gitlab.com")).toEqual([]);
    expect(hostFieldMatches("|1|bad", "x")).toBe(false);
  });

  it("merging replaces the host's pins, keeps other hosts, splits shared lines", () => {
    const existing = `github.com ${A}\n[127.0.0.1]:2222,10.0.0.1 ${B}\n@cert-authority *.example.com ${C}\n`;
    const { entries } = parseKnownHosts(`[127.0.0.1]:2222 ${C}\n[127.0.0.1]:2222 ${C}\n`, "new");
    const merged = mergeKnownHosts(existing, "[127.0.0.1]:2222", entries);
    expect(merged).toBe(`github.com ${A}\n10.0.0.1 ${B}\n@cert-authority *.example.com ${C}\n[127.0.0.1]:2222 ${C}\n`);
  });

  it("a changed key is a change; an added key type is not", () => {
    const pinned = parseKnownHosts(`h ${A}`, "x").entries;
    expect(isChange([], pinned)).toBe(false);
    expect(isChange(pinned, parseKnownHosts(`h ${A}`, "x").entries)).toBe(false);
    expect(isChange(pinned, parseKnownHosts(`h ${B}`, "x").entries)).toBe(true);
    const rsa = join(dir, "rsa");
    execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa]);
    const rsaKey = readFileSync(`${rsa}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    expect(isChange(pinned, parseKnownHosts(`h ${A}\nh ${rsaKey}`, "x").entries)).toBe(false);
  });

  it("a file without the host, or with garbage, is an input error", () => {
    expect(() => hostKeysFromText(`other ${A}\n`, "kh", "github.com", 22)).toThrow(/has no key for github.com/);
    expect(() => hostKeysFromText("github.com ssh-ed25519 AAAA\n", "kh", "github.com", 22)).toThrow(/line 1 is not a known_hosts entry/);
  });
});
