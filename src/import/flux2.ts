// fluxcd/flux2-multi-tenancy's layout -> tenants as tenantry teams. Pure.
//
//   tenants/base/<tenant>/   kustomization.yaml, rbac.yaml (`flux create tenant`: Namespace,
//                            ServiceAccount, cluster-admin RoleBinding), sync.yaml (GitRepository
//                            + Kustomization in the tenant's namespace)
//   tenants/<env>/           kustomization.yaml: ../base/<tenant> per tenant, namespace, patches
//   clusters/<env>/          flux-system/ (bootstrap: components, gotk-sync, lockdown patches)
//                            and the Kustomizations syncing tenants/<env> and the add-ons

import { ValidationError } from "../errors.js";
import { loadKustomization } from "./kustomize.js";
import type { ImportedTeam, ParsedSource, ReportItem } from "./report.js";
import { describe, filesIn, hasDir, isMap, kindOf, type Located, nameOf, namespaceOf, parseYamlObjects, shorterDuration, type SourceTree, str, subdirs, text, type YamlMap } from "./source.js";
import { addDefaults, extraObject, Findings, judgeTenantObjects } from "./tenant.js";

export interface Flux2Options {
  readonly env?: string | undefined;
  readonly defaultTier: string;
  /** Name the team after the tenant (default) or after its namespace. */
  readonly teamName: "tenant" | "namespace";
}

const SOURCE_KINDS = new Set(["GitRepository", "OCIRepository", "Bucket"]);
const ROOT_PATHS = new Set(["", ".", "./", "/"]);

/** The environments: directories of tenants/ other than base that hold a kustomization. */
export function flux2Environments(tree: SourceTree): string[] {
  return subdirs(tree, "tenants").filter((d) => d !== "base" && (tree.has(`tenants/${d}/kustomization.yaml`) || tree.has(`tenants/${d}/kustomization.yml`)));
}

function chooseEnv(tree: SourceTree, env: string | undefined): string {
  if (!hasDir(tree, "tenants/base")) {
    throw new ValidationError(["not a flux2-multi-tenancy layout: tenants/base/ is missing (it holds one directory per tenant): check the directory, or import flux-v1"]);
  }
  const envs = flux2Environments(tree);
  if (env !== undefined) {
    if (!envs.includes(env)) throw new ValidationError([`--env ${env}: tenants/${env}/kustomization.yaml is missing; the environments here are: ${envs.join(", ") || "none"}`]);
    return env;
  }
  if (envs.length === 1 && envs[0] !== undefined) return envs[0];
  if (envs.length === 0) throw new ValidationError(["not a flux2-multi-tenancy layout: no tenants/<env>/kustomization.yaml next to tenants/base/: check the directory"]);
  throw new ValidationError([`this repo has several environments (${envs.join(", ")}): choose the one this cluster runs with --env`]);
}

function spec(o: YamlMap): YamlMap {
  return isMap(o.spec) ? o.spec : {};
}

const KUSTOMIZATION_FIELDS_MAPPED = new Set(["interval", "path", "prune", "serviceAccountName", "sourceRef", "targetNamespace", "timeout", "validation"]);
const GITREPO_FIELDS_MAPPED = new Set(["interval", "url", "ref", "secretRef", "timeout"]);

