// The Flux v1 `multi-tenancy` layout (fluxcd/multi-tenancy) -> teams as tenantry teams. Pure.
//
//   cluster/kustomization.yaml   bases: ./common/ and one ./<team>/ per team
//   cluster/common/              cluster-wide objects (CRDs)
//   cluster/<team>/              namespace.yaml, rbac.yaml, psp.yaml, flux-patch.yaml (the team's
//                                own fluxd: --git-url, --git-branch, --git-path, intervals),
//                                bases ../../base/flux/ (the fluxd Deployment, its SA and Role)
//   install/                     the cluster's own fluxd (--git-url of the admin repo)

import { ValidationError } from "../errors.js";
import { kustomizationFile, loadKustomization } from "./kustomize.js";
import type { ImportedTeam, ParsedSource, ReportItem } from "./report.js";
import { describe, isMap, join, kindOf, type Located, nameOf, parseYamlMap, parseYamlObjects, shorterDuration, type SourceTree, str, subdirs } from "./source.js";
import { addDefaults, extraObject, Findings, judgeTenantObjects } from "./tenant.js";

export interface FluxV1Options {
  readonly defaultTier: string;
  readonly teamName: "tenant" | "namespace";
}

/** fluxd's own plumbing: nothing a team relied on. */
const INTERNAL_FLAGS = new Set([
  "memcached-hostname",
  "memcached-service",
  "memcached-port",
  "memcached-timeout",
  "ssh-keygen-dir",
  "listen",
  "listen-metrics",
  "k8s-secret-name",
  "k8s-secret-volume-mount-path",
  "k8s-secret-data-key",
  "k8s-default-namespace",
  "registry-disable-scanning",
  "log-format",
  "git-timeout",
  "k8s-unsafe-exclude-resource",
  "connect",
  "token",
]);
/** fluxd writing to the team's repo or updating images: tenantry only reads team repos. */
const WRITE_FLAGS = /^(registry-|automation-interval|git-user|git-email|git-set-author|git-signing-key|git-verify-signatures|git-label|git-sync-tag|git-notes-ref|git-ci-skip|sync-state|image-)/;

export interface FluxdArgs {
  readonly flags: ReadonlyMap<string, string>;
  /** Repeated flags, in order. */
  readonly all: readonly (readonly [string, string])[];
}

