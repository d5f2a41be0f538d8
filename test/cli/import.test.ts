// `tenantry import` through the real CLI. Each directory under test/fixtures/import/<layout>/
// is a case (case.yaml: the arguments, the exit code, and `input` when it reads another
// case's source): the admin repo written is compared with expected.txt and the report with
// report.txt (`vitest -u` rewrites both, locally), the repo passes `tenantry validate`, and
// its history is init plus one commit of every team (create-team --from). Then bad input: nothing written.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readTree, repoRoot, runCli, runProgram, tempDir } from "../helpers/cli.js";

interface Case {
  input?: string;
  args: string[];
  exit: number;
}

const fixtures = join(repoRoot, "test", "fixtures", "import");
const cases = readdirSync(fixtures).flatMap((layout) =>
  readdirSync(join(fixtures, layout))
    .filter((name) => existsSync(join(fixtures, layout, name, "case.yaml")))
    .map((name) => ({ layout, name, dir: join(fixtures, layout, name) })),
);

/** The tree as text; a file over 64 KiB (the vendored Flux components) as its hash. */
function serialize(tree: Record<string, string>): string {
  return Object.entries(tree)
    .map(([path, content]) => `=== ${path} ===\n${content.length > 65536 ? `(${content.length} bytes, sha256 ${createHash("sha256").update(content).digest("hex")})\n` : content}`)
    .join("\n");
}

