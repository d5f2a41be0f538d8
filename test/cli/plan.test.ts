// `tenantry plan` through the real CLI on admin repos with real commits: each case clones
// one admin repo made with `tenantry init` + `create-team`, makes one change the way a
// person would (the CLI, or an edit), commits it, and plans HEAD~1..HEAD. The Markdown and
// JSON plans are compared with test/fixtures/plan/<case>/ (`vitest -u` rewrites them);
// commit hashes are replaced by <base> and <head>.

import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeAdminRepo } from "../helpers/admin-repo.js";
import { editFile, readTree, repoRoot, runCli, tempDir } from "../helpers/cli.js";
import { git } from "../helpers/git.js";

const fixtures = join(repoRoot, "test", "fixtures", "plan");

async function cli(dir: string, ...args: string[]): Promise<void> {
  const r = await runCli(args, { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
}

interface Case {
  readonly name: string;
  readonly risks: readonly string[];
  readonly change: (dir: string) => Promise<void>;
}

const CASES: readonly Case[] = [
  {
    name: "add-team",
    risks: ["team-added"],
    change: (dir) => cli(dir, "create-team", "team3", "--commit"),
  },
  {
    name: "raise-quota",
    risks: ["quota-raised"],
    change: async (dir) => {
      editFile(dir, "tenantry.yaml", /(small:\n\s+quota:\n\s+requests\.cpu: )"2"/, '$1"4"');
      editFile(dir, "tenantry.yaml", /(small:\n(?:.*\n)*?\s+pods: )"20"/, '$1"40"');
      // A tier is rendered into each team's overlay: create-team renders it again.
      await cli(dir, "create-team", "team1");
      await cli(dir, "create-team", "team2");
      git(dir, "commit", "--quiet", "-am", "raise the small tier");
    },
  },
  {
    name: "lower-pod-security",
    risks: ["pod-security-lowered"],
    change: async (dir) => {
      editFile(dir, "tenantry.yaml", "level: restricted", "level: baseline");
      await cli(dir, "create-team", "team1");
      await cli(dir, "create-team", "team2");
      git(dir, "commit", "--quiet", "-am", "pod security baseline");
    },
  },
  {
    name: "grant-cluster-role",
    risks: ["rbac-widened"],
    change: (dir) => {
      writeFileSync(
        join(dir, "cluster/common/team1-view.yaml"),
        [
          "apiVersion: rbac.authorization.k8s.io/v1",
          "kind: ClusterRoleBinding",
          "metadata:",
          "  name: team1-view",
          "  labels:",
          "    app.kubernetes.io/managed-by: tenantry",
          "roleRef:",
          "  apiGroup: rbac.authorization.k8s.io",
          "  kind: ClusterRole",
          "  name: view",
          "subjects:",
          "  - apiGroup: rbac.authorization.k8s.io",
          "    kind: Group",
          "    name: tenantry:team:team1",
          "",
        ].join("\n"),
      );
      editFile(dir, "cluster/common/kustomization.yaml", "  - agent.yaml\n", "  - agent.yaml\n  - team1-view.yaml\n");
      git(dir, "add", "--all");
      git(dir, "commit", "--quiet", "-m", "team1 may view the cluster");
      return Promise.resolve();
    },
  },
  {
    name: "remove-constraint",
    risks: ["policy-loosened", "hand-edited"],
    change: (dir) => {
      editFile(dir, "cluster/team1/constraints.yaml", /---\napiVersion: constraints\.gatekeeper\.sh\/v1beta1\nkind: TenantryImageTags\n(?:(?!---).*\n)*/, "");
      git(dir, "commit", "--quiet", "-am", "team1 may use any tag");
      return Promise.resolve();
    },
  },
  {
    name: "delete-team",
    risks: ["team-removed"],
    // Who asks is git's user.email; the tombstone's time is a placeholder in the goldens.
    change: (dir) => {
      git(dir, "config", "user.email", "platform@acme.dev");
      return cli(dir, "delete-team", "team2", "--commit", "--force", "--kubeconfig", join(dir, "no-such-kubeconfig"));
    },
  },
  {
    name: "edit-shared-template",
    risks: ["rbac-widened"],
    change: (dir) => {
      editFile(dir, "cluster/common/rbac.yaml", "resources: [jobs, cronjobs]\n", "resources: [jobs, cronjobs, jobs/status]\n");
      git(dir, "commit", "--quiet", "-am", "teams may edit job status");
      return Promise.resolve();
    },
  },
  {
    name: "no-risk",
    risks: [],
    change: (dir) => cli(dir, "create-team", "team1", "--branch", "release", "--commit"),
  },
  {
    // A team owner proposes, in its own overlay, what create-team would never render.
    name: "team-overlay-extension",
    risks: ["rbac-widened", "extension"],
    change: (dir) => {
      writeFileSync(
        join(dir, "cluster/team1/grab.yaml"),
        [
          "apiVersion: rbac.authorization.k8s.io/v1",
          "kind: ClusterRoleBinding",
          "metadata:",
          "  name: team1-grab",
          "  labels:",
          "    app.kubernetes.io/managed-by: tenantry",
          "    tenantry.dev/team: team1",
          "roleRef:",
          "  apiGroup: rbac.authorization.k8s.io",
          "  kind: ClusterRole",
          "  name: edit",
          "subjects:",
          "  - kind: ServiceAccount",
          "    name: team1",
          "    namespace: team1",
          "",
        ].join("\n"),
      );
      editFile(dir, "cluster/team1/kustomization.yaml", "  - sync.yaml\n", "  - sync.yaml\n  - grab.yaml\n");
      git(dir, "add", "--all");
      git(dir, "commit", "--quiet", "-m", "team1 needs edit everywhere");
      return Promise.resolve();
    },
  },
  {
    // A team owner widens its own default-deny policy by hand instead of through create-team.
    name: "hand-edited-network-policy",
    risks: ["network-loosened", "hand-edited"],
    change: (dir) => {
      editFile(dir, "cluster/team1/network-policies.yaml", /(name: tenantry-default-deny\n(?:.*\n)*?spec:\n)/, "$1  egress:\n    - {}\n");
      git(dir, "commit", "--quiet", "-am", "let team1 out");
      return Promise.resolve();
    },
  },
  {
    // A second GitSync with cluster scope, and a workload running as the agent, in cluster/common.
    name: "cluster-scoped-sync-and-agent-identity",
    risks: ["foreign-gitsync", "agent-identity"],
    change: (dir) => {
      writeFileSync(
        join(dir, "cluster/common/extra.yaml"),
        [
          "apiVersion: tenantry.dev/v1alpha1",
          "kind: GitSync",
          "metadata:",
          "  name: tools",
          "  namespace: tenantry-system",
          "  labels:",
          "    app.kubernetes.io/managed-by: tenantry",
          "spec:",
          "  url: https://git.example.com/acme/tools.git",
          "  interval: 5m",
          "---",
          "apiVersion: batch/v1",
          "kind: Job",
          "metadata:",
          "  name: cleanup",
          "  namespace: tenantry-system",
          "  labels:",
          "    app.kubernetes.io/managed-by: tenantry",
          "spec:",
          "  template:",
          "    spec:",
          "      serviceAccountName: tenantry-agent",
          "      restartPolicy: Never",
          "      containers:",
          "        - name: cleanup",
          "          image: ghcr.io/acme/cleanup:1.0.0",
          "",
        ].join("\n"),
      );
      editFile(dir, "cluster/common/kustomization.yaml", "  - agent.yaml\n", "  - agent.yaml\n  - extra.yaml\n");
      git(dir, "add", "--all");
      git(dir, "commit", "--quiet", "-m", "tools");
      return Promise.resolve();
    },
  },
  {
    // A Flux Kustomization in cluster/common that names no ServiceAccount and reads another
    // namespace's source: kustomize-controller would apply it as itself (issue 18).
    name: "flux-kustomization-escalation",
    risks: ["flux-escalation"],
    change: (dir) => {
      writeFileSync(
        join(dir, "cluster/common/flux-tools.yaml"),
        [
          "apiVersion: kustomize.toolkit.fluxcd.io/v1",
          "kind: Kustomization",
          "metadata:",
          "  name: tools",
          "  namespace: tools",
          "  labels:",
          "    app.kubernetes.io/managed-by: tenantry",
          "spec:",
          "  sourceRef:",
          "    kind: GitRepository",
          "    name: flux-system",
          "    namespace: flux-system",
          "  path: ./tools",
          "  prune: true",
          "  interval: 10m",
          "",
        ].join("\n"),
      );
      editFile(dir, "cluster/common/kustomization.yaml", "  - agent.yaml\n", "  - agent.yaml\n  - flux-tools.yaml\n");
      git(dir, "add", "--all");
      git(dir, "commit", "--quiet", "-m", "tools synced by Flux");
      return Promise.resolve();
    },
  },
  {
    // Under Flux a team Namespace carries prune: disabled until delete-team's tombstone: taking
    // it off by hand makes the namespace deletable by Flux (base: a commit that adds it).
    name: "flux-prune-enabled",
    risks: ["flux-prune"],
    change: (dir) => {
      editFile(dir, "cluster/team1/namespace.yaml", /^metadata:\n/m, "metadata:\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n");
      git(dir, "commit", "--quiet", "-am", "team1 kept by Flux");
      editFile(dir, "cluster/team1/namespace.yaml", "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n", "");
      git(dir, "commit", "--quiet", "-am", "team1 prunable");
      return Promise.resolve();
    },
  },
  {
    // The team's owners are asked in the review; only the platform team's approval counts.
    name: "owners-asked",
    risks: ["quota-raised"],
    change: (dir) => cli(dir, "create-team", "team1", "--owner", "@acme/team1-leads", "--tier", "medium", "--commit"),
  },
];

let origin: string;

beforeAll(async () => {
  origin = await makeAdminRepo([["team1"], ["team2", "--tier", "medium", "--allow-from", "team1"]]);
}, 120_000);

function clone(): string {
  const dir = join(tempDir(), "admin");
  git(tmpdir(), "clone", "--quiet", origin, dir);
  return dir;
}

function placeholders(text: string, dir: string): string {
  const base = git(dir, "rev-parse", "HEAD~1");
  const head = git(dir, "rev-parse", "HEAD");
  return text
    .replaceAll(base, "<base>")
    .replaceAll(head, "<head>")
    .replaceAll(base.slice(0, 7), "<base>")
    .replaceAll(head.slice(0, 7), "<head>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, "<time>");
}

describe.each(CASES)("plan: $name", (c) => {
  let dir: string;
  beforeAll(async () => {
    dir = clone();
    await c.change(dir);
  }, 60_000);

  it("matches the golden Markdown and JSON plans, with the expected risk flags and exit code", async () => {
    const md = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown"], { cwd: dir });
    const json = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    const expected = c.risks.length > 0 ? 3 : 0;
    expect(md.code, md.stderr).toBe(expected);
    expect(json.code, json.stderr).toBe(expected);
    const plan = JSON.parse(json.stdout) as { risks: { kind: string }[] };
    expect(plan.risks.map((r) => r.kind)).toEqual(c.risks);
    for (const out of [md.stdout, json.stdout]) {
      // No temporary path: neither the repo's nor a worktree's (the agent mounts /tmp).
      expect(out).not.toContain(dir);
      expect(out).not.toMatch(/tenantry-(test|plan)-/);
    }
    await expect(placeholders(md.stdout, dir)).toMatchFileSnapshot(join(fixtures, c.name, "plan.md"));
    await expect(placeholders(json.stdout, dir)).toMatchFileSnapshot(join(fixtures, c.name, "plan.json"));
  });
});

describe("plan", () => {
  it("never touches the checkout and leaves no worktree behind", async () => {
    const dir = clone();
    await cli(dir, "create-team", "team3", "--commit");
    writeFileSync(join(dir, "cluster/team1/quota.yaml"), "uncommitted: true\n");
    const before = readTree(dir);
    const status = git(dir, "status", "--porcelain");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "--repo", dir], { cwd: tmpdir() });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^Plan HEAD~1 \(\w{7}\) -> HEAD \(\w{7}\)\nChanges: 23 added, 0 changed, 0 removed \(0 cluster-wide\)\nTeams affected: team3\n/);
    expect(readTree(dir)).toEqual(before);
    expect(git(dir, "status", "--porcelain")).toBe(status);
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
  });

  it("rebuilds cluster/teams/tombstones when only a file in it changes", async () => {
    const dir = clone();
    await cli(dir, "delete-team", "team2", "--commit", "--force", "--kubeconfig", join(dir, "no-such-kubeconfig"));
    editFile(dir, "cluster/teams/tombstones/tombstones.yaml", /by: .*\n/, "by: someone-else@acme.dev\n");
    git(dir, "commit", "--quiet", "-am", "who asked, rewritten");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { changes: { action: string; object: string; diff: string }[] };
    expect(plan.changes.map((c) => `${c.action} ${c.object}`)).toEqual(["changed ConfigMap/tenantry-system/tenantry-tombstones"]);
    expect(plan.changes[0]?.diff).toContain("+      by: someone-else@acme.dev");
  });

  it("plans a ref from before the admin repo existed as everything added", async () => {
    const dir = clone();
    git(dir, "checkout", "--quiet", "--orphan", "empty");
    git(dir, "rm", "-rf", "--quiet", ".");
    git(dir, "commit", "--quiet", "--allow-empty", "-m", "empty");
    git(dir, "checkout", "--quiet", "main");
    const r = await runCli(["plan", "--base", "empty", "--head", "main", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    const plan = JSON.parse(r.stdout) as { summary: { removed: number; added: number }; teams: { added: string[] } };
    expect(plan.summary.removed).toBe(0);
    expect(plan.summary.added).toBeGreaterThan(40);
    expect(plan.teams.added).toEqual(["team1", "team2"]);
  });

  it("refuses unknown refs (exit 2) and reports a head that does not build (exit 4)", async () => {
    const dir = clone();
    const bad = await runCli(["plan", "--base", "no-such-ref", "--head", "HEAD"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tenantry: error: unknown git ref "no-such-ref"/);
    editFile(dir, "cluster/team1/kustomization.yaml", "  - quota.yaml\n", "  - quota.yaml\n  - missing.yaml\n");
    git(dir, "commit", "--quiet", "-am", "broken");
    const broken = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD"], { cwd: dir });
    expect(broken.code).toBe(4);
    expect(broken.stderr).toMatch(/tenantry: error: kustomize build cluster\/team1 failed: .*missing\.yaml/);
    expect(git(dir, "worktree", "list").split("\n")).toHaveLength(1);
  });

  it("flags a changed object of a team whose team.yaml is gone at head: deleting it cannot hide a hand edit", async () => {
    const dir = clone();
    git(dir, "rm", "--quiet", "cluster/team1/team.yaml");
    editFile(dir, "cluster/team1/network-policies.yaml", /(name: tenantry-default-deny\n(?:.*\n)*?spec:\n)/, "$1  egress:\n    - {}\n");
    git(dir, "commit", "--quiet", "-am", "let team1 out, quietly");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    const plan = JSON.parse(r.stdout) as { risks: { kind: string; objects: { object: string; reasons: string[] }[] }[] };
    expect(plan.risks.map((k) => k.kind)).toEqual(["network-loosened", "hand-edited"]);
    expect(plan.risks[1]?.objects).toEqual([
      { object: "NetworkPolicy/team1/tenantry-default-deny", reasons: ["cannot be compared with what create-team renders: cluster/team1/team.yaml is missing at head"] },
    ]);
  });

  it("compares an object by the overlay its file sits in: stripping the team label hides no hand edit", async () => {
    const dir = clone();
    editFile(dir, "cluster/team1/network-policies.yaml", /(name: tenantry-default-deny\n(?:.*\n)*?spec:\n)/, "$1  egress:\n    - {}\n");
    editFile(dir, "cluster/team1/network-policies.yaml", /(name: tenantry-default-deny\n(?:.*\n)*?) {4}tenantry\.dev\/team: team1\n/, "$1");
    git(dir, "commit", "--quiet", "-am", "let team1 out, unlabelled");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    const plan = JSON.parse(r.stdout) as { risks: { kind: string; objects: { object: string; reasons: string[] }[] }[] };
    expect(plan.risks.find((k) => k.kind === "hand-edited")?.objects.map((o) => o.object)).toEqual(["NetworkPolicy/team1/tenantry-default-deny"]);
  });

  it("an overlay that rewrites kustomize's origin annotation still owns what it builds", async () => {
    const dir = clone();
    writeFileSync(
      join(dir, "cluster/team1/hook.yaml"),
      [
        "apiVersion: admissionregistration.k8s.io/v1",
        "kind: MutatingWebhookConfiguration",
        "metadata:",
        "  name: team1-hook",
        "webhooks: []",
        "",
      ].join("\n"),
    );
    editFile(
      dir,
      "cluster/team1/kustomization.yaml",
      "  - sync.yaml\n",
      "  - sync.yaml\n  - hook.yaml\ncommonAnnotations:\n  config.kubernetes.io/origin: |\n    path: ../common/agent.yaml\n",
    );
    git(dir, "add", "-A");
    git(dir, "commit", "--quiet", "-m", "a hook that claims to be common's");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(3);
    const plan = JSON.parse(r.stdout) as { risks: { kind: string; objects: { object: string; reasons: string[] }[] }[]; changes: { object: string; file: string | null }[] };
    expect(plan.risks.find((k) => k.kind === "extension")?.objects).toEqual([
      { object: "MutatingWebhookConfiguration/team1-hook", reasons: ["team team1's overlay holds it beyond what create-team renders, undeclared (tenantry validate refuses it)"] },
    ]);
    expect(plan.changes.find((c) => c.object === "MutatingWebhookConfiguration/team1-hook")?.file).toBe("cluster/team1/kustomization.yaml");
  });

  it("builds the root when it is more than cluster/common + cluster/teams", async () => {
    const dir = clone();
    editFile(dir, "kustomization.yaml", "  - cluster/teams\n", "  - cluster/teams\ncommonAnnotations:\n  example.com/owner: platform\n");
    git(dir, "commit", "--quiet", "-am", "annotate everything");
    const r = await runCli(["plan", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"], { cwd: dir });
    // The GitSync CRD is among the objects that changed.
    expect(r.code, r.stderr).toBe(3);
    const plan = JSON.parse(r.stdout) as { summary: { changed: number; teamsAffected: string[] } };
    expect(plan.summary.changed).toBeGreaterThan(40);
    expect(plan.summary.teamsAffected).toEqual(["team1", "team2"]);
  });
});
