// gator verify suites generated from an admin repo's own objects. Pure: the built
// ConstraintTemplates and each team's built Constraints in, files out, so a suite checks
// exactly what would be applied.
//
// - `compile/suite.yaml`: every ConstraintTemplate with an empty Constraint, reviewing one
//   Pod. Rego is compiled when the template is added; CEL is compiled when it is first
//   evaluated, and a compile error comes back as a violation message, so the case asserts
//   that no message starts with "compilation error".
// - `teams/<team>/suite.yaml`: for every Constraint of a kind tenantry knows, a compliant object
//   (violations: no) and violating objects that each differ from it in one field
//   (violations: yes, with a message naming the rule), including another team's registry,
//   and the violating object in another namespace (not this Constraint's business).
//
// Cases are AdmissionReviews of a CREATE by the team's ServiceAccount, as the webhook sees them.

import { stringify } from "yaml";
import { describeObject, type KubeObject } from "../model/object.js";
import { YAML_OPTIONS } from "../render/yaml.js";

export interface SourcedPolicy {
  readonly object: KubeObject;
  /** The repo file it came from, or null. */
  readonly file: string | null;
}

export interface TeamConstraints {
  readonly team: string;
  readonly constraints: readonly SourcedPolicy[];
}

/** What a test of a generated suite checks, to report a failure against the right file. */
export interface SuiteTest {
  /** `compile/<template>` or `<team>/<constraint>`: unique over all suites. */
  readonly name: string;
  /** `ConstraintTemplate/<name>` or `<Kind>/<name>`. */
  readonly object: string;
  readonly file: string | null;
  /** The template's name: a test fails along with its template's compile test. */
  readonly template: string;
  /** Case name -> what it checks, in words. */
  readonly cases: ReadonlyMap<string, string>;
}

export interface Suites {
  /** Path (relative to the suites' root) -> content. */
  readonly files: ReadonlyMap<string, string>;
  readonly tests: readonly SuiteTest[];
  /** Constraints of kinds tenantry has no cases for: compiled, not exercised. */
  readonly unexercised: readonly string[];
}

interface Assertion {
  readonly violations: "yes" | "no";
  readonly message?: string;
}

/** Who asks what: by default the team's ServiceAccount creating the case's object. */
interface Review {
  readonly operation: "CREATE" | "UPDATE" | "DELETE";
  /** The object before the request (UPDATE, DELETE). */
  readonly oldObject?: KubeObject;
  readonly username?: string;
  readonly groups?: readonly string[];
}

interface Case {
  readonly name: string;
  readonly about: string;
  /** The object of the request (for a DELETE: the object deleted, sent as oldObject). */
  readonly object: KubeObject;
  readonly assertions: readonly Assertion[];
  readonly review?: Review;
}

type Json = Record<string, unknown>;

const CONSTRAINT_GROUP = "constraints.gatekeeper.sh";

function yaml(value: unknown): string {
  return stringify(value, YAML_OPTIONS);
}

function record(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The Constraint kind a template defines (spec.crd.spec.names.kind). */
export function templateKind(template: KubeObject): string | undefined {
  const kind = record(record(record(record(template.spec).crd).spec).names).kind;
  return typeof kind === "string" ? kind : undefined;
}

function parameters(constraint: KubeObject): Json {
  return record(record(constraint.spec).parameters);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** An image under registry prefix `prefix`, tagged `tag`. */
export function imageUnder(prefix: string, tag = "1.0.0"): string {
  if (prefix.endsWith(":")) return `${prefix}${tag}`;
  return `${prefix}${prefix.endsWith("/") || prefix === "" ? "" : "/"}suite-app:${tag}`;
}

/** An image repository (no tag) under `prefix`; a prefix that ends in ':' has none. */
function repositoryUnder(prefix: string): string {
  return imageUnder(prefix).replace(/:1\.0\.0$/, "");
}

interface TeamFacts {
  readonly team: string;
  readonly registries: readonly string[];
  readonly nodePool: { readonly key: string; readonly value: string } | null;
}

function factsOf(t: TeamConstraints): TeamFacts {
  let registries: string[] = [];
  let nodePool: TeamFacts["nodePool"] = null;
  for (const { object } of t.constraints) {
    const p = parameters(object);
    if (object.kind === "TenantryAllowedRegistries") registries = strings(p.registries);
    if (object.kind === "TenantryNodePool" && typeof p.key === "string" && typeof p.value === "string") nodePool = { key: p.key, value: p.value };
  }
  return { team: t.team, registries, nodePool };
}

/** The prefix the compliant pod's image uses: one with a repository below it when there is one. */
function mainPrefix(registries: readonly string[]): string {
  return registries.find((r) => !r.endsWith(":")) ?? registries[0] ?? "registry.example/";
}

const CONTAINER = "app";

function compliantPod(f: TeamFacts): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "suite-app", namespace: f.team },
    spec: {
      containers: [
        {
          name: CONTAINER,
          image: imageUnder(mainPrefix(f.registries)),
          imagePullPolicy: "Always",
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
        },
      ],
      ...(f.nodePool === null ? {} : { nodeSelector: { [f.nodePool.key]: f.nodePool.value } }),
    },
  };
}

