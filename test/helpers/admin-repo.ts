// Builds admin repos with the real CLI for tests.

import { join } from "node:path";
import { expect } from "vitest";
import { runCli, tempDir } from "./cli.js";

export const INIT_ARGS = ["--cluster-name", "test", "--git-url", "git@github.com:acme/admin.git", "--platform-team", "@acme/platform"];

/** `tenantry init` in a fresh temp dir, then create-team for each argument list. */
export async function makeAdminRepo(teams: readonly (readonly string[])[] = [], initArgs: readonly string[] = INIT_ARGS): Promise<string> {
  const admin = join(tempDir(), "admin");
  const init = await runCli(["init", admin, ...initArgs]);
  expect(init.code, init.stderr).toBe(0);
  for (const team of teams) {
    const r = await runCli(["create-team", ...team, "--commit"], { cwd: admin });
    expect(r.code, r.stderr).toBe(0);
  }
  return admin;
}