describe.each(cases)("import $layout/$name", ({ layout, dir }) => {
  const c = parse(readFileSync(join(dir, "case.yaml"), "utf8")) as Case;
  const input = resolve(dir, c.input ?? "input");

  it("writes the expected repo and report, which validates", async () => {
    const out = join(tempDir(), "admin");
    const r = await runCli(["import", layout, input, "--out", out, ...c.args]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(c.exit);
    await expect(serialize(readTree(out))).toMatchFileSnapshot(join(dir, "expected.txt"));
    const report = r.stdout.replaceAll(input, "<SOURCE>").replaceAll(out, "<OUT>").replace(/commit [0-9a-f]{7}\./, "commit <COMMIT>.");
    await expect(report).toMatchFileSnapshot(join(dir, "report.txt"));
    expect(report).toMatch(c.exit === 3 ? /^Not mapped \(\d+\):$/m : /^Everything was mapped\.$/m);

    const v = await runCli(["validate", out]);
    expect(v.stdout + v.stderr).toMatch(/Valid admin repo/);
    expect(v.code).toBe(0);

    const json = await runCli(["import", layout, input, "--out", join(tempDir(), "again"), "-o", "json", ...c.args]);
    expect(json.code).toBe(c.exit);
    const data = JSON.parse(json.stdout) as { teams: { team: string }[]; unmapped: unknown[]; commit: string };
    expect(data.unmapped.length > 0).toBe(c.exit === 3);
    const log = await runProgram("git", ["-C", out, "log", "--format=%s"]);
    expect(log.stdout.trim().split("\n").reverse()).toEqual([expect.stringMatching(/^tenantry init: cluster /), `tenantry: import ${String(data.teams.length)} team${data.teams.length === 1 ? "" : "s"} (${data.teams.map((t) => t.team).join(", ")})`]);
  });
});

describe("import: bad input writes nothing", () => {
  const upstream = join(fixtures, "flux2-multi-tenancy", "upstream", "input");

  /** Copies a fixture's input into a temp dir, for a test to break. */
  function copyOf(src: string): string {
    const dst = join(tempDir(), "src");
    const walk = (from: string, to: string): void => {
      mkdirSync(to, { recursive: true });
      for (const e of readdirSync(from, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(from, e.name), join(to, e.name));
        else writeFileSync(join(to, e.name), readFileSync(join(from, e.name)));
      }
    };
    walk(src, dst);
    return dst;
  }

  async function refused(args: string[], message: RegExp, code = 2): Promise<void> {
    const parent = tempDir();
    const out = join(parent, "new", "admin");
    const r = await runCli(["import", ...args, "--out", out]);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(code);
    // Not even the parent directory the import would have made.
    expect(readdirSync(parent)).toEqual([]);
  }

  it("malformed YAML in a tenant file: one line naming the file (exit 2)", async () => {
    const src = copyOf(upstream);
    writeFileSync(join(src, "tenants/base/dev-team/sync.yaml"), "apiVersion: v1\nkind: [unclosed\n");
    await refused(["flux2-multi-tenancy", src, "--env", "staging"], /^tenantry: error: tenants\/base\/dev-team\/sync\.yaml: malformed YAML/);
  });

  it("an alias bomb: one line (exit 2)", async () => {
    const src = copyOf(upstream);
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    writeFileSync(join(src, "tenants/staging/kustomization.yaml"), `${bomb}\nresources: [../base/dev-team]\n`);
    await refused(["flux2-multi-tenancy", src, "--env", "staging"], /tenants\/staging\/kustomization\.yaml: .*alias/);
  });

  it("a missing resource: one line naming it (exit 2)", async () => {
    const src = copyOf(upstream);
    writeFileSync(join(src, "tenants/base/dev-team/kustomization.yaml"), "resources:\n  - rbac.yaml\n  - sync.yaml\n  - gone.yaml\n");
    await refused(["flux2-multi-tenancy", src, "--env", "staging"], /tenants\/base\/dev-team\/kustomization\.yaml: resource gone\.yaml does not exist/);
  });

  it("a directory that does not exist (exit 2)", async () => {
    await refused(["flux-v1", join(tempDir(), "nowhere"), "--cluster-name", "dev"], /nowhere does not exist/);
  });

  it("a directory of another layout (exit 2)", async () => {
    await refused(["flux-v1", upstream, "--cluster-name", "dev"], /not a Flux v1 multi-tenancy layout: cluster\/kustomization\.yaml is missing/);
    await refused(["flux2-multi-tenancy", join(fixtures, "flux-v1", "upstream", "input")], /not a flux2-multi-tenancy layout: tenants\/base\/ is missing/);
  });

  it("several environments and no --env; an unknown --env (exit 2)", async () => {
    await refused(["flux2-multi-tenancy", upstream], /several environments \(production, staging\): choose the one this cluster runs with --env/);
    await refused(["flux2-multi-tenancy", upstream, "--env", "qa"], /--env qa: tenants\/qa\/kustomization\.yaml is missing; the environments here are: production, staging/);
  });

  it("flux-v1 without --cluster-name (exit 2)", async () => {
    await refused(["flux-v1", join(fixtures, "flux-v1", "upstream", "input")], /--cluster-name is needed/);
  });

  it("an --out that is not empty is left alone (exit 2)", async () => {
    const out = tempDir();
    writeFileSync(join(out, "keep.txt"), "mine");
    const r = await runCli(["import", "flux2-multi-tenancy", upstream, "--env", "staging", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not empty: choose a new or empty directory/);
    expect(readdirSync(out)).toEqual(["keep.txt"]);
  });

  it("a tenant whose name is no team name is reported, not renamed (exit 3), and the rest imported", async () => {
    const src = copyOf(join(fixtures, "flux2-multi-tenancy", "clean", "input"));
    const base = join(src, "tenants/base");
    mkdirSync(join(base, "kube-ops"));
    for (const f of ["kustomization.yaml", "rbac.yaml", "sync.yaml"]) writeFileSync(join(base, "kube-ops", f), readFileSync(join(base, "team-a", f), "utf8").replaceAll("team-a", "kube-ops"));
    writeFileSync(join(src, "tenants/prod/kustomization.yaml"), "resources:\n  - ../base/team-a\n  - ../base/kube-ops\n");
    const out = join(tempDir(), "admin");
    const r = await runCli(["import", "flux2-multi-tenancy", src, "--out", out, "-o", "json"]);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { teams: { team: string }[]; unmapped: { subject: string; detail: string }[] };
    expect(report.teams.map((t) => t.team)).toEqual(["team-a"]);
    expect(report.unmapped).toContainEqual(expect.objectContaining({ subject: "tenant kube-ops -> team kube-ops", detail: expect.stringMatching(/reserved .*tenantry does not rename it/) as unknown }));
    expect(readdirSync(join(out, "cluster")).sort()).toEqual(["common", "team-a", "teams"]);
  });
});