function compliantService(f: TeamFacts): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "suite-app", namespace: f.team },
    spec: { type: "ClusterIP", selector: { app: "suite-app" }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

/** A copy of `o` with `change` applied to its (cloned) spec's first container or spec. */
function podWith(base: KubeObject, change: (spec: Json, container: Json) => void): KubeObject {
  const copy = structuredClone(base);
  const spec = record(copy.spec);
  const container = record(Array.isArray(spec.containers) ? (spec.containers as unknown[])[0] : undefined);
  change(spec, container);
  return copy;
}

function inNamespace(o: KubeObject, namespace: string): KubeObject {
  return { ...structuredClone(o), metadata: { ...o.metadata, namespace } };
}

const yes = (message: string): Assertion[] => [{ violations: "yes", message }];
const NO: Assertion[] = [{ violations: "no" }];

function ruleMessage(rule: string, rest: string): string {
  return `^${escapeRegex(rule)}: ${rest}`;
}

function resourcesCases(base: KubeObject): Case[] {
  const cases: Case[] = [];
  for (const side of ["requests", "limits"] as const) {
    for (const r of ["cpu", "memory"] as const) {
      cases.push({
        name: `no-${r}-${side}`,
        about: `a container without ${r} ${side} is refused`,
        object: podWith(base, (_s, c) => {
          const resources = record(c.resources);
          resources[side] = Object.fromEntries(Object.entries(record(resources[side])).filter(([k]) => k !== r));
        }),
        assertions: yes(ruleMessage("tenantry-required-resources", `container <${CONTAINER}> sets no .*\\b${r} ${side}`)),
      });
    }
  }
  cases.push({
    name: "init-container-without-resources",
    about: "an init container without requests and limits is refused",
    object: podWith(base, (s, c) => {
      s.initContainers = [{ ...structuredClone(c), name: "init", resources: {} }];
    }),
    assertions: yes(ruleMessage("tenantry-required-resources", "container <init> sets no ")),
  });
  return cases;
}

function registriesCases(base: KubeObject, f: TeamFacts, others: readonly TeamFacts[]): Case[] {
  const cases: Case[] = f.registries.map((prefix, i) => ({
    name: `allowed-registry-${i + 1}`,
    about: `an image from the team's registry ${prefix} is admitted`,
    object: podWith(base, (_s, c) => {
      c.image = imageUnder(prefix);
    }),
    assertions: NO,
  }));
  const refused = (name: string, about: string, image: string, field: "containers" | "initContainers" = "containers"): Case => ({
    name,
    about,
    object: podWith(base, (s, c) => {
      if (field === "containers") c.image = image;
      else s.initContainers = [{ ...structuredClone(c), name: "init", image }];
    }),
    assertions: yes(ruleMessage("tenantry-allowed-registries", `image <${escapeRegex(image)}> of container <${field === "containers" ? CONTAINER : "init"}> is not from an allowed registry`)),
  });
  const outside = imageUnder("untrusted.example/");
  cases.push(refused("unlisted-registry", "an image from a registry the team does not list is refused", outside));
  cases.push(refused("unlisted-registry-init-container", "an init container from an unlisted registry is refused", outside, "initContainers"));
  for (const other of others) {
    const foreign = other.registries.find((r) => !f.registries.some((mine) => imageUnder(r).startsWith(mine)));
    if (foreign === undefined) continue;
    cases.push(refused(`registry-of-${other.team}`, `team ${other.team}'s registry ${foreign} is refused for team ${f.team}`, imageUnder(foreign)));
  }
  return cases;
}

function imageTagsCases(base: KubeObject, f: TeamFacts): Case[] {
  const repo = repositoryUnder(mainPrefix(f.registries));
  const refused = (name: string, about: string, image: string): Case => ({
    name,
    about,
    object: podWith(base, (_s, c) => {
      c.image = image;
    }),
    assertions: yes(ruleMessage("tenantry-image-tags", `image <${escapeRegex(image)}> of container <${CONTAINER}> has no tag or uses latest`)),
  });
  return [
    {
      name: "digest",
      about: "an image pinned to a digest is admitted",
      object: podWith(base, (_s, c) => {
        c.image = `${repo}@sha256:${"0".repeat(64)}`;
      }),
      assertions: NO,
    },
    refused("latest-tag", "an image tagged latest is refused", `${repo}:latest`),
    refused("untagged", "an untagged image is refused", repo),
    refused("registry-port-untagged", "an untagged image on a registry with a port is refused (the port is not a tag)", "registry.example:5000/suite-app"),
  ];
}

function serviceTypesCases(base: KubeObject, allowExternalName: boolean): Case[] {
  const withSpec = (change: (s: Json) => void): KubeObject => podWith(base, change);
  const external: Case = allowExternalName
    ? { name: "type-externalname", about: "an ExternalName Service is admitted (tenantry.yaml allows it)", object: withSpec((s) => Object.assign(s, { type: "ExternalName", externalName: "db.example.com", selector: undefined })), assertions: NO }
    : {
        name: "type-externalname",
        about: "an ExternalName Service is refused",
        object: withSpec((s) => Object.assign(s, { type: "ExternalName", externalName: "kubernetes.default.svc.cluster.local" })),
        assertions: yes(ruleMessage("tenantry-service-types", "Service <suite-app> has type ExternalName; only ClusterIP is allowed")),
      };
  return [
    ...["NodePort", "LoadBalancer"].map((type) => ({
      name: `type-${type.toLowerCase()}`,
      about: `a ${type} Service is refused`,
      object: withSpec((s) => {
        s.type = type;
      }),
      assertions: yes(ruleMessage("tenantry-service-types", `Service <suite-app> has type ${type}`)),
    })),
    external,
    {
      name: "external-ips",
      about: "a Service with externalIPs is refused (CVE-2020-8554)",
      object: withSpec((s) => {
        s.externalIPs = ["203.0.113.7"];
      }),
      assertions: yes(ruleMessage("tenantry-service-types", "Service <suite-app> sets externalIPs")),
    },
  ];
}

function alwaysPullCases(base: KubeObject): Case[] {
  return [
    {
      name: "pull-if-not-present",
      about: "a container with imagePullPolicy IfNotPresent is refused",
      object: podWith(base, (_s, c) => {
        c.imagePullPolicy = "IfNotPresent";
      }),
      assertions: yes(ruleMessage("tenantry-pull-policy", `container <${CONTAINER}> must use imagePullPolicy Always`)),
    },
  ];
}

function nodePoolCases(base: KubeObject, f: TeamFacts): Case[] {
  const pool = f.nodePool;
  if (pool === null) return [];
  const selector = escapeRegex(`${pool.key}=${pool.value}`);
  return [
    {
      name: "no-node-selector",
      about: "a pod without the pool's nodeSelector is refused",
      object: podWith(base, (s) => {
        delete s.nodeSelector;
      }),
      assertions: yes(ruleMessage("tenantry-node-pool", `pod <suite-app> must select nodeSelector ${selector}`)),
    },
    {
      name: "other-pool",
      about: "a pod selecting another pool is refused",
      object: podWith(base, (s) => {
        s.nodeSelector = { [pool.key]: `${pool.value}-other` };
      }),
      assertions: yes(ruleMessage("tenantry-node-pool", `pod <suite-app> must select nodeSelector ${selector}`)),
    },
    {
      name: "node-name",
      about: "a pod that names its node is refused",
      object: podWith(base, (s) => {
        s.nodeName = "node-1";
      }),
      assertions: yes(ruleMessage("tenantry-node-pool", "pod <suite-app> sets nodeName")),
    },
  ];
}

/** The cases of a Constraint of a kind tenantry knows, or undefined for any other kind. */
/** What the admin GitSync put in the team namespace, and what the team itself applied there. */
function ownedBy(o: KubeObject, syncNamespace: string): KubeObject {
  return { ...structuredClone(o), metadata: { ...o.metadata, labels: { ...o.metadata.labels, "tenantry.dev/sync-namespace": syncNamespace } } };
}

function adminOwnedCases(f: TeamFacts): Case[] {
  const policy: KubeObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "tenantry-default-deny", namespace: f.team },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
  const admins = ownedBy(policy, "tenantry-system");
  const loosened = { ...structuredClone(admins), spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], egress: [{}] } };
  const own = ownedBy({ ...structuredClone(policy), metadata: { name: "allow-web", namespace: f.team } }, f.team);
  const refused = (verb: string): string =>
    ruleMessage("tenantry-admin-owned", escapeRegex(`NetworkPolicy <tenantry-default-deny> in namespace ${f.team} comes from the admin repo: a team may not ${verb} it`));
  const person = { username: "alice", groups: [`tenantry:team:${f.team}`, "system:authenticated"] };
  return [
    { name: "update-own", about: "the team changes an object it applied itself", object: own, assertions: NO, review: { operation: "UPDATE", oldObject: own } },
    { name: "create-labelled", about: "creating an object is never refused by this rule", object: admins, assertions: NO },
    { name: "update-admin-owned", about: "the team's ServiceAccount widens the admin's NetworkPolicy: refused", object: loosened, assertions: yes(refused("change")), review: { operation: "UPDATE", oldObject: admins } },
    { name: "unlabel-admin-owned", about: "dropping the admin label in the same request does not help: the old object is judged", object: policy, assertions: yes(refused("change")), review: { operation: "UPDATE", oldObject: admins } },
    { name: "delete-admin-owned", about: "the team's ServiceAccount deletes the admin's NetworkPolicy: refused", object: admins, assertions: yes(refused("delete")), review: { operation: "DELETE", oldObject: admins } },
    { name: "person-of-the-team", about: "a person of group tenantry:team:<team> is refused the same", object: loosened, assertions: yes(refused("change")), review: { operation: "UPDATE", oldObject: admins, ...person } },
    { name: "admin", about: "a cluster admin may change it", object: loosened, assertions: NO, review: { operation: "UPDATE", oldObject: admins, username: "admin", groups: ["system:masters", "system:authenticated"] } },
    { name: "other-namespace", about: `the constraint applies to namespace ${f.team} only`, object: inNamespace(loosened, `not-${f.team}`), assertions: NO, review: { operation: "UPDATE", oldObject: inNamespace(admins, `not-${f.team}`) } },
  ];
}

