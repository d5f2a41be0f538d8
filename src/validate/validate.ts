// `tenantry validate`: everything that can be known about a repo without a cluster or the
// network. The pinned kustomize build of every overlay; every object against the schema of
// its kind (built-in kinds from the pinned release, CRDs and Gatekeeper templates from the
// repo, Flux's CRDs from the pinned Flux release); remote bases refused; the tenant-scope lint
// and the rules for Flux objects (src/plan/flux.ts); the policies compiled and exercised
// (src/policies: gator suites for Gatekeeper, the API server's checks for
// ValidatingAdmissionPolicies). Every problem is collected, none stops the others; the
// report says them all at once.

import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describeObject, type KubeObject, objectId, parseObjects } from "../model/object.js";
import { ExitCode, TenantryError, ValidationError } from "../errors.js";
import { CONFIG_FILE, readClusterConfig, readTeamSpec } from "../repo/admin-repo.js";
import type { ClusterConfig } from "../model/cluster-config.js";
import { clusterDirOf, teamNameProblems } from "../model/names.js";
import { namespaceNames, type TeamSpec, teamSpecProblems } from "../model/team-spec.js";
import { type AppCatalog, instanceDir, instanceKustomization, teamAppProblems, templateDir, templateFile, valuesWithDefaults } from "../model/apps.js";
import { buildInstance } from "../build/instance.js";
import { readAppCatalog } from "../repo/apps.js";
import { namespaceCollisionProblems, teamNamespaces } from "../model/namespaces.js";
import type { TeamPeers } from "../render/context.js";
import { quotaTotalProblems } from "./quota-total.js";
import { generatedVersions } from "../toolchain.js";
import { renderTeamOverlay } from "../render/repos.js";
import { readRepoFile } from "../repo/changes.js";
import { templates } from "../repo/templates.js";
import { mapLimit } from "../concurrency.js";
import { kustomizationClosure, kustomizationFile, remoteBaseProblems } from "../build/closure.js";
import { packageRoot } from "../paths.js";
import { checkPolicies, type PolicySummary } from "../policies/check.js";
import { defaultNamespace, teamScopeProblems } from "../policies/tenant-scope.js";
import { tenantScopeProblems } from "./lint.js";
import { type Located, type Problem, problemAt } from "../model/problem.js";
import {
  type AdminLayout,
  buildUnit,
  COMMON,
  kustomizationFiles,
  readLayout,
  type SourcedObject,
  TEAMS,
  teamOfUnit,
} from "../build/admin-layout.js";
import { SCHEMA_KUBERNETES_VERSION, SchemaSet, type Scope } from "./schemas.js";
import { BuildError } from "../build/service.js";
import { encryptedChanges } from "../secrets/changes.js";
import { holdsSopsFiles, repoTop } from "../secrets/repo-files.js";
import type { NetworkMatrix } from "../model/network.js";
import { escapeControl } from "../model/safe-text.js";
import { fluxTenancyFindings, teamRepoFluxFindings } from "../plan/flux.js";
import { fluxDefinedBy, pinnedFluxCrds } from "./flux-schemas.js";
import { kubeflexDefinedBy, pinnedKubeflexCrds } from "./kubeflex-schemas.js";
import { gitSyncPlacementProblems } from "./gitsync-rules.js";
import { namespacesProblems } from "../model/gitsync.js";

export interface ValidateReport {
  readonly repo: "admin" | "team";
  /** The team of a team repo; null for an admin repo. */
  readonly team: string | null;
  /** The Kubernetes release whose schemas built-in kinds were checked against. */
  readonly kubernetes: string;
  /** The builds that were run: overlay directories, or `.` for a root. */
  readonly overlays: readonly string[];
  readonly objects: number;
  readonly problems: readonly Problem[];
  /** Things worth knowing that are not problems: kinds without a schema, unlisted overlays. */
  readonly notes: readonly string[];
  /** A kustomize build failed: its objects could not be checked (exit 4). */
  readonly buildFailed: boolean;
  /** A policy checker (gator, tenantry-celcheck) is missing or failed (exit 4). */
  readonly toolFailed: boolean;
  /** What the policy checks covered; null for a team repo. */
  readonly policies: PolicySummary | null;
  /** With --network: who reaches whom, as tenantry-netcheck judged the NetworkPolicies; else null. */
  readonly network: NetworkMatrix | null;
}