/** The tenant's GitRepository + Kustomization pair, judged; returns the team's sync settings. */
function judgeSync(objects: Located[], f: Findings): { team: Omit<ImportedTeam, "tenant" | "team" | "namespace"> | null; rest: Located[] } {
  const { scope } = f;
  const kustomizations = objects.filter((l) => kindOf(l.obj) === "Kustomization" && (str(l.obj.apiVersion) ?? "").startsWith("kustomize.toolkit.fluxcd.io/"));
  const sources = objects.filter((l) => SOURCE_KINDS.has(kindOf(l.obj)) && (str(l.obj.apiVersion) ?? "").startsWith("source.toolkit.fluxcd.io/"));
  const used = new Set<Located>();
  // The tenant's sync: the Kustomization named after the tenant, else the only one.
  const ks = kustomizations.find((l) => nameOf(l.obj) === scope.tenant) ?? (kustomizations.length === 1 ? kustomizations[0] : undefined);
  if (ks === undefined) {
    f.add("unmapped", objects[0]?.file ?? "", "no Flux Kustomization", `tenant ${scope.tenant} syncs nothing tenantry can tell apart (none, or several and none named ${scope.tenant}): not imported`);
    return { team: null, rest: objects.filter((l) => !kustomizations.includes(l) && !sources.includes(l)) };
  }
  used.add(ks);
  const ksSpec = spec(ks.obj);
  const ref = isMap(ksSpec.sourceRef) ? ksSpec.sourceRef : {};
  const refNs = str(ref.namespace);
  const src = sources.find((l) => kindOf(l.obj) === str(ref.kind) && nameOf(l.obj) === str(ref.name) && (refNs === undefined || refNs === namespaceOf(l.obj)));
  if (refNs !== undefined && refNs !== namespaceOf(ks.obj)) {
    f.add("unmapped", ks.file, `${describe(ks.obj)} sourceRef.namespace ${refNs}`, "a cross-namespace source reference: a tenantry team syncs its own repo, from its own namespace");
  }
  if (src === undefined || kindOf(src.obj) !== "GitRepository") {
    f.add("unmapped", ks.file, `${describe(ks.obj)} sourceRef ${str(ref.kind) ?? "?"}/${str(ref.name) ?? "?"}`, src === undefined ? "names no source of this tenant: not imported" : `a ${kindOf(src.obj)}: tenantry syncs Git repositories only; not imported`);
    return { team: null, rest: objects.filter((l) => l !== ks && l !== src && !kustomizations.includes(l) && !sources.includes(l)) };
  }
  used.add(src);
  const srcSpec = spec(src.obj);
  const url = str(srcSpec.url) ?? "";
  const gitRef = isMap(srcSpec.ref) ? srcSpec.ref : {};
  let branch = str(gitRef.branch);
  for (const key of Object.keys(gitRef)) {
    if (key !== "branch") f.add("unmapped", src.file, `${describe(src.obj)} ref.${key}: ${String(gitRef[key])}`, "tenantry follows a branch: the team follows the branch named below; pin a tag or commit by hand in the team's repo instead");
  }
  if (branch === undefined) {
    branch = "master";
    f.add("mapped", src.file, `${describe(src.obj)} without ref.branch`, "branch master (Flux's default)");
  }
  const srcInterval = str(srcSpec.interval) ?? "1m";
  const ksInterval = str(ksSpec.interval) ?? srcInterval;
  const interval = shorterDuration(srcInterval, ksInterval);
  f.add("mapped", src.file, `${describe(src.obj)} url ${url}, branch ${branch}`, `team repo ${url}, branch ${branch}`);
  f.add(
    "mapped",
    ks.file,
    `intervals: ${describe(src.obj)} ${srcInterval}, ${describe(ks.obj)} ${ksInterval}`,
    srcInterval === ksInterval ? `interval ${interval}` : `interval ${interval}: tenantry fetches and applies on one interval, the shorter keeps push-to-apply as quick`,
  );
  const secretRef = isMap(srcSpec.secretRef) ? str(srcSpec.secretRef.name) : undefined;
  if (secretRef !== undefined) f.add("mapped", src.file, `${describe(src.obj)} secretRef ${secretRef}`, `Secret ${scope.team}/${scope.team}-deploy-key: create it with tenantry keys create ${scope.team} and register it on the repo`);
  for (const key of Object.keys(srcSpec)) {
    if (!GITREPO_FIELDS_MAPPED.has(key)) f.add("unmapped", src.file, `${describe(src.obj)} spec.${key}`, "no tenantry equivalent: left out");
  }

  const path = str(ksSpec.path) ?? "./";
  if (ROOT_PATHS.has(path)) f.add("mapped", ks.file, `${describe(ks.obj)} path ${path}`, "the repo's root (./)");
  else f.add("unmapped", ks.file, `${describe(ks.obj)} path ${path}`, `tenantry applies the root of the team's branch: make ${path} the root of a branch (or a kustomization.yaml at the root pointing to it) before pushing the admin repo`);
  const sa = str(ksSpec.serviceAccountName);
  f.add(
    sa === undefined ? "tightened" : "mapped",
    ks.file,
    `${describe(ks.obj)} ${sa === undefined ? "without serviceAccountName" : `serviceAccountName ${sa}`}`,
    sa === undefined
      ? `applied as ServiceAccount ${scope.team}/${scope.team} always (Flux used --default-service-account, or its own cluster-admin identity without it)`
      : `applied as ServiceAccount ${scope.team}/${scope.team}`,
  );
  if (ksSpec.prune === false) f.add("tightened", ks.file, `${describe(ks.obj)} prune: false`, "tenantry prunes what the team removes from its repo");
  else f.add("mapped", ks.file, `${describe(ks.obj)} prune: true`, "tenantry prunes what the team removes from its repo");
  const target = str(ksSpec.targetNamespace);
  if (target !== undefined && target !== scope.namespace) f.add("unmapped", ks.file, `${describe(ks.obj)} targetNamespace ${target}`, `another namespace than the tenant's (${scope.namespace}): a tenantry team applies into its own namespace only`);
  if (ksSpec.validation !== undefined) f.add("tightened", ks.file, `${describe(ks.obj)} validation: ${text(ksSpec.validation)}`, "every object is linted before it is applied (tenant scope), and the API server checks it as the team");
  if (ksSpec.timeout !== undefined) f.add("mapped", ks.file, `${describe(ks.obj)} timeout ${text(ksSpec.timeout)}`, "tenantry's sync timeout, 3m");
  for (const key of Object.keys(ksSpec)) {
    if (!KUSTOMIZATION_FIELDS_MAPPED.has(key)) f.add("unmapped", ks.file, `${describe(ks.obj)} spec.${key}`, key === "decryption" ? "tenantry does not decrypt SOPS: keep such Secrets out of the team's repo" : "no tenantry equivalent: left out");
  }
  for (const extra of [...kustomizations, ...sources].filter((l) => !used.has(l))) {
    f.add("unmapped", extra.file, describe(extra.obj), "a second sync of the tenant: a tenantry team syncs one repo; make it a team of its own, or have the team's repo include it");
  }
  return {
    team: { repoUrl: url, branch, path: ROOT_PATHS.has(path) ? "./" : path, interval, file: src.file },
    rest: objects.filter((l) => !kustomizations.includes(l) && !sources.includes(l)),
  };
}