function agentIdentityCases(f: TeamFacts, image: string): Case[] {
  const agent: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "tenantry-agent-5d8f7c9b6-x2x4q", namespace: f.team, labels: { "app.kubernetes.io/name": "tenantry-agent", "tenantry.dev/team": f.team } },
    spec: {
      serviceAccountName: f.team,
      containers: [{ name: "agent", image, args: ["agent", "--namespace", f.team], resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } } }],
    },
  };
  const refused = (name: string): string =>
    ruleMessage(
      "tenantry-agent-identity",
      escapeRegex(`Pod <${name}> wears app.kubernetes.io/name: tenantry-agent but is not the team agent the admin repo defines (ServiceAccount ${f.team}, one container agent running ${image} with agent --namespace ${f.team})`),
    );
  const impostor = (name: string, change: (spec: Json, container: Json) => void): KubeObject => {
    const p = podWith(agent, change);
    return { ...p, metadata: { ...p.metadata, name } };
  };
  const cases: [string, string, (spec: Json, container: Json) => void][] = [
    ["other-image", "another image wearing the label", (_s, c) => (c.image = imageUnder(mainPrefix(f.registries)))],
    ["own-command", "the agent's image with a command of its own", (_s, c) => (c.command = ["sh", "-c", "curl https://example.com"])],
    ["other-args", "the agent's image with other arguments", (_s, c) => (c.args = ["agent", "--namespace", "tenantry-system"])],
    ["second-container", "a second container beside the agent", (s) => (s.containers = [...(s.containers as Json[]), { name: "sidecar", image: imageUnder(mainPrefix(f.registries)) }])],
    ["other-identity", "another ServiceAccount", (s) => (s.serviceAccountName = "default")],
  ];
  return [
    { name: "the-agent", about: "the team's agent as the admin repo defines it is admitted", object: agent, assertions: NO },
    { name: "unlabelled", about: "a pod without the agent's label is not this rule's business", object: compliantPod(f), assertions: NO },
    ...cases.map(([name, about, change]): Case => ({ name, about: `${about}: refused`, object: impostor(`suite-${name}`, change), assertions: yes(refused(`suite-${name}`)) })),
    { name: "other-namespace", about: `the constraint applies to namespace ${f.team} only`, object: inNamespace(impostor("suite-elsewhere", cases[0]?.[2] ?? (() => undefined)), `not-${f.team}`), assertions: NO },
  ];
}

