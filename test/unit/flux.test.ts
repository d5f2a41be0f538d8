// The tenancy rules for Flux objects (src/plan/flux.ts) and Flux's CRD schemas from the
// vendored release (src/validate/flux-schemas.ts). Objects are shaped as docs/engines.md pins
// a team's sync under the flux engine.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/model/object.js";
import { fluxTenancyFindings, kustomizationEscalations, pathClimbs, teamRepoFluxFindings } from "../../src/plan/flux.js";
import { FLUX_COMPONENTS, fluxDefinedBy, pinnedFluxCrds } from "../../src/validate/flux-schemas.js";
import { SchemaSet } from "../../src/validate/schemas.js";
import { packageRoot } from "../../src/paths.js";

const LABELS = { "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "team1" };

function kustomization(spec: Record<string, unknown> = {}, meta: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "team1", namespace: "team1", labels: LABELS, ...meta },
    spec: { serviceAccountName: "team1", sourceRef: { kind: "GitRepository", name: "team1" }, path: "./", targetNamespace: "team1", prune: true, interval: "1m", timeout: "3m", ...spec },
  };
}

function gitRepository(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "team1", namespace: "team1", labels: LABELS },
    spec: { url: "ssh://git@git.example.com/acme/team1.git", ref: { branch: "main" }, interval: "1m", timeout: "60s", secretRef: { name: "team1-deploy-key" }, ...spec },
  };
}

function without(o: KubeObject, field: string): KubeObject {
  const spec = Object.fromEntries(Object.entries(o.spec as Record<string, unknown>).filter(([k]) => k !== field));
  return { ...o, spec };
}

const rules = (o: KubeObject, team: string | null = "team1"): string[] => fluxTenancyFindings(o, { team }).map((f) => f.rule);

