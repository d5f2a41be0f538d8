// The overlay of a team on its own control plane (issue 19), pure: ControlPlane + PostCreateHook
// + GitSync in tenantry-system and nothing else on the host; the hook's templates, rendered with
// Go-template vars the way KubeFlex does, are valid objects in <team>-system whose baseline is
// what a namespace team gets on the host; the kubectl image follows tools/versions.env; a
// namespace team's overlay is unchanged by the new templates.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { renderInit } from "../../src/generate/init.js";
import { resolveTeamSpec, parseTeamSpec, formatTeamSpec } from "../../src/model/team-spec.js";
import { KUBECTL_IMAGE } from "../../src/render/context.js";
import { renderTeamOverlay } from "../../src/render/repos.js";
import { packageRoot } from "../../src/paths.js";
import { templateSets, testConfig, testVersions } from "../helpers/render.js";

const t = templateSets;
const versions = testVersions;
const config = testConfig;

type Obj = Record<string, unknown> & { kind: string; apiVersion: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

function docs(text: string | undefined): Obj[] {
  return parseAllDocuments(text ?? "").map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

function objectsOf(tree: ReadonlyMap<string, string>): Obj[] {
  return [...tree].filter(([p]) => !p.endsWith("/team.yaml") && !p.endsWith("/kustomization.yaml")).flatMap(([, text]) => docs(text));
}

/** What KubeFlex does with a template (util.RenderYAML): Go's text/template over its JSON, vars substituted. */
function goRender(template: unknown, vars: Record<string, string>): unknown {
  const json = JSON.stringify(template).replace(/\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`no var ${name}`);
    return v;
  });
  expect(json, "every action is a plain variable KubeFlex sets").not.toContain("{{");
  return JSON.parse(json);
}

const labels = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "web" };
const cpSpec = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git", tier: "medium", isolation: "controlplane" }, null, config);
const overlay = renderTeamOverlay(t, config, cpSpec, versions);
const objects = objectsOf(overlay);