function casesFor(constraint: KubeObject, f: TeamFacts, others: readonly TeamFacts[]): Case[] | undefined {
  const pod = compliantPod(f);
  const violating = (cases: Case[], base: KubeObject): Case[] => {
    const first = cases.find((c) => c.assertions[0]?.violations === "yes");
    const elsewhere: Case[] =
      first === undefined
        ? []
        : [
            {
              name: "other-namespace",
              about: `the constraint applies to namespace ${f.team} only: case ${first.name} in another namespace is not its business`,
              object: inNamespace(first.object, `not-${f.team}`),
              assertions: NO,
            },
          ];
    return [{ name: "compliant", about: `a compliant ${base.kind} is admitted`, object: base, assertions: NO }, ...cases, ...elsewhere];
  };
  switch (constraint.kind) {
    case "TenantryRequiredResources":
      return violating(resourcesCases(pod), pod);
    case "TenantryAllowedRegistries":
      return violating(registriesCases(pod, f, others), pod);
    case "TenantryImageTags":
      return violating(imageTagsCases(pod, f), pod);
    case "TenantryServiceTypes": {
      const service = compliantService(f);
      return violating(serviceTypesCases(service, parameters(constraint).allowExternalName === true), service);
    }
    case "TenantryAlwaysPull":
      return violating(alwaysPullCases(pod), pod);
    case "TenantryNodePool":
      return violating(nodePoolCases(pod, f), pod);
    case "TenantryAdminOwned":
      return adminOwnedCases(f);
    case "TenantryAgentIdentity": {
      const image = parameters(constraint).image;
      return typeof image === "string" ? agentIdentityCases(f, image) : undefined;
    }
    default:
      return undefined;
  }
}

