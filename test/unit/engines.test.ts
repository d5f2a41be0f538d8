// The engines' rendering side (issue 18), pure: spec.engine parses (absent = tenantry), Flux URLs
// are ssh:// or http(s)://, each engine renders exactly its own admin-repo files, the admin
// sync's names and the lockdown flags are the ones src/engines exports, a team overlay under
// Flux is the pinned GitRepository + Kustomization with a prune-disabled Namespace and nothing of
// tenantry's agent, `engine set` edits only tenantry.yaml's engine line, and delete-team's
// released Namespace loses exactly the prune annotation.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import {
  adminSync,
  engineOnlyPaths,
  FLUX_COMPONENTS_FILE,
  FLUX_LOCKDOWN_FLAGS,
  FLUX_PRUNE_ANNOTATION,
  fluxUrlProblems,
  withEngineFiles,
} from "../../src/engines/engines.js";
import { releasedNamespace, releasedNamespacePath, releasedNamespaceTeam } from "../../src/engines/flux-deletion.js";
import { setEngineText } from "../../src/generate/engine.js";
import { renderInit } from "../../src/generate/init.js";
import { type ClusterConfig, parseClusterConfig } from "../../src/model/cluster-config.js";
import { resolveTeamSpec } from "../../src/model/team-spec.js";
import { renderTeamOverlay } from "../../src/render/repos.js";
import { loadTemplateDir } from "../../src/repo/templates.js";
import { packageRoot } from "../../src/paths.js";

const t = {
  partials: loadTemplateDir(join(packageRoot, "templates"), true),
  cluster: loadTemplateDir(join(packageRoot, "cluster-template")),
  overlay: loadTemplateDir(join(packageRoot, "team-template", "overlay")),
};
const versions = { tenantry: "0.0.0-test", kustomize: "v5.0.0", gatekeeper: "v3.0.0" };
const COMPONENTS = "# stand-in for vendor/flux/gotk-components.yaml\n---\nkind: Namespace\n   odd:   spacing  # kept verbatim\n";

function init(engine: "tenantry" | "flux", gitUrl = "ssh://git@git.example.com/acme/admin.git"): { tree: Map<string, string>; config: ClusterConfig } {
  return renderInit(t, { clusterName: "prod", gitUrl, policyEngine: "both", engine }, versions, engine === "flux" ? COMPONENTS : null);
}

const docs = (text: string | undefined): Record<string, unknown>[] => parseAllDocuments(text ?? "").map((d) => d.toJS() as Record<string, unknown>);

describe("spec.engine in tenantry.yaml", () => {
  it("defaults to tenantry when absent, so older repos parse", () => {
    const text = init("tenantry").tree.get("tenantry.yaml") ?? "";
    const old = text.replace(/^ {2}engine: tenantry\n/m, "");
    expect(old).not.toContain("engine:");
    expect(parseClusterConfig(old).engine).toBe("tenantry");
    expect(parseClusterConfig(text).engine).toBe("tenantry");
    expect(parseClusterConfig(setEngineText(text, "flux")).engine).toBe("flux");
  });

  it("refuses an unknown engine and, under flux, an scp-like admin URL naming the ssh:// fix", () => {
    const text = init("tenantry", "git@github.com:acme/admin.git").tree.get("tenantry.yaml") ?? "";
    expect(() => parseClusterConfig(text.replace("engine: tenantry", "engine: argo"))).toThrow(/engine/);
    expect(() => parseClusterConfig(setEngineText(text, "flux"))).toThrow(/spec\.gitUrl "git@github\.com:acme\/admin\.git": Flux fetches only ssh:\/\/ and http\(s\):\/\/ URLs; write it as ssh:\/\/git@github\.com\/acme\/admin\.git/);
  });

  it("Flux URLs: ssh:// and http(s):// pass; scp-like and file:// do not", () => {
    for (const ok of ["ssh://git@h/x.git", "https://h/x.git", "http://127.0.0.1:8080/x.git"]) expect(fluxUrlProblems("u", ok)).toEqual([]);
    expect(fluxUrlProblems("--repo-url", "git@h:org/x.git")).toEqual(['--repo-url "git@h:org/x.git": Flux fetches only ssh:// and http(s):// URLs; write it as ssh://git@h/org/x.git']);
    expect(fluxUrlProblems("u", "file:///srv/x.git")).toHaveLength(1);
  });
});

describe("setEngineText", () => {
  it("changes the engine's value and no other byte", () => {
    const text = init("tenantry").tree.get("tenantry.yaml") ?? "";
    const flux = setEngineText(text, "flux");
    expect(flux.replace("engine: flux", "engine: tenantry")).toBe(text);
    expect(setEngineText(flux, "tenantry")).toBe(text);
  });

  it("adds the key right after spec: when absent", () => {
    const text = "apiVersion: tenantry.dev/v1alpha1\nkind: ClusterConfig\nmetadata:\n  name: a\nspec:\n  # comment\n  policyEngine: vap\n";
    expect(setEngineText(text, "flux")).toBe("apiVersion: tenantry.dev/v1alpha1\nkind: ClusterConfig\nmetadata:\n  name: a\nspec:\n  engine: flux\n  # comment\n  policyEngine: vap\n");
  });
});