export interface ValidateOptions {
  /** Judge the NetworkPolicies with tenantry-netcheck (src/network) and check the matrix. */
  readonly network?: boolean;
}

/** 0 when clean, 4 when a kustomize build failed, 2 for any other problem. */
export function exitCodeOf(r: ValidateReport): number {
  if (r.buildFailed || r.toolFailed) return ExitCode.external;
  return r.problems.length > 0 ? ExitCode.invalid : ExitCode.ok;
}

/** One line: `<file>: <Kind/ns/name>: <what is wrong>`. */
export function formatProblem(p: Problem): string {
  const overlayDir = p.overlay === "." ? "" : `${p.overlay}/`;
  const where =
    p.file === null ? p.overlay : p.file.startsWith(overlayDir) || p.overlay === "." ? p.file : `${p.file} (in overlay ${p.overlay})`;
  return p.object === null ? `${where}: ${p.message}` : `${where}: ${p.object}: ${p.message}`;
}

/** The report's problems as the error the CLI prints, or null when clean. */
export function reportError(r: ValidateReport): TenantryError | null {
  const code = exitCodeOf(r);
  if (code === ExitCode.ok) return null;
  const lines = r.problems.map(formatProblem);
  return code === ExitCode.invalid ? new ValidationError(lines) : new TenantryError(lines.join("\n"), ExitCode.external);
}

function sortProblems(problems: readonly Problem[]): Problem[] {
  const key = (p: Problem): string => `${p.file ?? p.overlay}\u0000${p.object ?? ""}\u0000${p.message}`;
  return [...new Map(problems.map((p) => [key(p), p])).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
}

/**
 * A note for each kustomization that names a remote base but that no build of the repo
 * reads (such as cluster/common/gatekeeper/, which an admin applies once): nothing fetches
 * it. A remote base a build reads is refused by the build service, naming the entry.
 */
function unreachedRemoteNotes(root: string): string[] {
  const built = new Set(kustomizationClosure(root, "."));
  return kustomizationFiles(root)
    .filter((file) => !built.has(file))
    .filter((file) => {
      try {
        return remoteBaseProblems(file, readFileSync(join(root, file), "utf8")).length > 0;
      } catch {
        return false; // malformed YAML: not built, nothing to note
      }
    })
    .map((file) => `${file} names a remote base; no build tenantry applies reads it, so it is neither fetched nor validated`);
}

interface Built {
  readonly objects: Located[];
  readonly problems: Problem[];
  /** The units built (those the build service refused before building are not). */
  readonly built: string[];
  readonly failed: boolean;
}

/** The problems of a build the service refused or that failed, attributed to files where it can. */
function buildProblems(unit: string, e: BuildError): Problem[] {
  if (e.problems.length > 0) return e.problems.map((p) => ({ file: p.file, overlay: unit, object: null, message: p.message }));
  return [{ file: null, overlay: unit, object: null, message: e.message.replace(`kustomize build ${unit} failed`, "kustomize build failed") }];
}

/** Builds `units` through the build service, all problems collected. */
async function buildUnits(root: string, units: readonly string[], locate: (unit: string, s: SourcedObject) => Located, opts: Parameters<typeof buildUnit>[2] = {}): Promise<Built> {
  const problems: Problem[] = [];
  const refused = new Set<string>();
  let failed = false;
  const results = await mapLimit(units, Math.max(2, availableParallelism()), async (unit) => {
    try {
      return (await buildUnit(root, unit, opts)).map((s) => locate(unit, s));
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      problems.push(...buildProblems(unit, e));
      // Refused by what the repo says (a remote base, a path out of the checkout): an input
      // problem. Anything else is a failed build.
      if (e.reason === "RemoteBaseRefused" || e.reason === "OutsideCheckout") refused.add(unit);
      else failed = true;
      return [];
    }
  });
  return { objects: results.flat(), problems, built: units.filter((u) => !refused.has(u)), failed };
}

function unknownKindNotes(objects: readonly Located[], schemas: SchemaSet): string[] {
  const unknown = new Map<string, number>();
  for (const l of objects) {
    if (schemas.knows(l.object)) continue;
    const key = `${l.object.apiVersion} ${l.object.kind}`;
    unknown.set(key, (unknown.get(key) ?? 0) + 1);
  }
  return [...unknown]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, n]) => `${kind}: no schema known (not built into Kubernetes ${SCHEMA_KUBERNETES_VERSION}, no CRD in the repo): ${n} object${n === 1 ? "" : "s"} not checked against a schema`);
}

