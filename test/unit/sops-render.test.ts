// A team with age recipients (`tenantry secrets init`), rendered purely: under both engines the
// team's sync decrypts with Secret <team>-sops-age (GitSync and Flux Kustomization alike, the
// same field Flux reads), age.pub holds the recipients, team.yaml keeps them, and a team
// without any renders as before. Bad recipients are refused by the spec's checks.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { renderInit } from "../../src/generate/init.js";
import { parseTeamSpec, resolveTeamSpec } from "../../src/model/team-spec.js";
import { renderTeamOverlay, renderTeamRepo } from "../../src/render/repos.js";
import { sopsConfigText } from "../../src/secrets/sops-config.js";
import { loadTemplateDir } from "../../src/repo/templates.js";
import { packageRoot } from "../../src/paths.js";

const t = {
  partials: loadTemplateDir(join(packageRoot, "templates"), true),
  cluster: loadTemplateDir(join(packageRoot, "cluster-template")),
  overlay: loadTemplateDir(join(packageRoot, "team-template", "overlay")),
};
const versions = { tenantry: "0.0.0-test", kustomize: "v5.0.0", gatekeeper: "v3.0.0" };
const R1 = "age1s5z0kds9eksx7kga9rtjd53rpgs9zpz248euyv5jf9pdj3nrwu2sfkv9s3";
const R2 = "age17pxxvy7l809m855guytygjw753q0wsty69ph4tv4jfs6zkly75vsh7v60f";

function overlay(engine: "tenantry" | "flux", ageRecipients: string[]): Map<string, string> {
  const { config } = renderInit(t, { clusterName: "prod", gitUrl: "ssh://git@git.example.com/acme/admin.git", policyEngine: "both", engine }, versions, engine === "flux" ? "# components\n" : null);
  const spec = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git", ageRecipients }, null, config);
  return new Map(renderTeamOverlay(t, config, spec, versions));
}

const syncObject = (tree: Map<string, string>, kind: string): Record<string, unknown> | undefined =>
  parseAllDocuments(tree.get("cluster/web/sync.yaml") ?? "")
    .map((d) => d.toJS() as { kind?: string; spec?: Record<string, unknown> })
    .find((o) => o.kind === kind)?.spec;

describe("a team with age recipients", () => {
  it.each([
    ["tenantry", "GitSync"],
    ["flux", "Kustomization"],
  ] as const)("under %s, its %s decrypts with Secret web-sops-age; age.pub lists the recipients; team.yaml keeps them", (engine, kind) => {
    const tree = overlay(engine, [R1, R2]);
    expect(syncObject(tree, kind)?.decryption).toEqual({ provider: "sops", secretRef: { name: "web-sops-age" } });
    const pub = tree.get("cluster/web/age.pub") ?? "";
    expect(pub.split("\n").filter((l) => l.startsWith("age1"))).toEqual([R1, R2]);
    expect(pub).not.toContain("AGE-SECRET-KEY");
    expect(parseTeamSpec(tree.get("cluster/web/team.yaml") ?? "", "team.yaml").ageRecipients).toEqual([R1, R2]);
  });

  it.each([["tenantry"], ["flux"]] as const)("under %s, a team without recipients has no decryption and no age.pub", (engine) => {
    const tree = overlay(engine, []);
    expect(tree.get("cluster/web/sync.yaml")).not.toContain("decryption");
    expect(tree.has("cluster/web/age.pub")).toBe(false);
    expect(tree.get("cluster/web/team.yaml")).not.toContain("ageRecipients");
  });

  it("tenantry.yaml spec.allowPlainSecrets reaches the team's GitSync; absent, the GitSync refuses plain Secrets", () => {
    const { config } = renderInit(t, { clusterName: "prod", gitUrl: "ssh://git@git.example.com/acme/admin.git", policyEngine: "both", engine: "tenantry" }, versions, null);
    const spec = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git" }, null, config);
    const gitSyncOf = (c: typeof config) => syncObject(new Map(renderTeamOverlay(t, c, spec, versions)), "GitSync");
    expect(gitSyncOf(config)?.allowPlainSecrets).toBeUndefined();
    expect(gitSyncOf({ ...config, allowPlainSecrets: true })?.allowPlainSecrets).toBe(true);
  });

  it("the team repo's workflow validates with the SOPS-reading build service and, on a pull request, names the secret values the change touched", () => {
    const { config } = renderInit(t, { clusterName: "prod", gitUrl: "ssh://git@git.example.com/acme/admin.git", policyEngine: "both", engine: "tenantry" }, versions, null);
    const spec = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git" }, null, config);
    const repo = renderTeamRepo({ partials: t.partials, teamRepo: loadTemplateDir(join(packageRoot, "team-template", "repo")) }, config, spec, versions);
    const workflow = repo.get(".github/workflows/validate.yaml") ?? "";
    expect(workflow).toContain('install-tools.sh" build build-sops\n');
    expect(workflow).toContain('run: tenantry validate --team web . --base "origin/${{ github.base_ref }}"\n');
    expect(workflow).toContain("fetch-depth: 0");
  });

  it("refuses what is not an age recipient, and one listed twice", () => {
    expect(() => overlay("tenantry", ["ssh-ed25519 AAAA"])).toThrow(/age recipient "ssh-ed25519 AAAA" is not an age public key/);
    expect(() => overlay("tenantry", [R1, R1])).toThrow(/lists an age recipient twice/);
  });

  it(".sops.yaml encrypts a manifest's data and stringData and any other file whole, for every recipient", () => {
    const text = sopsConfigText("web", [R1, R2]);
    const rules = (parseAllDocuments(text)[0]?.toJS() as { creation_rules: Record<string, string>[] }).creation_rules;
    expect(rules).toEqual([
      { path_regex: "\\.ya?ml$", encrypted_regex: "^(data|stringData)$", age: `${R1},${R2}` },
      { age: `${R1},${R2}` },
    ]);
  });
});