/** `--name=value` / `--name` strings of a fluxd container. */
export function parseFluxdArgs(args: readonly unknown[]): FluxdArgs {
  const all: [string, string][] = [];
  for (const a of args) {
    if (typeof a !== "string" || !a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    all.push(eq < 0 ? [a.slice(2), "true"] : [a.slice(2, eq), a.slice(eq + 1)]);
  }
  return { flags: new Map(all), all };
}

function fluxdContainer(l: Located): { args: unknown[] } | undefined {
  const spec = isMap(l.obj.spec) ? l.obj.spec : {};
  const tmpl = isMap(spec.template) && isMap(spec.template.spec) ? spec.template.spec : {};
  const containers = Array.isArray(tmpl.containers) ? tmpl.containers.filter(isMap) : [];
  const c = containers.find((x) => x.name === "flux") ?? containers[0];
  return c === undefined ? undefined : { args: Array.isArray(c.args) ? c.args : [] };
}

/** The team's fluxd, judged flag by flag; returns its sync settings. */
function judgeFluxd(objects: Located[], f: Findings): { sync: Omit<ImportedTeam, "tenant" | "team" | "namespace"> | null; rest: Located[] } {
  const { scope } = f;
  const deployments = objects.filter((l) => kindOf(l.obj) === "Deployment" && (fluxdContainer(l)?.args ?? []).some((a) => typeof a === "string" && a.startsWith("--git-url")));
  const d = deployments[0];
  const rest = objects.filter((l) => !deployments.includes(l));
  if (d === undefined) {
    f.add("unmapped", `cluster/${scope.tenant}/`, "no fluxd Deployment with --git-url", `team ${scope.tenant} syncs no repo tenantry can read: not imported`);
    return { sync: null, rest };
  }
  for (const extra of deployments.slice(1)) f.add("unmapped", extra.file, describe(extra.obj), "a second fluxd of the team: a tenantry team syncs one repo");
  const { flags, all } = parseFluxdArgs(fluxdContainer(d)?.args ?? []);
  const file = d.file;
  const subject = (k: string): string => `${describe(d.obj)} --${k}${flags.get(k) === "true" ? "" : `=${flags.get(k) ?? ""}`}`;
  const url = flags.get("git-url") ?? "";
  const branch = flags.get("git-branch") ?? "master";
  f.add("mapped", file, `${describe(d.obj)} --git-url=${url} --git-branch=${branch}`, `team repo ${url}, branch ${branch}`);
  const paths = (flags.get("git-path") ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "" && p !== "." && p !== "./");
  const path = paths.length === 0 ? "./" : paths.join(",");
  if (paths.length === 0) f.add("mapped", file, `${describe(d.obj)} --git-path=${flags.get("git-path") ?? ""}`, "the repo's root (./)");
  else f.add("unmapped", file, subject("git-path"), `tenantry applies the root of the team's branch: make ${paths.join(" and ")} the root of a branch (or a kustomization.yaml at the root pointing to ${paths.length === 1 ? "it" : "them"}) before pushing the admin repo`);
  const poll = flags.get("git-poll-interval") ?? "5m";
  const syncEvery = flags.get("sync-interval") ?? "5m";
  const interval = shorterDuration(poll, syncEvery);
  f.add("mapped", file, `${describe(d.obj)} --git-poll-interval=${poll} --sync-interval=${syncEvery}`, poll === syncEvery ? `interval ${interval}` : `interval ${interval}: tenantry fetches and applies on one interval, the shorter`);
  const allowed = (flags.get("k8s-allow-namespace") ?? "").split(",").filter((n) => n !== "");
  if (allowed.length === 0) f.add("tightened", file, `${describe(d.obj)} without --k8s-allow-namespace`, `namespace ${scope.team} only`);
  for (const ns of allowed) {
    if (ns === scope.namespace) f.add("mapped", file, `${describe(d.obj)} --k8s-allow-namespace=${ns}`, `namespace ${scope.team}: the team's repo is applied there only`);
    else f.add("unmapped", file, `${describe(d.obj)} --k8s-allow-namespace=${ns}`, `a second namespace of team ${scope.tenant}: a tenantry team has one home namespace (${scope.team}); create another team for it`);
  }
  if (flags.get("sync-garbage-collection") === "true") f.add("mapped", file, subject("sync-garbage-collection"), "tenantry prunes what the team removes from its repo");
  else f.add("tightened", file, `${describe(d.obj)} without --sync-garbage-collection`, "tenantry prunes what the team removes from its repo (fluxd left it in the cluster)");
  if (flags.get("git-readonly") === "true") f.add("mapped", file, subject("git-readonly"), "a read-only deploy key");
  else f.add("tightened", file, `${describe(d.obj)} without --git-readonly`, `a read-only deploy key (tenantry keys create ${scope.team}): tenantry never writes to a team's repo (fluxd pushed its sync tag with a write key)`);
  const handled = new Set(["git-url", "git-branch", "git-path", "git-poll-interval", "sync-interval", "k8s-allow-namespace", "sync-garbage-collection", "git-readonly"]);
  for (const [k, v] of all) {
    if (handled.has(k)) continue;
    const s = `${describe(d.obj)} --${k}${v === "true" ? "" : `=${v}`}`;
    if (k === "manifest-generation") {
      if (v === "true") f.add("unmapped", file, s, "tenantry runs no .flux.yaml generators: it builds the repo's kustomization.yaml itself (the same as a .flux.yaml of `kustomize build .`); check the team's .flux.yaml before pushing");
    } else if (INTERNAL_FLAGS.has(k)) f.add("mapped", file, s, "fluxd's own plumbing: nothing to carry over");
    else if (WRITE_FLAGS.test(k)) f.add("unmapped", file, s, "image automation and writes to the team's repo: tenantry only reads team repos; not carried over");
    else f.add("unmapped", file, s, "no tenantry equivalent: left out");
  }
  return { sync: { repoUrl: url, branch, path, interval, file }, rest };
}

function judgeCommon(tree: SourceTree, items: ReportItem[]): void {
  if (kustomizationFile(tree, "cluster/common") === undefined) return;
  const loaded = loadKustomization(tree, "cluster/common", null);
  items.push(...loaded.items);
  for (const l of loaded.objects) {
    items.push({ verdict: "unmapped", tenant: null, file: l.file, subject: describe(l.obj), detail: "a cluster-wide object: tenantry renders its own cluster/common; add it there by hand if it is still needed (tenantry plan flags it)" });
  }
}

function judgeInstall(tree: SourceTree, items: ReportItem[]): string | null {
  const file = "install/flux-patch.yaml";
  const text = tree.get(file);
  if (text === undefined) return null;
  let url: string | null = null;
  for (const o of parseYamlObjects(text, file)) {
    const args = fluxdContainer({ file, obj: o })?.args ?? [];
    const { flags } = parseFluxdArgs(args);
    const u = flags.get("git-url");
    if (u === undefined) continue;
    url = u;
    items.push({ verdict: "mapped", tenant: null, file, subject: `${describe(o)} --git-url=${u}`, detail: "tenantry.yaml gitUrl: the admin repo, synced by GitSync tenantry-system/admin" });
    const p = flags.get("git-path");
    if (p !== undefined && p !== "") items.push({ verdict: "mapped", tenant: null, file, subject: `${describe(o)} --git-path=${p}`, detail: "the admin repo's root: the import lays the admin repo out anew" });
    items.push({ verdict: "mapped", tenant: null, file, subject: "the cluster's fluxd (install/)", detail: "tenantry's agent in cluster/common (engine tenantry)" });
  }
  return url;
}

function judgeFluxYaml(tree: SourceTree, items: ReportItem[]): void {
  const text = tree.get(".flux.yaml");
  if (text === undefined) return;
  const value = parseYamlMap(text, ".flux.yaml");
  const commands = JSON.stringify(value).match(/"command":"([^"]*)"/g) ?? [];
  const plain = commands.every((c) => /"command":"kustomize build \.?"/.test(c));
  items.push(
    plain
      ? { verdict: "mapped", tenant: null, file: ".flux.yaml", subject: "generator `kustomize build .`", detail: "tenantry builds the admin repo's kustomization.yaml with its confined kustomize" }
      : { verdict: "unmapped", tenant: null, file: ".flux.yaml", subject: "generators", detail: "tenantry runs no .flux.yaml commands, only its own kustomize build: redo what they generate in the repo" },
  );
}