function schemaProblems(objects: readonly Located[], schemas: SchemaSet): Problem[] {
  return objects.flatMap((l) => schemas.problems(l.object).map((m) => problemAt(l, m)));
}

function duplicateProblems(objects: readonly Located[]): Problem[] {
  const seen = new Map<string, Located>();
  const problems: Problem[] = [];
  for (const l of objects) {
    const id = objectId(l.object);
    const first = seen.get(id);
    if (first === undefined) seen.set(id, l);
    else problems.push(problemAt(l, `also defined in ${first.file ?? first.overlay}: an object may be defined once`));
  }
  return problems;
}

function problemsOf(e: unknown, file: string): Problem[] {
  if (e instanceof ValidationError) return e.problems.map((m) => ({ file, overlay: ".", object: null, message: m.startsWith(`${file}: `) ? m.slice(file.length + 2) : m }));
  throw e;
}

/** What create-team renders for `spec` (its overlay's files), or null when it cannot (a tier the config lacks). */
function renderedOverlay(config: ClusterConfig, spec: TeamSpec, peers: TeamPeers, catalog: AppCatalog): ReadonlyMap<string, string> | null {
  try {
    return renderTeamOverlay(templates, config, spec, generatedVersions(), peers, catalog);
  } catch {
    return null; // teamSpecProblems names the problem
  }
}

/** The objects create-team renders into a team's overlay, by objectId (API group included). */
function generatedIds(rendered: ReadonlyMap<string, string>): Set<string> {
  const ids = new Set<string>();
  for (const [path, text] of rendered) {
    if (!path.endsWith(".yaml") || path.endsWith("/team.yaml") || path.endsWith("/kustomization.yaml")) continue;
    for (const o of parseObjects(text, path)) ids.add(objectId(o));
  }
  return ids;
}

/**
 * A team owner may propose changes to its own overlay: anything there that create-team does
 * not render (a ClusterRoleBinding, a GitSync, a Secret...) is refused unless team.yaml
 * declares it as an extension, and even then `tenantry plan` flags it.
 */
function extensionProblems(
  objects: readonly Located[],
  teams: ReadonlyMap<string, { spec: TeamSpec; generated: Set<string> }>,
  refused: readonly Problem[],
): Problem[] {
  // An object already refused (say, for its namespace) needs no second message.
  const already = new Set(refused.map((p) => `${p.overlay} ${p.object ?? ""}`));
  const problems: Problem[] = [];
  for (const l of objects) {
    if (l.team === null) continue;
    const problem = problemAt(l, "");
    if (already.has(`${problem.overlay} ${problem.object ?? ""}`)) continue;
    const t = teams.get(l.team);
    if (t === undefined) continue;
    const id = describeObject(l.object);
    if (t.generated.has(objectId(l.object)) || t.spec.extensions.includes(id)) continue;
    problems.push(
      problemAt(l, `not rendered by create-team for team ${l.team}: a team overlay holds only what create-team renders; to keep it, declare it (tenantry create-team ${l.team} --extension ${id}) and the plan will flag it for review`),
    );
  }
  return problems;
}

/**
 * The objects of each team's app instances (admin delivery) are the team's to hold: built here
 * from what tenantry renders for the instance and its template's directory alone (never the
 * overlay's copy, which the team's owners may edit), their ids join what create-team renders.
 * An instance kustomization in the overlay that is not that text, or a symbolic link on its
 * path, is a problem: the overlay's build of it then holds objects the check refuses.
 */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

