// App templates (issue 20), pure: template.yaml parsed with every problem named, --set values
// checked against the template's schema all at once (unknown keys, types, bounds, required),
// the instance's kustomization (typed JSON patches, its namespace and labels), and the quota:
// an instance takes its template's quota out of the tier and the rest is split among the
// team's other namespaces, never more than the tier in total.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { type AppInstance, instanceKustomization, instanceNameProblems, instanceObjectProblems, parseAppTemplate, resolveValues, teamAppProblems, teamQuotaParts, valuesWithDefaults } from "../../src/model/apps.js";
import { quantityValue } from "../../src/model/quantity.js";
import { resolveTeamSpec } from "../../src/model/team-spec.js";
import { renderTeamOverlay } from "../../src/render/repos.js";
import { packageRoot } from "../../src/paths.js";
import { ValidationError } from "../../src/errors.js";
import { templateSets, testConfig, testVersions } from "../helpers/render.js";

const t = templateSets;
const versions = testVersions;
const config = testConfig;
const exampleText = readFileSync(join(packageRoot, "cluster-template", "apps", "hello-web", "template.yaml"), "utf8");
const hello = parseAppTemplate(exampleText, "hello-web");
const catalog = new Map([["hello-web", hello]]);

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems as string[];
    throw e;
  }
  return [];
}

function withSpec(edit: (spec: Record<string, unknown>) => void): string {
  const doc = parse(exampleText) as { spec: Record<string, unknown> };
  edit(doc.spec);
  return JSON.stringify(doc);
}