/** The tenant a loaded object belongs to: the base directory it came from. */
function tenantOf(file: string): string | null {
  return /^tenants\/base\/([^/]+)\//.exec(file)?.[1] ?? null;
}

function judgeClusters(tree: SourceTree, env: string, items: ReportItem[]): string | null {
  const dir = `clusters/${env}`;
  let adminUrl: string | null = null;
  const add = (verdict: ReportItem["verdict"], file: string, subject: string, detail: string): void => {
    items.push({ verdict, tenant: null, file, subject, detail });
  };
  if (!hasDir(tree, dir)) {
    add("mapped", dir, "no clusters/" + env, "nothing to read there: the admin repo's URL is left out of tenantry.yaml unless --git-url is given");
    return null;
  }
  const files = [...tree.keys()].filter((p) => p.startsWith(`${dir}/`) && /\.ya?ml$/.test(p)).sort();
  for (const file of files) {
    const base = file.slice(dir.length + 1);
    if (base === "flux-system/gotk-components.yaml") {
      add("mapped", file, "Flux's controllers", "tenantry's agent in cluster/common (engine tenantry)");
      continue;
    }
    if (base === "flux-system/kustomization.yaml") {
      const text = tree.get(file) ?? "";
      if (text.includes("--no-cross-namespace-refs=true")) add("mapped", file, "--no-cross-namespace-refs=true", "a team's sync names only its own repo and Secret, in its own namespace");
      if (text.includes("--no-remote-bases=true")) add("mapped", file, "--no-remote-bases=true", "tenantry's build service refuses remote bases");
      const dsa = /--default-service-account=([^\s"']+)/.exec(text)?.[1];
      if (dsa !== undefined) add("mapped", file, `--default-service-account=${dsa}`, "every team's repo is applied as the team's ServiceAccount, always");
      continue;
    }
    for (const o of parseYamlObjects(tree.get(file) ?? "", file)) {
      const kind = kindOf(o);
      const s = spec(o);
      if (kind === "GitRepository" && nameOf(o) === "flux-system") {
        adminUrl = str(s.url) ?? null;
        add("mapped", file, `${describe(o)} url ${adminUrl ?? "?"}`, "tenantry.yaml gitUrl: the admin repo, synced by GitSync tenantry-system/admin");
      } else if (kind === "Kustomization" && nameOf(o) === "flux-system") {
        add("mapped", file, describe(o), "GitSync tenantry-system/admin: the whole admin repo, applied by tenantry's agent");
      } else if (kind === "Kustomization" && (str(s.path) ?? "").replace(/^\.\//, "").replace(/\/$/, "") === `tenants/${env}`) {
        const deps = Array.isArray(s.dependsOn) ? s.dependsOn.filter(isMap).map((d) => str(d.name) ?? "?") : [];
        add("mapped", file, describe(o), `cluster/teams/kustomization.yaml: one line per team${deps.length === 0 ? "" : ` (its dependsOn ${deps.join(", ")} has no equivalent: cluster/common is applied first)`}`);
      } else if (kind === "Kustomization") {
        add("unmapped", file, `${describe(o)} (path ${str(s.path) ?? "?"})`, "a cluster add-on: tenantry's admin repo carries tenancy only; install it separately, or add its objects to cluster/common by hand (tenantry plan flags cluster-wide changes)");
      } else {
        add("unmapped", file, describe(o), "a cluster-wide object: not imported; add it to cluster/common by hand if it is needed");
      }
    }
  }
  return adminUrl;
}

export function parseFlux2(tree: SourceTree, o: Flux2Options): ParsedSource {
  const env = chooseEnv(tree, o.env);
  const loaded = loadKustomization(tree, `tenants/${env}`, null);
  const items: ReportItem[] = [...loaded.items];
  for (const g of loaded.generators) items.push({ verdict: "unmapped", tenant: null, file: g.file, subject: `${g.field} ${g.name}`, detail: "generated objects are not imported: add them by hand" });
  const tenants = new Map<string, Located[]>();
  for (const l of loaded.objects) {
    const t = tenantOf(l.file);
    if (t === null) {
      items.push({ verdict: "unmapped", tenant: null, file: l.file, subject: describe(l.obj), detail: "outside any tenants/base/<tenant>/ directory: not imported" });
      continue;
    }
    tenants.set(t, [...(tenants.get(t) ?? []), l]);
  }
  for (const t of subdirs(tree, "tenants/base")) {
    if (!tenants.has(t)) items.push({ verdict: "mapped", tenant: t, file: `tenants/base/${t}/`, subject: `tenant ${t}`, detail: `not in tenants/${env}: Flux does not deploy it here, and it is left out` });
  }
  const teams: ImportedTeam[] = [];
  for (const [tenant, objects] of [...tenants].sort(([a], [b]) => a.localeCompare(b))) {
    const syncNs = objects.find((l) => kindOf(l.obj) === "Kustomization" && nameOf(l.obj) === tenant) ?? objects.find((l) => kindOf(l.obj) === "Kustomization");
    const namespaces = objects.filter((l) => kindOf(l.obj) === "Namespace").map((l) => nameOf(l.obj));
    const namespace = (syncNs === undefined ? undefined : namespaceOf(syncNs.obj)) ?? namespaces[0] ?? tenant;
    const team = o.teamName === "namespace" ? namespace : tenant;
    const f = new Findings({ tenant, namespace, team, defaultTier: o.defaultTier, engineSubjects: new Set() });
    const { team: sync, rest } = judgeSync(objects, f);
    for (const l of judgeTenantObjects(rest, f)) extraObject(l, f);
    addDefaults(f, `tenants/base/${tenant}/`);
    items.push(...f.items);
    if (sync !== null) teams.push({ tenant, team, namespace, ...sync });
  }
  const adminGitUrl = judgeClusters(tree, env, items);
  for (const file of filesIn(tree, "")) {
    if (/\.ya?ml$/.test(file)) items.push({ verdict: "unmapped", tenant: null, file, subject: "a file at the repo's root", detail: "not part of the tenants or clusters layout: not read" });
  }
  return { layout: "flux2-multi-tenancy", env, adminGitUrl, teams, items };
}