async function instanceFindings(root: string, teams: Map<string, { spec: TeamSpec; generated: Set<string> }>): Promise<Problem[]> {
  const problems: Problem[] = [];
  const { catalog } = readAppCatalog(root);
  for (const [team, t] of teams) {
    for (const app of t.spec.apps) {
      const template = catalog.get(app.template);
      if (template === undefined || template.delivery !== "admin") continue;
      const dir = instanceDir(team, app.name);
      const file = `${dir}/kustomization.yaml`;
      const expected = instanceKustomization(team, app, template, valuesWithDefaults(template, app.values, []));
      const link = [`cluster/${team}`, `cluster/${team}/apps`, dir, file].find((p) => isLink(join(root, p)));
      if (link !== undefined) {
        problems.push({ file: link, overlay: `cluster/${team}`, object: null, message: `is a symbolic link: an app instance's directory is what tenantry renders, plain files only; tenantry app upgrade ${team} ${app.name} renders it again` });
      } else if (readRepoFile(root, file) !== expected) {
        problems.push({ file, overlay: `cluster/${team}`, object: null, message: `not what tenantry renders for app instance ${app.name} (edited by hand, or its template.yaml changed): tenantry app upgrade ${team} ${app.name} renders it again` });
        continue;
      }
      try {
        for (const o of await buildInstance(root, team, app, template)) t.generated.add(objectId(o));
      } catch {
        // The overlay's build names the problem.
      }
    }
  }
  return problems;
}

/**
 * A note when a team's overlay is not what create-team renders from tenantry.yaml and its
 * team.yaml: a tier edited in tenantry.yaml reaches the cluster only once rendered again.
 */
function staleOverlayNotes(root: string, spec: TeamSpec, rendered: ReadonlyMap<string, string>): string[] {
  const differ = [...rendered]
    .filter(([path, text]) => !path.endsWith("/team.yaml") && readRepoFile(root, path) !== text)
    .map(([path]) => path.slice(path.lastIndexOf("/") + 1));
  if (differ.length === 0) return [];
  return [
    `cluster/${spec.name}/: ${differ.join(", ")} ${differ.length === 1 ? "differs" : "differ"} from what \`tenantry create-team ${spec.name}\` renders from tenantry.yaml and team.yaml (edited by hand, tenantry.yaml changed, or another tenantry version): run it to render them again`,
  ];
}

interface Findings {
  readonly problems: Problem[];
  readonly notes: string[];
}

/**
 * What the repo's own files say before anything is built: tenantry.yaml, the team list and
 * each team.yaml, overlays rendered from an older tenantry.yaml, overlays nobody lists.
 */