describe("the admin repo per engine", () => {
  const tenantry = init("tenantry").tree;
  const flux = init("flux").tree;

  it("renders each engine's own files only", () => {
    for (const p of engineOnlyPaths("tenantry")) {
      expect(tenantry.has(p), p).toBe(true);
      expect(flux.has(p), p).toBe(false);
    }
    expect([...flux.keys()].filter((p) => p.startsWith("cluster/common/flux-system/"))).toEqual([
      "cluster/common/flux-system/gotk-components.yaml",
      "cluster/common/flux-system/gotk-sync.yaml",
      "cluster/common/flux-system/kustomization.yaml",
      "cluster/common/flux-system/network-policies.yaml",
    ]);
    expect([...tenantry.keys()].some((p) => p.includes("flux-system"))).toBe(false);
    // Nothing in cluster/common names the agent under flux.
    for (const [p, text] of flux) if (p.startsWith("cluster/common/") && p !== FLUX_COMPONENTS_FILE) expect(text.replace(/#.*$/gm, ""), p).not.toMatch(/tenantry-agent|agent-identity|gitsyncs|kind: GitSync/);
  });

  it("copies the vendored components verbatim", () => {
    expect(flux.get(FLUX_COMPONENTS_FILE)).toBe(COMPONENTS);
    expect(() => withEngineFiles(new Map(), "flux", null)).toThrow(/Flux components/);
  });

  it("syncs the admin repo with the exported names, as kustomize-controller, carrying the admin-owned marker", () => {
    const [repo, ks] = docs(flux.get("cluster/common/flux-system/gotk-sync.yaml"));
    const names = adminSync("flux");
    expect(names).toMatchObject({ namespace: "flux-system", secretName: "flux-system" });
    expect(adminSync("tenantry")).toMatchObject({ namespace: "tenantry-system", secretName: "admin-deploy-key" });
    expect([repo, ks].map((o) => ({ apiVersion: o?.apiVersion, kind: o?.kind, ...(o?.metadata as object) }))).toMatchObject(
      names.objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name })),
    );
    expect(repo?.spec).toEqual({ url: "ssh://git@git.example.com/acme/admin.git", ref: { branch: "main" }, interval: "1m", timeout: "60s", secretRef: { name: names.secretName } });
    expect(ks?.spec).toMatchObject({ serviceAccountName: "kustomize-controller", sourceRef: { kind: "GitRepository", name: "flux-system" }, path: "./", prune: true });
    expect((ks?.spec as { commonMetadata: unknown }).commonMetadata).toEqual({ labels: { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/sync-namespace": "tenantry-system", "tenantry.dev/sync-name": "admin" } });
  });

  it("patches exactly the exported lockdown flags onto the controllers", () => {
    const k = parse(flux.get("cluster/common/flux-system/kustomization.yaml") ?? "") as { resources: string[]; patches: { patch: string; target: { kind: string; name: string } }[] };
    expect(k.resources).toEqual(["gotk-components.yaml", "network-policies.yaml", "gotk-sync.yaml"]);
    const patched = k.patches.map((p) => {
      const ops = parse(p.patch) as { op: string; path: string; value: string }[];
      expect(ops).toHaveLength(1);
      expect(ops[0]).toMatchObject({ op: "add", path: "/spec/template/spec/containers/0/args/-" });
      expect(p.target.kind).toBe("Deployment");
      return [p.target.name, ops[0]?.value];
    });
    expect(patched).toEqual(Object.entries(FLUX_LOCKDOWN_FLAGS).flatMap(([d, flags]) => flags.map((f) => [d, f])));
    expect(FLUX_LOCKDOWN_FLAGS["kustomize-controller"]).toEqual(["--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=default"]);
    // The controllers the flux tests run (scripts/local-cluster.sh --with-flux) get exactly these flags.
    const script = readFileSync(join(import.meta.dirname, "..", "..", "scripts", "local-cluster.sh"), "utf8");
    const local = /^flux_lockdown=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/);
    expect(local).toEqual(FLUX_LOCKDOWN_FLAGS["kustomize-controller"]);
    expect(FLUX_LOCKDOWN_FLAGS["source-controller"]).toEqual([]);
  });

  it("without a git URL: the components and lockdown, no admin sync", () => {
    const tree = renderInit(t, { clusterName: "prod", policyEngine: "vap", engine: "flux" }, versions, COMPONENTS).tree;
    expect(tree.has("cluster/common/flux-system/gotk-sync.yaml")).toBe(false);
    expect((parse(tree.get("cluster/common/flux-system/kustomization.yaml") ?? "") as { resources: string[] }).resources).toEqual(["gotk-components.yaml", "network-policies.yaml"]);
  });

  it("closes flux-system to other namespaces: the artifact server to its own pods, metrics to metrics-reader namespaces", () => {
    const tree = renderInit(t, { clusterName: "prod", policyEngine: "vap", engine: "flux" }, versions, COMPONENTS).tree;
    const policies = docs(tree.get("cluster/common/flux-system/network-policies.yaml")) as { metadata: { name: string; namespace: string }; spec: unknown }[];
    expect(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(["flux-system/tenantry-flux-same-namespace", "flux-system/tenantry-flux-metrics"]);
    expect(policies[0]?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] });
    expect(policies[1]?.spec).toEqual({
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "tenantry.dev/metrics-reader": "true" } } }], ports: [{ port: 8080, protocol: "TCP" }] }],
    });
    // The vendored components bring none of their own that could open it again.
    expect(readFileSync(join(import.meta.dirname, "..", "..", "vendor", "flux", "gotk-components.yaml"), "utf8")).not.toMatch(/^kind: NetworkPolicy$/m);
  });
});

