// Fetching a GitSync source over HTTPS with a token, from a real git smart-HTTP server
// (git http-backend behind TLS signed by a throwaway CA, Basic auth): the clone works with
// the token and the CA from the Secret, and fails with one clear line — never showing the
// token — when either is wrong or missing. The token never lands in the checkout.

import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSource, FetchError, type FetchedSource, remoteRevision } from "../../src/sync/source.js";
import { tempDir } from "../helpers/cli.js";
import { commitAndPush, git } from "../helpers/git.js";
import { type GitHttpServer, startGitHttpServer } from "../helpers/githttp.js";

const TOKEN = "glpat-s3cr3t-t0ken-for-tests";

let server: GitHttpServer;
let url: string;
let head: string;
let first: string;
let root: string;
const fetched: FetchedSource[] = [];

/** Every file below `dir`, .git included, as one string. */
function allText(dir: string): string {
  let text = "";
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if (statSync(path).size < 1_000_000) text += readFileSync(path, "latin1");
  }
  return text;
}

async function expectFetchError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FetchError);
  const message = (e as Error).message;
  expect(message).toMatch(pattern);
  expect(message).toContain(url);
  expect(message).not.toContain(TOKEN);
  expect(message.split("\n")).toHaveLength(1);
}

beforeAll(async () => {
  root = tempDir();
  git(root, "init", "--quiet", "--bare", "--initial-branch=main", "app.git");
  const work = tempDir();
  git(work, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(work, "kustomization.yaml"), "resources: [cm.yaml]\n");
  writeFileSync(join(work, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: '1'\n");
  first = commitAndPush(work, join(root, "app.git"), "first");
  writeFileSync(join(work, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: '2'\n");
  head = commitAndPush(work, join(root, "app.git"), "second");
  server = await startGitHttpServer(root, "deploy", TOKEN);
  url = `${server.url}/app.git`;
});

afterAll(async () => {
  for (const f of fetched) rmSync(f.scratch, { recursive: true, force: true });
  await server.close();
});

describe("HTTPS fetch with a token", () => {
  it("clones the branch with the token and the private CA, and keeps the token out of the checkout", async () => {
    const f = await fetchSource(url, { branch: "main" }, { username: "deploy", password: TOKEN, caCert: server.caCert });
    fetched.push(f);
    expect(f.sha).toBe(head);
    expect(readFileSync(join(f.dir, "cm.yaml"), "utf8")).toContain("v: '2'");
    expect(allText(f.dir)).not.toContain(TOKEN);
    expect(allText(f.dir)).not.toContain(Buffer.from(`deploy:${TOKEN}`).toString("base64"));
    expect(statSync(join(f.scratch, "ca.crt")).mode & 0o777).toBe(0o600);
    expect(server.requests.some((r) => r.user === "deploy")).toBe(true);
  });

  it("fetches a pinned commit over HTTPS", async () => {
    const f = await fetchSource(url, { commit: first }, { username: "deploy", password: TOKEN, caCert: server.caCert });
    fetched.push(f);
    expect(f.sha).toBe(first);
    expect(readFileSync(join(f.dir, "cm.yaml"), "utf8")).toContain("v: '1'");
  });

  it("fails with one line naming the URL on a wrong token, without showing it", async () => {
    await expectFetchError(fetchSource(url, { branch: "main" }, { username: "deploy", password: `${TOKEN}-wrong`, caCert: server.caCert }), /refused the username and password \(token\)/);
  });

  it("fails without a token (no prompt, no hang)", async () => {
    await expectFetchError(fetchSource(url, { branch: "main" }, { caCert: server.caCert }), /asks for credentials/);
  });

  it("fails on a server certificate it cannot verify when the Secret has no ca.crt", async () => {
    await expectFetchError(fetchSource(url, { branch: "main" }, { username: "deploy", password: TOKEN }), /certificate.*ca\.crt/i);
  });
});

describe("the remote's commit without a clone (git ls-remote)", () => {
  it("names the branch's commit with the token, a pinned commit as itself, and refuses a wrong token or a missing branch", async () => {
    const creds = { username: "deploy", password: TOKEN, caCert: server.caCert };
    expect(await remoteRevision(url, { branch: "main" }, creds)).toBe(head);
    expect(await remoteRevision(url, { commit: first }, creds)).toBe(first);
    await expectFetchError(remoteRevision(url, { branch: "main" }, { ...creds, password: "nope" }), /refused the username and password \(token\)/);
    await expectFetchError(remoteRevision(url, { branch: "nope" }, creds), /refs\/heads\/nope does not exist/);
  });

  it("peels an annotated tag to its commit", async () => {
    const work = tempDir();
    git(work, "clone", "--quiet", `${root}/app.git`, ".");
    git(work, "tag", "-a", "v1", "-m", "release", first);
    git(work, "tag", "light", head);
    git(work, "push", "--quiet", "origin", "v1", "light");
    const creds = { username: "deploy", password: TOKEN, caCert: server.caCert };
    expect(await remoteRevision(url, { tag: "v1" }, creds)).toBe(first);
    expect(await remoteRevision(url, { tag: "light" }, creds)).toBe(head);
  });
});