describe("template.yaml", () => {
  it("parses init's example: parameters, targets, policy, admin delivery", () => {
    expect(hello.delivery).toBe("admin");
    expect(Object.keys(hello.parameters.properties)).toEqual(["greeting", "replicas"]);
    expect(hello.targets.replicas).toEqual([{ kind: "Deployment", name: "hello-web", path: "/spec/replicas" }]);
    expect(hello.policy.quota["requests.cpu"]).toBe("500m");
    expect(hello.policy.containerMax?.memory).toBe("256Mi");
    expect(hello.digest).toMatch(/^[0-9a-f]{12}$/);
  });

  it("names every problem of a broken template at once", () => {
    const text = withSpec((s) => {
      (s.parameters as { properties: Record<string, unknown> }).properties.size = { type: "integer", minimun: 1 };
      (s.targets as Record<string, unknown>).colour = [{ kind: "ConfigMap", name: "x", path: "/data/C" }];
      (s.policy as { quota: Record<string, string> }).quota["limits.cpu"] = "lots";
    });
    const problems = problemsOf(() => parseAppTemplate(text, "hello-web"));
    expect(problems.join("\n")).toMatch(/spec.targets has no entry for parameter size/);
    expect(problems.join("\n")).toMatch(/spec.targets.colour: no such parameter/);
    expect(problems.join("\n")).toMatch(/spec.parameters is not a JSON schema tenantry can use: strict mode: unknown keyword: "minimun"/);
    expect(problems.join("\n")).toMatch(/spec.policy.quota.limits.cpu: "lots" is not a quantity/);
  });

  it("refuses a non-scalar parameter, a quota missing a key, a name unlike its directory, defaults above the maxima", () => {
    const text = withSpec((s) => {
      (s.parameters as { properties: Record<string, unknown> }).properties.greeting = { type: "object" };
      delete (s.policy as { quota: Record<string, string> }).quota.pods;
    });
    const problems = problemsOf(() => parseAppTemplate(text, "hello-web"));
    expect(problems.join("\n")).toMatch(/greeting.type: must be one of string, integer, number, boolean/);
    expect(problems.join("\n")).toMatch(/quota: missing field "pods"/);
    expect(problemsOf(() => parseAppTemplate(exampleText, "other")).join("\n")).toMatch(/metadata.name is "hello-web": it must be the directory's name, other/);
    const tight = withSpec((s) => {
      (s.policy as { containerMax: Record<string, string> }).containerMax.cpu = "100m";
    });
    expect(problemsOf(() => parseAppTemplate(tight, "hello-web")).join("\n")).toMatch(/containerDefaults.limits.cpu 200m is above containerMax.cpu 100m/);
    expect(problemsOf(() => parseAppTemplate("a: [", "hello-web"))).toEqual(["apps/hello-web/template.yaml: malformed YAML: fix the file or restore it with git"]);
  });
});

describe("--set values", () => {
  it("are coerced by the parameter's type, defaults filled in for rendering only", () => {
    const r = resolveValues(hello, {}, ["replicas=2"]);
    expect(r.problems).toEqual([]);
    expect(r.given).toEqual({ replicas: 2 });
    expect(r.rendered).toEqual({ replicas: 2, greeting: "Hello from tenantry" });
  });

  it("name every problem at once: unknown key, wrong type, bounds, malformed, twice", () => {
    const r = resolveValues(hello, {}, ["colour=red", "replicas=two", "greeting=", "oops", "greeting=x"]);
    expect(r.problems).toEqual([
      '--set "oops" is not key=value: e.g. --set greeting=Hello',
      "--set greeting is given twice: give it once",
      "--set colour: template hello-web has no parameter colour (it has greeting, replicas)",
      "--set replicas=two: replicas is a whole number",
    ]);
    const bounds = resolveValues(hello, {}, ["replicas=9", "greeting="]);
    expect(bounds.problems).toEqual(["--set greeting=: greeting must NOT have fewer than 1 characters", "--set replicas=9: replicas must be <= 3"]);
  });

  it("say which required value is missing, and which recorded value the template no longer has", () => {
    const strict = parseAppTemplate(
      withSpec((s) => {
        (s.parameters as { required: string[] }).required = ["greeting"];
        delete (s.parameters as { properties: Record<string, { default?: unknown }> }).properties.greeting?.default;
      }),
      "hello-web",
    );
    expect(resolveValues(strict, {}, []).problems).toEqual(["--set greeting=...: template hello-web requires it (it has no default)"]);
    const problems: string[] = [];
    valuesWithDefaults(hello, { size: 3 }, problems);
    expect(problems[0]).toMatch(/value size: template hello-web has no such parameter any more/);
  });
});

describe("an instance", () => {
  const instance: AppInstance = { name: "web", template: "hello-web", values: { greeting: 'Hi "there"\n', replicas: 2 }, templateDigest: hello.digest };

  it("is a kustomization of the template's base in namespace <team>-<instance>, values patched in with their JSON types", () => {
    const k = parse(instanceKustomization("shop", instance, hello, valuesWithDefaults(hello, instance.values, []))) as Record<string, unknown>;
    expect(k.namespace).toBe("shop-web");
    expect(k.resources).toEqual(["../../../../apps/hello-web"]);
    expect((k.labels as { pairs: Record<string, string> }[])[0]?.pairs).toEqual({ "app.kubernetes.io/managed-by": "tenantry", "tenantry.dev/team": "shop", "tenantry.dev/app": "web", "tenantry.dev/app-template": "hello-web" });
    const patches = (k.patches as { target: unknown; patch: string }[]).map((p) => ({ target: p.target, ops: JSON.parse(p.patch) as unknown }));
    expect(patches).toEqual([
      { target: { kind: "ConfigMap", name: "hello-web" }, ops: [{ op: "add", path: "/data/GREETING", value: 'Hi "there"\n' }] },
      { target: { kind: "Deployment", name: "hello-web" }, ops: [{ op: "add", path: "/spec/replicas", value: 2 }] },
    ]);
  });

  it("has a name that makes a namespace and no derived name of the team's", () => {
    expect(instanceNameProblems("shop", "web")).toEqual([]);
    expect(instanceNameProblems("shop", "Web").join()).toMatch(/not a DNS-1123 label/);
    expect(instanceNameProblems("shop", "a".repeat(59)).join()).toMatch(/use at most 58/);
    expect(instanceNameProblems("shop", "kube-system").join()).toMatch(/reserved/);
    expect(instanceNameProblems("shop", "deploy-key").join()).toMatch(/one of team shop's own objects/);
    expect(instanceNameProblems("kube", "public").join()).toMatch(/kube-public is a reserved namespace/);
  });

  it("holds objects of its own namespace only", () => {
    expect(instanceObjectProblems("shop", "web", "hello-web", [{ kind: "ClusterRole", metadata: { name: "x" } }, { kind: "Namespace", metadata: { name: "shop-web" } }, { kind: "ConfigMap", metadata: { name: "c", namespace: "shop-web" } }])).toEqual([
      "apps/hello-web: ClusterRole x is not namespaced (or names another namespace): an instance holds objects of its own namespace shop-web only; remove it from the template",
    ]);
  });
});

describe("quota with app instances", () => {
  const tier = config.tiers.small?.quota ?? {};
  const team = (apps: AppInstance[], namespaces: string[] = []) => resolveTeamSpec("shop", { repoUrl: "ssh://git@git.example.com/acme/shop.git", namespaces, apps }, null, config);
  const web: AppInstance = { name: "web", template: "hello-web", values: {}, templateDigest: hello.digest };

  it("gives each instance its template's quota and splits what is left among the other namespaces, never above the tier", () => {
    const { parts, problems } = teamQuotaParts(team([web], ["api"]), tier, config.namespaceQuota, catalog);
    expect(problems).toEqual([]);
    expect(parts.map((p) => p.namespace)).toEqual(["shop", "shop-api", "shop-web"]);
    expect(parts[2]?.quota).toEqual(hello.policy.quota);
    expect(parts[0]?.quota["requests.cpu"]).toBe("750m"); // (2 - 0.5) / 2
    for (const [key, value] of Object.entries(tier)) {
      const sum = parts.reduce((a, p) => a + (quantityValue(p.quota[key]) ?? 0), 0);
      expect(sum, key).toBeLessThanOrEqual((quantityValue(value) ?? 0) * (1 + 1e-9));
    }
  });

  it("refuses instances that take all of a key the tier bounds, naming each", () => {
    const many = ["a", "b", "c", "d"].map((name): AppInstance => ({ ...web, name }));
    const problems = teamQuotaParts(team(many), tier, config.namespaceQuota, catalog).problems;
    expect(problems.join("\n")).toMatch(/^requests.cpu: app instance shop-a 500m, app instance shop-b 500m, app instance shop-c 500m, app instance shop-d 500m take all of the tier's 2, leaving the team's other namespaces none/m);
    expect(problems.join("\n")).toMatch(/pods: .* take all of the tier's 20/);
  });

  it("refuses an instance taking some of a key the tier bounds at 0", () => {
    const rc = parseAppTemplate(withSpec((s) => ((s.policy as { quota: Record<string, string> }).quota.replicationcontrollers = "3")), "hello-web");
    expect(teamQuotaParts(team([web]), tier, config.namespaceQuota, new Map([["hello-web", rc]])).problems.join("\n")).toMatch(/replicationcontrollers: app instance shop-web 3 take all of the tier's 0 and more/);
  });

  it("names a template the admin repo lacks, a broken one and a node pool other than the team's", () => {
    const gone = teamAppProblems(team([{ ...web, template: "gone" }]), tier, config.namespaceQuota, catalog, new Map([["gone", ["apps/gone/template.yaml: malformed YAML"]]]));
    expect(gone).toEqual(["app instance web of team shop: template gone is broken: apps/gone/template.yaml: malformed YAML", "app instance web of team shop: template gone is not in the admin repo (apps/gone/template.yaml): restore it, or tenantry app delete shop web"]);
    const pinned = parseAppTemplate(withSpec((s) => ((s.policy as Record<string, unknown>).nodePool = { key: "pool", value: "apps" })), "hello-web");
    const held = resolveTeamSpec("shop", { repoUrl: "ssh://git@git.example.com/acme/shop.git", nodePool: "pool=shop", apps: [web] }, null, config);
    expect(teamAppProblems(held, tier, config.namespaceQuota, new Map([["hello-web", pinned]]), new Map()).join()).toMatch(/pins its pods to nodes pool=apps, but team shop is held to pool=shop/);
  });

  it("renders the instance's namespace labelled as the instance, with the template's limits, and lists its directory in the overlay", () => {
    const tree = renderTeamOverlay(t, config, team([web]), versions, new Map(), catalog);
    const docs = [...tree].filter(([p]) => p.endsWith(".yaml") && !p.endsWith("kustomization.yaml") && !p.endsWith("team.yaml")).flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: { limits?: { max?: unknown }[] } }));
    const ns = docs.find((o) => o.kind === "Namespace" && o.metadata.name === "shop-web");
    expect(ns?.metadata.labels?.["tenantry.dev/app"]).toBe("web");
    expect(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(docs.find((o) => o.kind === "LimitRange" && o.metadata.namespace === "shop-web")?.spec?.limits?.[0]?.max).toEqual(hello.policy.containerMax);
    expect(docs.find((o) => o.kind === "LimitRange" && o.metadata.namespace === "shop")?.spec?.limits?.[0]?.max).toBeUndefined();
    expect(tree.get("cluster/shop/kustomization.yaml")).toMatch(/- apps\/web\n/);
    expect(tree.has("cluster/shop/apps/web/kustomization.yaml")).toBe(true);
    expect(tree.get("cluster/shop/sync.yaml")).toMatch(/namespaces: \[shop-web\]/);
  });

  it("refuses an instance named like an extra namespace, twice, or on a controlplane team", () => {
    expect(problemsOf(() => team([{ ...web, name: "api" }], ["api"])).join()).toMatch(/shop-api is already an extra namespace of team shop/);
    expect(problemsOf(() => team([web, web])).join()).toMatch(/two app instances of one name/);
    expect(problemsOf(() => resolveTeamSpec("shop", { repoUrl: "ssh://git@git.example.com/acme/shop.git", isolation: "controlplane", apps: [web] }, null, config)).join()).toMatch(/app instances are not yet supported with --isolation controlplane/);
  });
});