const RESOURCES: Readonly<Record<string, string>> = { Pod: "pods", Service: "services", NetworkPolicy: "networkpolicies" };

/** The AdmissionReview of `review` (default: `team`'s ServiceAccount creating `o`). */
export function admissionReview(o: KubeObject, team: string, uid: string, review: Review = { operation: "CREATE" }): Json {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const username = review.username ?? `system:serviceaccount:${team}:${team}`;
  const groups = review.groups ?? ["system:serviceaccounts", `system:serviceaccounts:${team}`, "system:authenticated"];
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group, version, kind: o.kind },
      resource: { group, version, resource: RESOURCES[o.kind] ?? `${o.kind.toLowerCase()}s` },
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      operation: review.operation,
      userInfo: { username, groups },
      ...(review.operation === "DELETE" ? {} : { object: o }),
      ...(review.oldObject === undefined ? {} : { oldObject: review.oldObject }),
    },
  };
}

/** Only what gator reads of a Constraint: a copy without tenantry's labels is not needed. */
function constraintFile(o: KubeObject): string {
  return yaml(o);
}

function suiteFile(name: string, tests: readonly Json[]): string {
  return yaml({ apiVersion: "test.gatekeeper.sh/v1alpha1", kind: "Suite", metadata: { name }, tests });
}

