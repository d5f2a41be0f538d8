// The GitHub, GitLab and Gitea adapters against the contract server (test/helpers/githost.ts):
// paging, read-only keys, idempotent registration, a foreign key with our title, and every
// failure as one line with exit code 4 (2 for a missing token) that never shows the token.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode, TenantryError } from "../../src/errors.js";
import { hostAdapter } from "../../src/keys/hosts/index.js";
import type { HostAdapter } from "../../src/keys/hosts/types.js";
import { generateKeyPair, parsePublicKey, type PublicKey } from "../../src/model/ssh-key.js";
import { ensureRegistered, removeKeys } from "../../src/keys/register.js";
import { type Flavor, type GitHost, startGitHost } from "../helpers/githost.js";

const REPO = "acme/team1";
const TITLE = "tenantry:prod:team1";
const ENV: Record<Flavor, string> = { github: "GITHUB_TOKEN", gitlab: "GITLAB_TOKEN", gitea: "GITEA_TOKEN" };

function newKey(comment = TITLE): PublicKey {
  const pub = parsePublicKey(generateKeyPair(comment).publicKey);
  if (pub === null) throw new Error("unparsable");
  return pub;
}

async function failure(p: Promise<unknown>): Promise<TenantryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TenantryError) return e;
    throw e;
  }
  return expect.fail("expected a TenantryError");
}

