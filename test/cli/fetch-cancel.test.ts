// A cancelled fetch (a reconcile that overran its timeout, a lost lease) kills git at once and
// leaves nothing on disk; so does a fetch that fails. Real git against a server that accepts
// the connection and never answers.

import { mkdirSync, readdirSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSource, FetchError, remoteRevision } from "../../src/sync/source.js";
import { tempDir } from "../helpers/cli.js";

let server: Server;
let url: string;
const sockets = new Set<Socket>();
let tmp: string;
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  // os.tmpdir() reads TMPDIR at each call: the scratch directories of this file land here.
  tmp = join(tempDir(), "tmp");
  mkdirSync(tmp);
  process.env.TMPDIR = tmp;
  server = createServer((s) => {
    sockets.add(s);
    s.resume(); // read (and drop) the request, so the peer's close is seen
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/team.git`;
});

afterAll(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
});

async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failure(p: Promise<unknown>): Promise<FetchError> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FetchError);
  return e as FetchError;
}

describe("a cancelled fetch", () => {
  for (const [name, start] of [
    ["clone", (signal: AbortSignal) => fetchSource(url, { branch: "main" }, undefined, { signal })],
    ["ls-remote", (signal: AbortSignal) => remoteRevision(url, { branch: "main" }, undefined, { signal })],
  ] as const) {
    it(`${name}: git is killed (its connection closes), the error says cancelled, no scratch directory is left`, async () => {
      const abort = new AbortController();
      const running = start(abort.signal);
      await until("git to connect", () => sockets.size > 0);
      const started = Date.now();
      abort.abort();
      const e = await failure(running);
      expect(e.message).toBe(`fetching ${url} was cancelled`);
      expect(Date.now() - started).toBeLessThan(5_000);
      await until("git's connection to close", () => sockets.size === 0);
      expect(readdirSync(tmp)).toEqual([]);
    });
  }

  it("a fetch that times out leaves no scratch directory either", async () => {
    const e = await failure(fetchSource(url, { branch: "main" }, undefined, { timeoutMs: 500 }));
    expect(e.message).toMatch(/^fetching http:\/\/127\.0\.0\.1:\d+\/team\.git failed: /);
    await until("git's connection to close", () => sockets.size === 0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