describe("a team overlay under flux", () => {
  const { config } = init("flux");
  const spec = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git", interval: "2m", nodePool: "tenantry.dev/pool=web" }, null, config);
  const overlay = renderTeamOverlay(t, config, spec, versions);
  const objects = [...overlay].filter(([p]) => !p.endsWith("team.yaml") && !p.endsWith("kustomization.yaml")).flatMap(([, text]) => docs(text));

  it("syncs with the pinned GitRepository and Kustomization, as the team", () => {
    const [repo, ks] = docs(overlay.get("cluster/web/sync.yaml"));
    const labels = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "web" };
    expect(repo).toEqual({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "web", namespace: "web", labels },
      spec: { url: "ssh://git@git.example.com/acme/web.git", ref: { branch: "main" }, interval: "2m", timeout: "60s", secretRef: { name: "web-deploy-key" } },
    });
    expect(ks).toEqual({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "web", namespace: "web", labels },
      spec: { serviceAccountName: "web", sourceRef: { kind: "GitRepository", name: "web" }, path: "./", targetNamespace: "web", prune: true, deletionPolicy: "Orphan", interval: "2m", timeout: "3m" },
    });
  });

  it("keeps the Namespace from pruning, and nothing of tenantry's agent remains", () => {
    const ns = objects.find((o) => o.kind === "Namespace") as { metadata: { annotations: Record<string, string> } };
    expect(ns.metadata.annotations).toEqual({ [FLUX_PRUNE_ANNOTATION]: "disabled", "scheduler.alpha.kubernetes.io/node-selector": "tenantry.dev/pool=web" });
    const names = objects.map((o) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`);
    expect(names).not.toContain("GitSync/web");
    expect(names).not.toContain("Deployment/tenantry-agent");
    expect(names).not.toContain("RoleBinding/tenantry:team-agent");
    expect(names).not.toContain("NetworkPolicy/tenantry-allow-agent-egress");
    expect(names).not.toContain("TenantryAgentIdentity/web-agent-id");
    expect(JSON.stringify(objects)).not.toContain("ghcr.io/tenantry-dev/tenantry");
  });

  it("is the tenantry overlay but for the sync objects (the tenancy is the same)", () => {
    const tenantry = renderTeamOverlay(t, { ...config, engine: "tenantry" }, spec, versions);
    for (const f of ["quota.yaml", "limitrange.yaml", "kustomization.yaml", "team.yaml"]) expect(overlay.get(`cluster/web/${f}`), f).toBe(tenantry.get(`cluster/web/${f}`));
  });
});

describe("delete-team's released Namespace", () => {
  it("is the team's Namespace without the prune annotation, other annotations kept", () => {
    const { config } = init("flux");
    for (const nodePool of [undefined, "tenantry.dev/pool=web"]) {
      const spec = resolveTeamSpec("web", { repoUrl: "ssh://git@h/web.git", nodePool }, null, config);
      const text = renderTeamOverlay(t, config, spec, versions).get("cluster/web/namespace.yaml") ?? "";
      const released = docs(releasedNamespace(text, "web", "cluster/web/namespace.yaml"));
      const original = docs(text)[0] as { metadata: { annotations: Record<string, string> } };
      const kept = Object.fromEntries(Object.entries(original.metadata.annotations).filter(([k]) => k !== FLUX_PRUNE_ANNOTATION));
      expect(released).toEqual([{ ...original, metadata: { ...original.metadata, annotations: Object.keys(kept).length === 0 ? undefined : kept } }].map((o) => JSON.parse(JSON.stringify(o)) as unknown));
    }
    expect(releasedNamespacePath("web")).toBe("cluster/teams/tombstones/namespace-web.yaml");
    expect(releasedNamespaceTeam("namespace-web.yaml")).toBe("web");
    expect(releasedNamespaceTeam("tombstones.yaml")).toBe(null);
  });
});