function assertionsJson(assertions: readonly Assertion[]): Json[] {
  return assertions.map((a) => (a.message === undefined ? { violations: a.violations } : { violations: a.violations, message: a.message }));
}

export const COMPILE_ERROR = "^compilation error";

/**
 * The suites for `templates` and each team's constraints. `teams` in a stable order gives
 * byte-identical files.
 */
export function generateSuites(templates: readonly SourcedPolicy[], teams: readonly TeamConstraints[]): Suites {
  const files = new Map<string, string>();
  const tests: SuiteTest[] = [];
  const unexercised: string[] = [];
  const templateOf = new Map<string, KubeObject>();
  const compileTests: Json[] = [];
  const probe = compliantPod({ team: "tenantry-compile-check", registries: [], nodePool: null });
  files.set("compile/probe.yaml", yaml(admissionReview(probe, "tenantry-compile-check", "compile")));
  for (const { object: t, file } of [...templates].sort((a, b) => a.object.metadata.name.localeCompare(b.object.metadata.name))) {
    const kind = templateKind(t);
    if (kind === undefined) continue;
    templateOf.set(kind, t);
    const name = t.metadata.name;
    files.set(`templates/${name}.yaml`, yaml(t));
    files.set(`compile/${name}.constraint.yaml`, yaml({ apiVersion: `${CONSTRAINT_GROUP}/v1beta1`, kind, metadata: { name: "compile-check" } }));
    const test = `compile/${name}`;
    compileTests.push({
      name: test,
      template: `../templates/${name}.yaml`,
      constraint: `${name}.constraint.yaml`,
      cases: [{ name: "compiles", object: "probe.yaml", assertions: [{ violations: "no", message: COMPILE_ERROR }] }],
    });
    tests.push({ name: test, object: `ConstraintTemplate/${name}`, file, template: name, cases: new Map([["compiles", "its CEL and Rego compile"]]) });
  }
  files.set("compile/suite.yaml", suiteFile("compile", compileTests));

  const facts = teams.map(factsOf);
  for (const [i, t] of teams.entries()) {
    const f = facts[i];
    if (f === undefined) continue;
    const others = facts.filter((o) => o.team !== t.team);
    const suiteTests: Json[] = [];
    for (const { object: c, file } of [...t.constraints].sort((a, b) => a.object.metadata.name.localeCompare(b.object.metadata.name))) {
      const template = templateOf.get(c.kind);
      const cases = casesFor(c, f, others);
      if (template === undefined || cases === undefined) {
        unexercised.push(`${file ?? t.team}: ${describeObject(c)}`);
        continue;
      }
      const dir = `teams/${t.team}/${c.metadata.name}`;
      files.set(`${dir}/constraint.yaml`, constraintFile(c));
      for (const k of cases) files.set(`${dir}/${k.name}.yaml`, yaml(admissionReview(k.object, t.team, `${c.metadata.name}-${k.name}`, k.review)));
      const test = `${t.team}/${c.metadata.name}`;
      suiteTests.push({
        name: test,
        template: `../../templates/${template.metadata.name}.yaml`,
        constraint: `${c.metadata.name}/constraint.yaml`,
        cases: cases.map((k) => ({ name: k.name, object: `${c.metadata.name}/${k.name}.yaml`, assertions: assertionsJson(k.assertions) })),
      });
      tests.push({ name: test, object: describeObject(c), file, template: template.metadata.name, cases: new Map(cases.map((k) => [k.name, k.about])) });
    }
    if (suiteTests.length > 0) files.set(`teams/${t.team}/suite.yaml`, suiteFile(t.team, suiteTests));
  }
  return { files, tests, unexercised };
}