describe("fluxTenancyFindings", () => {
  it("passes the team sync as docs/engines.md pins it", () => {
    expect(rules(kustomization())).toEqual([]);
    expect(rules(gitRepository())).toEqual([]);
  });

  it("passes the admin sync: flux-system's Kustomization applies as kustomize-controller", () => {
    const admin = kustomization({ serviceAccountName: "kustomize-controller", targetNamespace: undefined, sourceRef: { kind: "GitRepository", name: "flux-system" } }, { name: "flux-system", namespace: "flux-system", labels: {} });
    expect(rules(admin, null)).toEqual([]);
  });

  it("refuses a Kustomization without serviceAccountName, naming who would apply it", () => {
    const f = fluxTenancyFindings(without(kustomization(), "serviceAccountName"), { team: "team1" });
    expect(f.map((x) => x.rule)).toEqual(["no-service-account"]);
    expect(f[0]?.message).toBe(
      "has no spec.serviceAccountName: kustomize-controller applies it as itself (cluster-admin), or as the default ServiceAccount of team1 where --default-service-account is set; set serviceAccountName: team1",
    );
    expect(rules(kustomization({ serviceAccountName: "" }))).toEqual(["no-service-account"]);
    // Outside a team overlay too: the admin repo's own Kustomizations name their account.
    expect(rules(without(kustomization({}, { namespace: "flux-system" }), "serviceAccountName"), null)).toEqual(["no-service-account"]);
  });

  it("refuses another account than the team's in a team overlay", () => {
    expect(rules(kustomization({ serviceAccountName: "kustomize-controller" }))).toEqual(["foreign-service-account"]);
    expect(rules(kustomization({ serviceAccountName: "default" }))).toEqual(["foreign-service-account"]);
  });

  it("refuses a source of another namespace; the own namespace spelled out is fine", () => {
    const f = fluxTenancyFindings(kustomization({ sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } }), { team: "team1" });
    expect(f.map((x) => x.rule)).toEqual(["cross-namespace-source"]);
    expect(f[0]?.message).toMatch(/^spec\.sourceRef names a source in namespace flux-system: .*--no-cross-namespace-refs/);
    expect(rules(kustomization({ sourceRef: { kind: "GitRepository", name: "team1", namespace: "team1" } }))).toEqual([]);
  });

  it("refuses spec.kubeConfig on either kind", () => {
    expect(rules(kustomization({ kubeConfig: { secretRef: { name: "prod" } } }))).toEqual(["remote-cluster"]);
    expect(rules(gitRepository({ kubeConfig: { secretRef: { name: "prod" } } }))).toEqual(["remote-cluster"]);
  });

  it("refuses a path that climbs with '..', and a target namespace other than the team's", () => {
    expect(rules(kustomization({ path: "./apps/../../team2" }))).toEqual(["path-escapes"]);
    expect(rules(kustomization({ path: "..\\x" }))).toEqual(["path-escapes"]);
    expect(rules(kustomization({ path: "./apps/..staging" }))).toEqual([]);
    expect(rules(kustomization({ targetNamespace: "team2" }))).toEqual(["foreign-target-namespace"]);
    expect(pathClimbs("..")).toBe(true);
    expect(pathClimbs("./a/b")).toBe(false);
  });

  it("says every problem of one object at once; non-Flux objects have none", () => {
    const bad = without(kustomization({ sourceRef: { kind: "GitRepository", name: "x", namespace: "team2" }, kubeConfig: { secretRef: { name: "k" } }, path: "../x" }), "serviceAccountName");
    expect(rules(bad)).toEqual(["remote-cluster", "no-service-account", "cross-namespace-source", "path-escapes"]);
    expect(rules({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "team1" } })).toEqual([]);
    // kustomize's own Kustomization (kustomize.config.k8s.io) is not Flux's.
    expect(rules({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", metadata: { name: "k" } })).toEqual([]);
  });
});

describe("teamRepoFluxFindings", () => {
  it("refuses any Flux object in a team repo, with its other problems", () => {
    expect(teamRepoFluxFindings(gitRepository(), "team1").map((f) => f.rule)).toEqual(["flux-in-team-repo"]);
    expect(teamRepoFluxFindings(without(kustomization(), "serviceAccountName"), "team1").map((f) => f.rule)).toEqual(["flux-in-team-repo", "no-service-account"]);
    expect(teamRepoFluxFindings(gitRepository(), "team1")[0]?.message).toMatch(/^a team repo may not hold Flux objects: .*cluster\/team1\/sync\.yaml/);
    expect(teamRepoFluxFindings({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } }, "team1")).toEqual([]);
  });
});

