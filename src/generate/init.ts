// `tenantry init`: renders a new admin repo, validates it, commits it in a staging
// directory and only then moves it into place.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ValidationError } from "../errors.js";
import { type ClusterConfig, fluxUrlProblems, parseClusterConfig, type PolicyEngine, type SyncEngine } from "../model/cluster-config.js";
import { withEngineFiles } from "../engines/engines.js";
import { fluxComponentsFor } from "./flux-components.js";
import { dnsLabelProblems, yamlScalarProblems } from "../model/names.js";
import { DEFAULT_NAMESPACE_QUOTA } from "../model/namespaces.js";
import { gitUrlProblems, ownerProblems } from "../model/values.js";
import { generatedVersions, podSecurityVersion } from "../toolchain.js";
import type { Versions } from "../render/context.js";
import type { FileTree } from "../render/engine.js";
import { renderAdminRepo, type Templates } from "../render/repos.js";
import { applyChanges, diffChanges } from "../repo/changes.js";
import { commitAll, initAndCommit, isGitRepo } from "../repo/git.js";
import { CONFIG_FILE } from "../repo/admin-repo.js";

export interface InitOptions {
  readonly clusterName: string;
  readonly gitUrl?: string | undefined;
  readonly platformTeam?: string | undefined;
  readonly policyEngine: PolicyEngine;
  /** The sync engine (default tenantry). */
  readonly engine?: SyncEngine | undefined;
}

export const DEFAULT_AGENT_IMAGE = "ghcr.io/tenantry-dev/tenantry:v0.1.0";

/** `git@host:org/admin.git` -> `git@host:org/{team}.git`: team repos sit beside the admin repo. */
export function teamRepoPattern(gitUrl: string): string {
  return gitUrl.replace(/[^/:]+?(\.git)?\/?$/, (_m, suffix: string | undefined) => `{team}${suffix ?? ""}`);
}

/** Every problem with the init options, all at once. */
export function initProblems(o: InitOptions): string[] {
  return [
    // tenantry.yaml.hbs writes it bare: 010 would read back as a number.
    ...dnsLabelProblems("cluster name", o.clusterName),
    ...yamlScalarProblems("cluster name", o.clusterName),
    ...(o.gitUrl === undefined ? [] : gitUrlProblems("--git-url", o.gitUrl)),
    // Flux fetches ssh:// and http(s):// only (its team repos default to siblings of this URL).
    ...(o.gitUrl === undefined || o.engine !== "flux" || gitUrlProblems("--git-url", o.gitUrl).length > 0 ? [] : fluxUrlProblems("--git-url", o.gitUrl)),
    ...(o.platformTeam === undefined ? [] : ownerProblems("--platform-team", o.platformTeam)),
  ];
}

/**
 * Pure: the admin repo's files for these options, and the config they parse back to.
 * `components`: the vendored Flux components, needed (only) when o.engine is flux.
 */
export function renderInit(
  t: Pick<Templates, "partials" | "cluster">,
  o: InitOptions,
  v: Versions,
  components: string | null = null,
): { tree: FileTree; config: ClusterConfig } {
  const problems = initProblems(o);
  if (problems.length > 0) throw new ValidationError(problems);
  const engine = o.engine ?? "tenantry";
  const seed: ClusterConfig = {
    name: o.clusterName,
    engine,
    gitUrl: o.gitUrl ?? null,
    teamRepoPattern: o.gitUrl === undefined ? null : teamRepoPattern(o.gitUrl),
    platformTeam: o.platformTeam ?? null,
    policyEngine: o.policyEngine,
    podSecurity: { level: "restricted", version: podSecurityVersion() },
    agentImage: DEFAULT_AGENT_IMAGE,
    requireAlwaysPull: false,
    allowExternalName: false,
    allowPlainSecrets: false,
    defaultTier: "small",
    defaultRegistries: [],
    tiers: {},
    namespaceQuota: DEFAULT_NAMESPACE_QUOTA,
  };
  const tree = withEngineFiles(renderAdminRepo(t, seed, v), engine, components);
  // Parsing the rendered tenantry.yaml proves the template and the options agree.
  const config = parseClusterConfig(tree.get(CONFIG_FILE) ?? "", CONFIG_FILE);
  return { tree, config };
}

export type InitResult =
  | { readonly kind: "created"; readonly dir: string; readonly files: number; readonly commit: string }
  | { readonly kind: "restored"; readonly dir: string; readonly restored: readonly string[] };

function writeTree(dir: string, tree: FileTree): void {
  for (const [path, content] of tree) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (path.endsWith(".sh")) chmodSync(file, 0o755);
  }
}

/**
 * Creates the admin repo in `dir` (absent or empty). In an existing admin repo it only
 * restores files that are missing and never overwrites one. Anything else is refused.
 */
export async function init(t: Pick<Templates, "partials" | "cluster">, dirArg: string, o: InitOptions): Promise<InitResult> {
  const dir = resolve(dirArg);
  const problems = initProblems(o);
  if (problems.length > 0) throw new ValidationError(problems);
  const { tree } = renderInit(t, o, generatedVersions(), fluxComponentsFor(o.engine ?? "tenantry"));
  const entries = existsSync(dir) ? readdirSync(dir) : [];
  if (entries.length > 0) {
    if (!existsSync(join(dir, CONFIG_FILE))) {
      throw new ValidationError([`${dir} is not empty and not a tenantry admin repo: choose an empty or new directory`]);
    }
    const missing = new Map([...diffChanges(dir, tree)].filter(([path]) => !existsSync(join(dir, path))));
    applyChanges(dir, { writes: missing, deletes: [] });
    if (missing.size > 0 && (await isGitRepo(dir))) await commitAll(dir, "tenantry init: restore missing files", [...missing.keys()]);
    return { kind: "restored", dir, restored: [...missing.keys()] };
  }
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(dir)}.tenantry-`));
  try {
    writeTree(staging, tree);
    const commit = await initAndCommit(staging, `tenantry init: cluster ${o.clusterName}`);
    chmodSync(staging, 0o755); // mkdtemp makes it 0700
    if (existsSync(dir)) rmdirSync(dir);
    renameSync(staging, dir);
    return { kind: "created", dir, files: tree.size, commit };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