export function parseFluxV1(tree: SourceTree, o: FluxV1Options): ParsedSource {
  const top = kustomizationFile(tree, "cluster");
  if (top === undefined) throw new ValidationError(["not a Flux v1 multi-tenancy layout: cluster/kustomization.yaml is missing (it lists ./common/ and one ./<team>/ per team): check the directory, or import flux2-multi-tenancy"]);
  const k = parseYamlMap(tree.get(top) ?? "", top);
  const entries: string[] = [];
  for (const field of ["bases", "resources"]) {
    const v = k[field];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.some((e) => typeof e !== "string")) throw new ValidationError([`${top}: ${field} is not a list of strings: fix the file`]);
    entries.push(...(v as string[]));
  }
  const items: ReportItem[] = [];
  const teams: ImportedTeam[] = [];
  const listed = new Set<string>();
  for (const entry of entries) {
    const path = join("cluster", entry);
    if (path === null || !path.startsWith("cluster/")) {
      items.push({ verdict: "unmapped", tenant: null, file: top, subject: `resource ${entry}`, detail: "outside cluster/: not imported" });
      continue;
    }
    const dir = path.slice("cluster/".length);
    if (dir.includes("/") || kustomizationFile(tree, path) === undefined) {
      if (tree.has(path)) items.push({ verdict: "unmapped", tenant: null, file: path, subject: "a file listed in cluster/kustomization.yaml", detail: "a cluster-wide object: not imported; add it to cluster/common by hand if it is needed" });
      else throw new ValidationError([`${top}: ${entry} does not exist (${path}/kustomization.yaml): fix the file or restore the directory`]);
      continue;
    }
    listed.add(dir);
    if (dir === "common") {
      judgeCommon(tree, items);
      continue;
    }
    if (!tree.has(`${path}/flux-patch.yaml`)) {
      items.push({ verdict: "unmapped", tenant: null, file: `${path}/`, subject: `cluster/${dir}`, detail: "a cluster add-on (no flux-patch.yaml: not a team): install it separately, or add its objects to cluster/common by hand" });
      continue;
    }
    const tenant = dir;
    const teamK = parseYamlMap(tree.get(kustomizationFile(tree, path) ?? "") ?? "", `${path}/kustomization.yaml`);
    const loaded = loadKustomization(tree, path, tenant);
    const nsObjects = loaded.objects.filter((l) => kindOf(l.obj) === "Namespace").map((l) => nameOf(l.obj));
    const namespace = str(teamK.namespace) ?? nsObjects[0] ?? tenant;
    const team = o.teamName === "namespace" ? namespace : tenant;
    const f = new Findings({ tenant, namespace, team, defaultTier: o.defaultTier, engineSubjects: new Set(["sa:flux"]) });
    f.items.push(...loaded.items);
    for (const g of loaded.generators) {
      if (g.name === "flux-kube-config") {
        if (g.file.startsWith(`${path}/`)) f.add("mapped", g.file, `${g.field} flux-kube-config`, `fluxd's kubeconfig pinning it to namespace ${namespace}: the team's agent runs in namespace ${team}`);
      } else f.add("unmapped", g.file, `${g.field} ${g.name}`, "generated objects are not imported: add them by hand");
    }
    const { sync, rest } = judgeFluxd(loaded.objects, f);
    const others: Located[] = [];
    for (const l of rest) {
      if (kindOf(l.obj) === "Secret" && nameOf(l.obj) === "flux-git-deploy") f.add("mapped", l.file, describe(l.obj), `Secret ${team}/${team}-deploy-key: tenantry keys create ${team}, then register its public half on the team's repo (read-only)`);
      else others.push(l);
    }
    for (const l of judgeTenantObjects(others, f)) extraObject(l, f);
    addDefaults(f, `${path}/`);
    items.push(...f.items);
    if (sync !== null) teams.push({ tenant, team, namespace, ...sync });
  }
  for (const dir of subdirs(tree, "cluster")) {
    if (!listed.has(dir)) items.push({ verdict: "mapped", tenant: null, file: `cluster/${dir}/`, subject: `cluster/${dir}`, detail: "not listed in cluster/kustomization.yaml: fluxd did not apply it, and it is left out" });
  }
  const adminGitUrl = judgeInstall(tree, items);
  judgeFluxYaml(tree, items);
  return { layout: "flux-v1", env: null, adminGitUrl, teams, items };
}