describe("kustomizationEscalations", () => {
  it("flags losing serviceAccountName, and a new Kustomization without one", () => {
    expect(kustomizationEscalations(kustomization(), without(kustomization(), "serviceAccountName"))).toEqual([
      "loses serviceAccountName team1: kustomize-controller applies it as itself (cluster-admin), or as team1/default under --default-service-account",
    ]);
    expect(kustomizationEscalations(null, without(kustomization(), "serviceAccountName"))).toEqual([
      "has no serviceAccountName: kustomize-controller applies it as itself (cluster-admin), or as team1/default under --default-service-account",
    ]);
  });

  it("flags another account, and kustomize-controller's anywhere but the admin sync", () => {
    expect(kustomizationEscalations(kustomization(), kustomization({ serviceAccountName: "deployer" }))).toEqual(["serviceAccountName team1 → deployer: it applies with team1/deployer's rights"]);
    expect(kustomizationEscalations(null, kustomization({ serviceAccountName: "kustomize-controller" }, { namespace: "flux-system", name: "tools" }))).toEqual([
      "applies as ServiceAccount flux-system/kustomize-controller, kustomize-controller's own (cluster-admin): only the admin sync flux-system/flux-system applies with cluster scope",
    ]);
    expect(kustomizationEscalations(null, kustomization({ serviceAccountName: "kustomize-controller" }, { namespace: "flux-system", name: "flux-system" }))).toEqual([]);
  });

  it("flags any other account of a system namespace (source-controller reads every Secret; kube-system's controllers), in plan and in validate", () => {
    const evil = kustomization({ serviceAccountName: "source-controller", targetNamespace: undefined }, { namespace: "flux-system", name: "evil" });
    const kube = kustomization({ serviceAccountName: "clusterrole-aggregation-controller", targetNamespace: undefined }, { namespace: "kube-system", name: "evil" });
    for (const k of [evil, kube]) {
      const [reason] = kustomizationEscalations(null, k);
      expect(reason).toMatch(/^applies as ServiceAccount (flux-system\/source-controller|kube-system\/clusterrole-aggregation-controller), a system namespace's account/);
      expect(fluxTenancyFindings(k, { team: null }).map((f) => f.rule)).toContain("system-service-account");
    }
    // Unchanged, it is no news to plan; validate still says it.
    expect(kustomizationEscalations(evil, evil)).toEqual([]);
    const admin = kustomization({ serviceAccountName: "kustomize-controller", targetNamespace: undefined }, { namespace: "flux-system", name: "flux-system" });
    expect(fluxTenancyFindings(admin, { team: null })).toEqual([]);
  });

  it("flags gaining a cross-namespace source, a kubeConfig, a climbing path; an unchanged one is no news", () => {
    const cross = kustomization({ sourceRef: { kind: "GitRepository", name: "flux-system", namespace: "flux-system" } });
    expect(kustomizationEscalations(kustomization(), cross)).toEqual(["reads its source from namespace flux-system (spec.sourceRef.namespace): another namespace's repo decides what it applies"]);
    expect(kustomizationEscalations(cross, { ...cross, metadata: { ...cross.metadata, annotations: { a: "b" } } })).toEqual([]);
    expect(kustomizationEscalations(kustomization(), kustomization({ kubeConfig: { secretRef: { name: "prod" } } }))).toEqual(["gains spec.kubeConfig: it applies to another cluster, as that kubeconfig's identity"]);
    expect(kustomizationEscalations(kustomization(), kustomization({ path: "../admin" }))).toEqual(['spec.path "../admin" climbs with ".."']);
    expect(kustomizationEscalations(kustomization(), kustomization({ interval: "5m" }))).toEqual([]);
    expect(kustomizationEscalations(null, gitRepository())).toEqual([]);
  });
});

describe("Flux CRD schemas from the vendored release", () => {
  const vendored = join(packageRoot, FLUX_COMPONENTS);

  it(`${FLUX_COMPONENTS} holds the CRDs of source-controller and kustomize-controller`, () => {
    expect(existsSync(vendored)).toBe(true);
    const names = pinnedFluxCrds().map((c) => c.metadata.name);
    expect(names).toContain("gitrepositories.source.toolkit.fluxcd.io");
    expect(names).toContain("kustomizations.kustomize.toolkit.fluxcd.io");
  });

  function schemas(): SchemaSet {
    const s = new SchemaSet();
    expect(s.addDefinitions(pinnedFluxCrds(), fluxDefinedBy)).toEqual([]);
    return s;
  }

  it("knows GitRepository v1 and Kustomization v1 as namespaced, and the team sync is valid", () => {
    const s = schemas();
    for (const o of [kustomization(), gitRepository()]) {
      expect(s.knows(o)).toBe(true);
      expect(s.scopeOf(o)).toBe("namespaced");
      expect(s.problems(o)).toEqual([]);
    }
  });

  it("names a typo'd field and a wrong type", () => {
    const s = schemas();
    expect(s.problems(kustomization({ serviceAccount: "team1" }))).toEqual(['spec: unknown field "serviceAccount"']);
    expect(s.problems(kustomization({ prune: "yes" }))).toEqual(["spec.prune: must be boolean"]);
    expect(s.problems(gitRepository({ ref: { branch: 1 } }))).toEqual(["spec.ref.branch: must be string"]);
    expect(s.problems(without(kustomization(), "sourceRef"))).toEqual(['spec: missing field "sourceRef"']);
    // Flux takes ssh:// and http(s):// URLs only: the CRD's pattern says so.
    expect(s.problems(gitRepository({ url: "git@github.com:acme/team1.git" }))).toEqual(["spec.url: must match ^(http|https|ssh)://.*$"]);
  });
});