describe.each(["github", "gitlab", "gitea"] as const)("the %s adapter", (flavor) => {
  let host: GitHost;
  const adapter = (overrides: { token?: string; repo?: string; apiUrl?: string; timeoutMs?: number } = {}): HostAdapter =>
    hostAdapter({ kind: flavor, repo: overrides.repo ?? REPO, apiUrl: overrides.apiUrl ?? host.url, timeoutMs: overrides.timeoutMs }, null, { [ENV[flavor]]: overrides.token ?? host.token });

  beforeAll(async () => {
    host = await startGitHost(flavor, { pageSize: 2 });
    host.addRepo(REPO);
    host.addRepo("acme/other");
  });
  afterAll(async () => {
    await host.close();
  });

  it("adds a key read-only and lists it back across pages", async () => {
    for (let i = 0; i < 4; i++) host.seed(REPO, `someone-${i}`, newKey().key);
    const pub = newKey();
    const r = await ensureRegistered(adapter(), pub, TITLE, TITLE);
    expect(r.added).toBe(true);
    expect(r.key.readOnly).toBe(true);
    const post = host.requests.findLast((q) => q.method === "POST");
    expect(post?.body).toEqual(flavor === "gitlab" ? { title: TITLE, key: pub.key, can_push: false } : { title: TITLE, key: pub.key, read_only: true });
    // 5 keys on pages of 2: the adapter must follow the host's paging to see them all
    const listed = await adapter().list();
    expect(listed).toHaveLength(5);
    expect(listed.find((k) => k.fingerprint === pub.fingerprint)?.title).toBe(TITLE);
    expect(host.requests.filter((q) => q.method === "GET").length).toBeGreaterThanOrEqual(3);
  });

  it("is idempotent: the same key again is success, nothing is added", async () => {
    const pub = newKey();
    host.addRepo("acme/idem");
    await ensureRegistered(adapter({ repo: "acme/idem" }), pub, TITLE, TITLE);
    const again = await ensureRegistered(adapter({ repo: "acme/idem" }), pub, TITLE, TITLE);
    expect(again.added).toBe(false);
    expect(host.keys("acme/idem")).toHaveLength(1);
  });

  it("a different key with our title is reported, and left alone", async () => {
    host.addRepo("acme/foreign");
    const stale = host.seed("acme/foreign", TITLE, newKey().key);
    const e = await failure(ensureRegistered(adapter({ repo: "acme/foreign" }), newKey(), TITLE, TITLE));
    expect(e.exitCode).toBe(ExitCode.external);
    expect(e.message).toContain(`already has a deploy key titled "${TITLE}"`);
    expect(e.message).toContain(stale.fingerprint);
    expect(e.message).not.toContain("\n");
    expect(host.keys("acme/foreign").map((k) => k.id)).toEqual([stale.id]);
  });

  it("a key with write access is not accepted as registered", async () => {
    host.addRepo("acme/writable");
    const pub = newKey();
    host.seed("acme/writable", "by hand", pub.key, false);
    const e = await failure(ensureRegistered(adapter({ repo: "acme/writable" }), pub, TITLE, TITLE));
    expect(e.message).toMatch(/with write access: remove it on the host/);
  });

  it("removes keys by fingerprint, only those", async () => {
    host.addRepo("acme/rm");
    const a = newKey();
    const b = newKey();
    await ensureRegistered(adapter({ repo: "acme/rm" }), a, TITLE, TITLE);
    await ensureRegistered(adapter({ repo: "acme/rm" }), b, `${TITLE}:20260101T000000Z`, TITLE, [a.fingerprint]);
    expect(host.keys("acme/rm")).toHaveLength(2);
    expect(await removeKeys(adapter({ repo: "acme/rm" }), [a.fingerprint])).toHaveLength(1);
    expect(host.keys("acme/rm").map((k) => k.fingerprint)).toEqual([b.fingerprint]);
  });

  it("a bad token: 401, one line naming the variable, never the token", async () => {
    const e = await failure(adapter({ token: "not-the-token-1234" }).list());
    expect(e.exitCode).toBe(ExitCode.external);
    expect(e.message).toContain(`refused the token in ${ENV[flavor]} (401`);
    expect(e.message).not.toContain("not-the-token-1234");
  });

  it("a token without rights: 403 says what the token needs", async () => {
    const e = await failure(ensureRegistered(adapter({ token: host.weakToken }), newKey(), TITLE, TITLE));
    expect(e.message).toMatch(/does not let the token .* \(403.*\): the token needs/);
    expect(e.message).not.toContain(host.weakToken);
  });

  it("an unknown repo: 404 says to check --repo", async () => {
    const e = await failure(adapter({ repo: "acme/nope" }).list());
    expect(e.exitCode).toBe(ExitCode.external);
    expect(e.message).toMatch(/has no repo acme\/nope .*\(404.*\): check --repo/);
  });

  it("a missing token is an input error before any request", () => {
    const before = host.requests.length;
    let e: unknown;
    try {
      hostAdapter({ kind: flavor, repo: REPO, apiUrl: host.url }, null, {});
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(TenantryError);
    expect((e as TenantryError).exitCode).toBe(ExitCode.invalid);
    expect((e as TenantryError).message).toBe(`${ENV[flavor]} is not set: export a ${flavor === "github" ? "GitHub" : flavor === "gitlab" ? "GitLab" : "Gitea"} token that may manage the repo's deploy keys in ${ENV[flavor]}`);
    expect(host.requests.length).toBe(before);
  });

  it("a host that does not answer in time", async () => {
    host.hangNext();
    const e = await failure(adapter({ timeoutMs: 300 }).list());
    expect(e.message).toMatch(/did not answer within 0.3 s: check --api-url/);
  });

  it("a host that is down", async () => {
    const down = await startGitHost(flavor);
    const url = down.url;
    await down.close();
    const e = await failure(adapter({ apiUrl: url }).list());
    expect(e.exitCode).toBe(ExitCode.external);
    expect(e.message).toMatch(/cannot reach .* \(ECONNREFUSED\): check --api-url/);
  });

  it("a server error is reported with the host's message", async () => {
    host.failNext(500, { message: "database on fire" });
    const e = await failure(adapter().list());
    expect(e.message).toMatch(/failed to list the deploy keys of acme\/team1 \(500 database on fire\): the host has a problem/);
  });

  it("a host echoing the token back does not get it into the message", async () => {
    host.failNext(400, { message: `bad request for ${host.token}` });
    const e = await failure(adapter().list());
    expect(e.message).not.toContain(host.token);
    expect(e.message).toContain("***");
  });

  it("sends the token only in its header, never in a URL", () => {
    for (const q of host.requests) expect(q.path).not.toContain(host.token);
    const authed = host.requests.filter((q) => JSON.stringify(q.headers).includes(host.token));
    expect(authed.length).toBeGreaterThan(0);
  });
});

describe("host-specific refusals", () => {
  it("GitHub: a key already in use on another repo (422) says so", async () => {
    const host = await startGitHost("github");
    try {
      host.addRepo(REPO);
      host.addRepo("acme/other");
      const pub = newKey();
      host.seed("acme/other", "theirs", pub.key);
      const e = await failure(ensureRegistered(hostAdapter({ kind: "github", repo: REPO, apiUrl: host.url }, null, { GITHUB_TOKEN: host.token }), pub, TITLE, TITLE));
      expect(e.message).toMatch(/already in use .*: give this repo its own key/);
    } finally {
      await host.close();
    }
  });

  it("GitLab: a fingerprint taken by another project (400) says so; re-posting on the same project is success", async () => {
    const host = await startGitHost("gitlab");
    try {
      host.addRepo("acme/sub/team1");
      host.addRepo("acme/other");
      const a = hostAdapter({ kind: "gitlab", repo: "acme/sub/team1", apiUrl: host.url }, null, { GITLAB_TOKEN: host.token });
      const pub = newKey();
      const first = await a.add(TITLE, pub.key);
      const again = await a.add(TITLE, pub.key);
      expect(again.id).toBe(first.id);
      expect(host.requests.at(-1)?.path).toBe("/api/v4/projects/acme%2Fsub%2Fteam1/deploy_keys");
      const taken = newKey();
      host.seed("acme/other", "theirs", taken.key);
      host.addRepo("acme/fresh");
      const fresh = hostAdapter({ kind: "gitlab", repo: "acme/fresh", apiUrl: host.url }, null, { GITLAB_TOKEN: host.token });
      const e = await failure(ensureRegistered(fresh, taken, TITLE, TITLE));
      expect(e.message).toMatch(/another project already has it/);
    } finally {
      await host.close();
    }
  });

  it("Gitea: a second key with the same title (422) is a clear refusal; the same key again is success", async () => {
    const host = await startGitHost("gitea");
    try {
      host.addRepo(REPO);
      const a = hostAdapter({ kind: "gitea", repo: REPO, apiUrl: host.url }, null, { GITEA_TOKEN: host.token });
      const pub = newKey();
      await a.add(TITLE, pub.key);
      expect((await a.add(TITLE, pub.key)).fingerprint).toBe(pub.fingerprint);
      const e = await failure(a.add(TITLE, newKey().key));
      expect(e.message).toMatch(/refuses a second deploy key titled "tenantry:prod:team1".*\(422 Key title has been used\)/);
    } finally {
      await host.close();
    }
  });

  it("Gitea needs --api-url; plain http is only for this machine; the repo comes from the URL", () => {
    const problems = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    };
    expect(problems(() => hostAdapter({ kind: "gitea" }, "git@gitea.example.com:acme/team1.git", { GITEA_TOKEN: "x" }))).toMatch(/--host gitea needs --api-url/);
    expect(problems(() => hostAdapter({ kind: "github", apiUrl: "http://example.com" }, "git@github.com:acme/team1.git", { GITHUB_TOKEN: "x" }))).toMatch(/not https/);
    expect(problems(() => hostAdapter({ kind: "github", apiUrl: "https://u:p@example.com" }, "git@github.com:acme/team1.git", { GITHUB_TOKEN: "x" }))).toMatch(/carries credentials/);
    expect(hostAdapter({ kind: "github" }, "git@github.com:acme/team1.git", { GITHUB_TOKEN: "x" }).where).toBe("github acme/team1");
    expect(hostAdapter({ kind: "gitlab" }, "https://gitlab.com/acme/sub/team1.git", { GITLAB_TOKEN: "x" }).where).toBe("gitlab acme/sub/team1");
    expect(problems(() => hostAdapter({ kind: "github", repo: "acme/../x" }, null, { GITHUB_TOKEN: "x" }))).toMatch(/not owner\/name/);
  });
});