function repoFileFindings(root: string, layout: AdminLayout): Findings & { readonly teams: Map<string, { spec: TeamSpec; generated: Set<string> }>; readonly config: ClusterConfig | null } {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const teams = new Map<string, { spec: TeamSpec; generated: Set<string> }>();
  let config: ClusterConfig | null = null;
  try {
    config = readClusterConfig(root);
  } catch (e) {
    problems.push(...problemsOf(e, CONFIG_FILE));
  }
  // Every team's extra namespaces first: --allow-from another team renders all of its namespaces.
  const specs = new Map<string, TeamSpec>();
  for (const team of layout.teams) {
    try {
      const spec = readTeamSpec(root, team);
      if (spec?.name === team) specs.set(team, spec);
    } catch {
      // The loop below names the problem.
    }
  }
  const peers: TeamPeers = new Map([...specs].filter(([, s]) => namespaceNames(s).length > 0).map(([t, s]) => [t, namespaceNames(s)]));
  const apps = readAppCatalog(root);
  for (const [template, found] of apps.broken) problems.push(...found.map((m) => ({ file: templateFile(template), overlay: templateDir(template), object: null, message: m.startsWith(`${templateFile(template)}: `) ? m.slice(templateFile(template).length + 2) : m })));
  for (const team of layout.teams) {
    problems.push(...teamNameProblems(team).map((m) => ({ file: `${TEAMS}/kustomization.yaml`, overlay: TEAMS, object: null, message: m })));
    // Without a valid team.yaml nothing says what the overlay may hold: that alone fails validate.
    const file = `cluster/${team}/team.yaml`;
    const problem = (message: string): Problem => ({ file, overlay: `cluster/${team}`, object: null, message });
    try {
      const spec = readTeamSpec(root, team);
      if (spec === null) {
        problems.push(problem(`missing: every team overlay is rendered by create-team from its team.yaml; run tenantry create-team ${team} with the team's options to write it`));
        continue;
      }
      if (spec.name !== team) problems.push(problem(`names team ${spec.name}, but it is team ${team}'s: run tenantry create-team ${team} to write it`));
      if (config === null) continue;
      problems.push(...teamSpecProblems(spec, config).map(problem));
      const asNamespaces = (x: TeamSpec) => ({ name: x.name, namespaces: namespaceNames(x) });
      problems.push(...namespaceCollisionProblems(asNamespaces(spec), [...specs.values()].map(asNamespaces)).map((m) => problem(m.replace(/: pick another name.*$/, ": two teams cannot share a namespace; change one team's namespaces with tenantry create-team --namespaces"))));
      const tier = config.tiers[spec.tier];
      if (tier !== undefined && spec.apps.length > 0) {
        problems.push(...teamAppProblems(spec, tier.quota, config.namespaceQuota, apps.catalog, new Map()).map(problem));
        for (const a of spec.apps) {
          const now = apps.catalog.get(a.template)?.digest;
          if (now !== undefined && now !== a.templateDigest) notes.push(`app instance ${a.name} of team ${team} was rendered from an earlier ${templateFile(a.template)} (${a.templateDigest}, now ${now}): tenantry app upgrade ${team} ${a.name} renders it again`);
        }
      }
      const rendered = renderedOverlay(config, spec, peers, apps.catalog);
      if (rendered !== null) {
        notes.push(...staleOverlayNotes(root, spec, rendered));
        teams.set(team, { spec, generated: generatedIds(rendered) });
      }
    } catch (e) {
      problems.push(...problemsOf(e, file));
    }
  }
  if (existsSync(join(root, "cluster"))) {
    for (const e of readdirSync(join(root, "cluster"), { withFileTypes: true })) {
      const unit = `cluster/${e.name}`;
      if (!e.isDirectory() || unit === COMMON || unit === TEAMS || layout.teams.includes(e.name)) continue;
      if (kustomizationFile(join(root, unit)) !== undefined) notes.push(`${unit}/ is not listed in ${TEAMS}/kustomization.yaml: it is not applied, and not validated`);
    }
  }
  return { problems, notes, teams, config };
}

/** Which overlay and team a built object belongs to: its unit, or (built as the root) its file. */
function locatorFor(layout: AdminLayout): (unit: string, s: SourcedObject) => Located {
  const teams = new Set(layout.teams);
  return (unit, s) => {
    if (layout.plain) return { ...s, overlay: unit, team: teamOfUnit(unit) };
    const dir = clusterDirOf(s.file);
    if (dir !== undefined && teams.has(dir)) return { ...s, overlay: `cluster/${dir}`, team: dir };
    if (dir === "common") return { ...s, overlay: COMMON, team: null };
    return { ...s, overlay: ".", team: null };
  };
}

/**
 * The built-in kinds, the pinned Flux release's CRDs (flux-schemas.ts) and KubeFlex's
 * (kubeflex-schemas.ts): a repo's own CRDs, added after, take their place.
 */
function withFluxSchemas(): SchemaSet {
  const schemas = new SchemaSet();
  // The vendored files are tenantry's: a schema of them that does not compile is a bug of
  // tenantry's, not the repo's.
  const broken = [...schemas.addDefinitions(pinnedFluxCrds(), fluxDefinedBy), ...schemas.addDefinitions(pinnedKubeflexCrds(), kubeflexDefinedBy)];
  if (broken.length > 0) throw new Error(broken.join("\n"));
  return schemas;
}

/**
 * Every built object against its schema (the repo's CRDs and constraint templates added
 * first), the tenant-scope lint and duplicates. Returns the objects that passed their schema:
 * the policy checks of one that failed would only echo it.
 */