describe("a controlplane team's overlay", () => {
  it("holds the ControlPlane, its baseline hook and the GitSync in tenantry-system, and nothing else", () => {
    expect([...overlay.keys()]).toEqual(["cluster/web/baseline-hook.yaml", "cluster/web/controlplane.yaml", "cluster/web/kustomization.yaml", "cluster/web/sync.yaml", "cluster/web/team.yaml"]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`)).toEqual(["PostCreateHook//web-baseline", "ControlPlane//web", "GitSync/tenantry-system/web"]);
    for (const o of objects) expect(o.metadata.labels).toEqual(labels);
    expect(parse(overlay.get("cluster/web/kustomization.yaml") ?? "")).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["controlplane.yaml", "baseline-hook.yaml", "sync.yaml"],
    });
  });

  it("asks KubeFlex for the team's control plane, held not-ready until the baseline is laid", () => {
    const cp = objects.find((o) => o.kind === "ControlPlane");
    expect(cp).toEqual({
      apiVersion: "tenancy.kflex.kubestellar.org/v1alpha1",
      kind: "ControlPlane",
      metadata: { name: "web", labels },
      spec: { type: "k8s", backend: "shared", postCreateHooks: [{ hookName: "web-baseline", vars: { team: "web" } }], waitForPostCreateHooks: true },
    });
  });

  it("syncs the team's repo into its own API server as its ServiceAccount there", () => {
    const gs = objects.find((o) => o.kind === "GitSync");
    expect(gs).toEqual({
      apiVersion: "tenantry.dev/v1alpha1",
      kind: "GitSync",
      metadata: { name: "web", namespace: "tenantry-system", labels },
      spec: {
        url: "ssh://git@git.example.com/acme/web.git",
        ref: { branch: "main" },
        path: "./",
        interval: "1m",
        timeout: "3m",
        prune: true,
        serviceAccountName: "web",
        targetNamespace: "web",
        secretRef: { name: "web-deploy-key" },
        kubeConfig: { secretRef: { name: "admin-kubeconfig", namespace: "web-system", key: "kubeconfig-incluster" } },
      },
    });
  });

  describe("the PostCreateHook, rendered as KubeFlex renders it", () => {
    const hook = objects.find((o) => o.kind === "PostCreateHook") as Obj & { spec: { templates: unknown[] } };
    const vars = { Namespace: "web-system", ControlPlaneName: "web", HookName: "web-baseline", team: "web" };
    const rendered = hook.spec.templates.map((tpl) => goRender(tpl, vars) as Obj);

    it("says KubeFlex's Go-template variables as they are (Handlebars leaves them alone)", () => {
      expect(overlay.get("cluster/web/baseline-hook.yaml")).toContain("({{.Namespace}} is web-system, {{.ControlPlaneName}} is");
    });

    it("is a ConfigMap and a Job with no namespace of their own: KubeFlex applies namespaced templates into <team>-system", () => {
      // The API server validates each template's metadata (x-kubernetes-embedded-resource): a
      // "{{.Namespace}}" there is refused as not a DNS label, found on the real API server.
      expect(rendered.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`)).toEqual(["v1 ConfigMap /web-baseline", "batch/v1 Job /web-baseline"]);
    });

    it("runs kubectl apply of the baseline in the team's API server, pinned and restricted", () => {
      const job = rendered[1] as Obj & { spec: { backoffLimit: number; template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[]; volumes: unknown[] } } } };
      const pod = job.spec.template.spec;
      expect(job.spec.backoffLimit).toBeGreaterThan(0);
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod.automountServiceAccountToken).toBe(false);
      const [c] = pod.containers;
      expect(c?.image).toBe(KUBECTL_IMAGE);
      expect(c?.command).toEqual(["kubectl", "apply", "--server-side", "--field-manager=tenantry-baseline", "-f", "/baseline/baseline.yaml"]);
      expect(c?.env).toContainEqual({ name: "KUBECONFIG", value: "/kubeconfig/kubeconfig-incluster" });
      expect(c?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod.volumes).toContainEqual({ name: "kubeconfig", secret: { secretName: "admin-kubeconfig", items: [{ key: "kubeconfig-incluster", path: "kubeconfig-incluster" }] } });
      expect(pod.volumes).toContainEqual({ name: "baseline", configMap: { name: "web-baseline" } });
    });

    it("carries the baseline a namespace team gets on the host, without the host's agent", () => {
      const cm = rendered[0] as Obj & { data: Record<string, string> };
      const baseline = docs(cm.data["baseline.yaml"]);
      expect(baseline.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`)).toEqual([
        "Namespace//web",
        "ClusterRole//tenantry:team-admin",
        "ServiceAccount/web/web",
        "RoleBinding/web/tenantry:team-admin",
        "ResourceQuota/web/tenantry-quota",
        "LimitRange/web/tenantry-limits",
        "NetworkPolicy/web/tenantry-default-deny",
        "NetworkPolicy/web/tenantry-allow-same-namespace",
        "NetworkPolicy/web/tenantry-allow-dns",
      ]);
      // The same objects a namespace team of the same options gets on the host.
      const host = objectsOf(renderTeamOverlay(t, config, { ...cpSpec, isolation: "namespace", controlPlane: null }, versions));
      const hostRole = docs(renderTreeOf("cluster/common/rbac.yaml")).find((o) => o.metadata.name === "tenantry:team-admin");
      for (const o of baseline) {
        const same = o.kind === "ClusterRole" ? hostRole : host.find((h) => h.kind === o.kind && h.metadata.name === o.metadata.name && h.metadata.namespace === o.metadata.namespace);
        expect(o, `${o.kind}/${o.metadata.name}`).toEqual(same);
      }
      const ns = baseline[0] as Obj;
      expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    });
  });

  it("for type external, adopts the admin's cluster by KubeFlex's bootstrap Secret", () => {
    const spec = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git", isolation: "controlplane", controlPlaneType: "external" }, null, config);
    const cp = objectsOf(renderTeamOverlay(t, config, spec, versions)).find((o) => o.kind === "ControlPlane") as Obj & { spec: Record<string, unknown> };
    expect(cp.spec).toEqual({
      type: "external",
      bootstrapSecretRef: { name: "web-bootstrap", namespace: "tenantry-system", inClusterKey: "kubeconfig-incluster" },
      postCreateHooks: [{ hookName: "web-baseline", vars: { team: "web" } }],
      waitForPostCreateHooks: true,
    });
  });

  it("renders nothing on the host's network when only namespace templates are asked for (plan's network model)", () => {
    const only = { ...t, overlay: new Map([...t.overlay].filter(([p]) => ["namespace.yaml", "network-policies.yaml", "sync.yaml"].some((f) => p.startsWith(f)))) };
    expect([...renderTeamOverlay(only, config, cpSpec, versions).keys()]).toEqual(["cluster/web/team.yaml"]);
  });

  it("keeps extensions.yaml in its kustomization while extensions are declared", () => {
    const spec = { ...cpSpec, extensions: ["ConfigMap/tenantry-system/web-extra"] };
    expect(parse(renderTeamOverlay(t, config, spec, versions).get("cluster/web/kustomization.yaml") ?? "")).toMatchObject({ resources: ["controlplane.yaml", "baseline-hook.yaml", "sync.yaml", "extensions.yaml"] });
  });
});

function renderTreeOf(path: string): string {
  return renderInit(t, { clusterName: "prod", gitUrl: "ssh://git@git.example.com/acme/admin.git", policyEngine: "both", engine: "tenantry" }, versions, null).tree.get(path) ?? "";
}

describe("team.yaml with isolation", () => {
  it("round-trips a controlplane team, and a namespace team's file has no isolation keys", () => {
    const text = formatTeamSpec(cpSpec);
    expect(text).toContain("isolation: controlplane");
    expect(parseTeamSpec(text, "cluster/web/team.yaml")).toEqual(cpSpec);
    expect(overlay.get("cluster/web/team.yaml")).toBe(text);
    const ns = resolveTeamSpec("web", { repoUrl: "ssh://git@git.example.com/acme/web.git" }, null, config);
    const nsText = formatTeamSpec(ns);
    expect(nsText).not.toMatch(/isolation|controlPlane/);
    expect(parseTeamSpec(nsText, "cluster/web/team.yaml")).toEqual(ns);
  });

  it("changes isolation both ways, keeping the team's other options", () => {
    const back = resolveTeamSpec("web", { isolation: "namespace" }, cpSpec, config);
    expect(back).toEqual({ ...cpSpec, isolation: "namespace", controlPlane: null });
    const again = resolveTeamSpec("web", { isolation: "controlplane", backend: "dedicated" }, back, config);
    expect(again).toEqual({ ...cpSpec, controlPlane: { type: "k8s", backend: "dedicated" } });
    // Keeps the control plane options of a controlplane team when none is given.
    expect(resolveTeamSpec("web", { tier: "large" }, again, config).controlPlane).toEqual({ type: "k8s", backend: "dedicated" });
  });
});

describe("the kubectl image", () => {
  it("is the Kubernetes release tools/versions.env pins", () => {
    const pinned = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(packageRoot, "tools", "versions.env"), "utf8"))?.[1];
    expect(KUBECTL_IMAGE).toBe(`registry.k8s.io/kubectl:${pinned ?? "?"}`);
  });
});
