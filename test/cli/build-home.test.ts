// The build service's sandbox home (src/build/service.ts): one per process, gone when it
// exits, and the homes of processes that died without exiting are swept by the next one.

import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { runCli, tempDir } from "../helpers/cli.js";

describe("the build service's home", () => {
  it("is removed when the command exits, and a dead process's is swept", async () => {
    const repo = await makeAdminRepo([["team1"]]);
    const tmp = tempDir();
    // A home left by a SIGKILLed process (pid far beyond pid_max), and one that is not ours.
    mkdirSync(join(tmp, "tenantry-build-home-2147480000-abcdef"));
    mkdirSync(join(tmp, "unrelated"));
    const r = await runCli(["validate", "."], { cwd: repo, env: { TMPDIR: tmp } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(tmp)).toEqual(["unrelated"]);
  });
});