function objectFindings(objects: readonly Located[], teams: ReadonlyMap<string, { spec: TeamSpec }>): Findings & { readonly valid: Located[] } {
  const schemas = withFluxSchemas();
  const where = (o: KubeObject): string => objects.find((l) => l.object === o)?.file ?? o.kind;
  const problems = schemas.addDefinitions(objects.map((l) => l.object), where).map((m): Problem => ({ file: null, overlay: ".", object: null, message: m }));
  const found = objects.map((l) => schemas.problems(l.object));
  problems.push(...objects.flatMap((l, i) => (found[i] ?? []).map((m) => problemAt(l, m))));
  const namespacesOf = (team: string): readonly string[] => {
    const spec = teams.get(team)?.spec;
    return spec === undefined ? [team] : teamNamespaces(team, namespaceNames(spec));
  };
  problems.push(...tenantScopeProblems(objects, (o) => schemas.scopeOf(o), namespacesOf));
  problems.push(...objects.flatMap((l) => fluxTenancyFindings(l.object, { team: l.team }).map((f) => problemAt(l, f.message))));
  problems.push(...objects.flatMap((l) => gitSyncPlacementProblems(l.object).map((m) => problemAt(l, m))));
  problems.push(...duplicateProblems(objects));
  return { problems, notes: unknownKindNotes(objects, schemas), valid: objects.filter((_, i) => (found[i] ?? []).length === 0) };
}

/**
 * Validates the admin repo at `root` (the directory holding tenantry.yaml): its files,
 * remote bases, the build of every overlay, each object, and the policies.
 */
export async function validateAdminRepo(root: string, opts: ValidateOptions = {}): Promise<ValidateReport> {
  const layout = readLayout(root);
  const files = repoFileFindings(root, layout);
  const instances = await instanceFindings(root, files.teams);
  const built = await buildUnits(root, layout.units, locatorFor(layout));
  const objects = objectFindings(built.objects, files.teams);
  const config = files.config;
  // An overlay that did not build (no objects of its team) has its problem already; its quotas are unknown, not missing.
  const builtTeams = new Set(built.objects.map((l) => l.team));
  const quotas = config === null ? [] : [...files.teams.values()].filter((t) => builtTeams.has(t.spec.name)).flatMap((t) => quotaTotalProblems(built.objects, t.spec, config));
  const policies = await checkPolicies(objects.valid, layout.teams);
  const network = opts.network === true ? await networkFindings(built.objects, files.teams) : { matrix: null, problems: [], toolFailed: false };
  return {
    repo: "admin",
    team: null,
    kubernetes: SCHEMA_KUBERNETES_VERSION,
    overlays: built.built,
    objects: built.objects.length,
    problems: sortProblems([...files.problems, ...instances, ...built.problems, ...objects.problems, ...extensionProblems(built.objects, files.teams, objects.problems), ...quotas, ...policies.problems, ...network.problems]),
    notes: [...files.notes, ...unreachedRemoteNotes(root), ...objects.notes, ...policies.notes],
    buildFailed: built.failed,
    toolFailed: policies.toolFailed || network.toolFailed,
    policies: policies.summary,
    network: network.matrix,
  };
}

/**
 * The network matrix of the admin repo's objects and what breaks its rules (network/judge.ts),
 * each problem attributed to the overlay of the team whose policies decide it.
 */
async function networkFindings(
  objects: readonly Located[],
  teams: ReadonlyMap<string, { spec: TeamSpec }>,
): Promise<{ matrix: NetworkMatrix | null; problems: Problem[]; toolFailed: boolean }> {
  const [{ analyzeNetwork }, { judgeNetwork }] = await Promise.all([import("../network/analyze.js"), import("../network/judge.js")]);
  let matrix: NetworkMatrix;
  try {
    matrix = await analyzeNetwork(objects.map((l) => l.object));
  } catch (e) {
    if (!(e instanceof TenantryError) || e.exitCode !== ExitCode.external) throw e;
    return { matrix: null, problems: [{ file: null, overlay: ".", object: null, message: `network: ${e.message}` }], toolFailed: true };
  }
  const allowFrom = new Map([...teams].map(([team, t]) => [team, t.spec.allowFrom]));
  const teamOf = new Map(matrix.peers.map((p) => [p.id, p.team]));
  const problems = judgeNetwork(matrix, allowFrom).map((p): Problem => {
    const team = (p.rule === "cross-team" || p.rule === "address" ? teamOf.get(p.to) : teamOf.get(p.from)) ?? null;
    // Ids and ports come from the repo's files (names, protocols): one escaped line each.
    return { file: null, overlay: team === null ? "." : `cluster/${team}`, object: null, message: escapeControl(`network ${p.rule}: ${p.message}`) };
  });
  return { matrix, problems, toolFailed: false };
}

/** The GitSync CRD tenantry installs: a team repo may hold GitSyncs of its own. */
function tenantryDefinitions(): KubeObject[] {
  const file = join(packageRoot, "cluster-template", "cluster", "common", "gitsync-crd.yaml");
  return parseObjects(readFileSync(file, "utf8"), file);
}

/**
 * Validates a team's repo the way its GitSync applies it: built at the root, inside
 * namespace `team` and its extra namespaces `extra` (full names `<team>-<name>`, as the
 * GitSync's spec.namespaces lists them) only, namespaced objects only.
 */
export async function validateTeamRepo(root: string, team: string, extra: readonly string[] = [], opts: { readonly allowPlainSecrets?: boolean; readonly base?: string } = {}): Promise<ValidateReport> {
  const names = [...teamNameProblems(team), ...namespacesProblems(team, false, extra).map((p) => p.replace("spec.namespaces", "--namespaces"))];
  if (names.length > 0) throw new ValidationError(names);
  const problems: Problem[] = [];
  const notes: string[] = [];
  notes.push(...unreachedRemoteNotes(root));
  if (opts.base !== undefined) notes.push(...encryptedChanges(repoTop(root), opts.base));
  // SOPS files read with placeholders by tenantry-build-sops (never decrypted: validate has no
  // identity), only when the repo holds one; a Secret in plain text refused as the team's
  // GitSync refuses it.
  const built = await buildUnits(root, ["."], (unit, s) => ({ ...s, overlay: unit, team }), { sopsPassthrough: holdsSopsFiles(root), refusePlainSecrets: opts.allowPlainSecrets !== true });
  problems.push(...built.problems);
  const schemas = withFluxSchemas();
  schemas.addDefinitions(tenantryDefinitions(), (o) => o.kind);
  problems.push(...schemas.addDefinitions(built.objects.map((l) => l.object), (o) => o.kind).map((m) => ({ file: null, overlay: ".", object: null, message: m })));
  // Offline, a kind without a schema is taken to be namespaced (the note says so); the
  // API server has the last word when the team's agent applies it.
  const scopeOf = (o: KubeObject): Scope => {
    const s = schemas.scopeOf(o);
    return s === "unknown" ? "namespaced" : s;
  };
  const located = built.objects.map((l) => {
    const [object] = defaultNamespace([l.object], team, scopeOf);
    return { ...l, object: object ?? l.object };
  });
  for (const l of located) {
    problems.push(...teamScopeProblems([l.object], team, scopeOf, extra).map((m) => problemAt({ file: l.file, overlay: l.overlay }, m)));
  }
  // A team creates no Flux objects: its sync is the admin repo's (flux.ts says why, per object).
  for (const l of located) problems.push(...teamRepoFluxFindings(l.object, team).map((f) => problemAt(l, f.message)));
  for (const l of located) problems.push(...gitSyncPlacementProblems(l.object).map((m) => problemAt(l, m)));
  problems.push(...schemaProblems(located, schemas));
  problems.push(...duplicateProblems(located));
  notes.push(...unknownKindNotes(located, schemas).map((n) => `${n}; taken to be namespaced`));
  return {
    repo: "team",
    team,
    kubernetes: SCHEMA_KUBERNETES_VERSION,
    overlays: built.built,
    objects: located.length,
    problems: sortProblems(problems),
    notes,
    buildFailed: built.failed,
    toolFailed: false,
    policies: null,
    network: null,
  };
}
