// Whose deploy key: a team's (Secret <team>-deploy-key in namespace <team>, read by GitSync
// <team>/<team>, or under Flux by GitRepository <team>/<team>; for a team on its own control
// plane, which has no namespace on this cluster, Secret tenantry-system/<team>-deploy-key read
// by GitSync tenantry-system/<team>) or the admin repo's: under the
// tenantry engine admin-deploy-key in tenantry-system (GitSync tenantry-system/admin), under
// Flux Secret flux-system/flux-system (GitRepository flux-system/flux-system, Flux's
// convention). One place derives every name from the pinned conventions (src/engines/).

import { findAdminRepo, readClusterConfig, readTeamSpec } from "../repo/admin-repo.js";
import { ValidationError } from "../errors.js";
import { SYSTEM_NAMESPACE, teamNameProblems } from "../model/names.js";
import type { Isolation } from "../model/controlplane.js";
import { adminSync, type SyncEngine } from "../engines/engines.js";

export const ADMIN_LABEL = "admin";

export interface KeyTarget {
  /** The team, or null for the admin repo. */
  readonly team: string | null;
  /** The team's name, or "admin": how messages and `keys list` name it. */
  readonly label: string;
  readonly namespace: string;
  readonly secretName: string;
  /** The object that fetches with the key (a GitSync; under Flux the GitRepository of the same name). */
  readonly gitSync: { readonly namespace: string; readonly name: string };
  /** The public key's path in the admin repo. */
  readonly pubPath: string;
}

export interface RepoTarget extends KeyTarget {
  /** The admin repo's root. */
  readonly root: string;
  readonly clusterName: string;
  /** The repo this key reads, from team.yaml or tenantry.yaml; null when none is set. */
  readonly repoUrl: string | null;
  /** `tenantry:<cluster>:<team>`: the deploy key's title on the host. */
  readonly title: string;
  /** The admin repo's sync engine (tenantry.yaml's spec.engine). */
  readonly engine: SyncEngine;
}

/**
 * The engine of the admin repo around the current directory, or tenantry outside one (and
 * when its tenantry.yaml cannot be read: the command that needs it reports that itself).
 */
export function engineHere(cwd = process.cwd()): SyncEngine {
  try {
    return readClusterConfig(findAdminRepo(undefined, cwd)).engine;
  } catch {
    return "tenantry";
  }
}

/**
 * The isolation of `team` in the admin repo around the current directory; namespace outside
 * one, for a team it does not hold (deleted already), or when its team.yaml cannot be read.
 */
export function isolationHere(team: string, cwd = process.cwd()): Isolation {
  try {
    return readTeamSpec(findAdminRepo(undefined, cwd), team)?.isolation ?? "namespace";
  } catch {
    return "namespace";
  }
}

/**
 * The names for `team` (null: the admin repo). The admin repo's key lives where its engine
 * reads it: `engine`, or the engine of the admin repo around the current directory. A team's
 * key lives where its isolation puts its GitSync: `isolation`, or the team's in the admin repo
 * around the current directory.
 */
export function keyTarget(team: string | null, engine?: SyncEngine, isolation?: Isolation): KeyTarget {
  if (team === null) {
    const sync = adminSync(engine ?? engineHere());
    const fetcher = sync.objects[0];
    return {
      team: null,
      label: ADMIN_LABEL,
      namespace: sync.namespace,
      secretName: sync.secretName,
      gitSync: { namespace: fetcher?.namespace ?? sync.namespace, name: fetcher?.name ?? sync.secretName },
      pubPath: "cluster/common/deploy-key.pub",
    };
  }
  const problems = teamNameProblems(team);
  if (problems.length > 0) throw new ValidationError(problems);
  if ((isolation ?? isolationHere(team)) === "controlplane") {
    return { team, label: team, namespace: SYSTEM_NAMESPACE, secretName: `${team}-deploy-key`, gitSync: { namespace: SYSTEM_NAMESPACE, name: team }, pubPath: `cluster/${team}/deploy-key.pub` };
  }
  return { team, label: team, namespace: team, secretName: `${team}-deploy-key`, gitSync: { namespace: team, name: team }, pubPath: `cluster/${team}/deploy-key.pub` };
}

/** The target in the admin repo (`adminRepo` or the one around the current directory); the team must exist there. */
export function repoTarget(team: string | null, adminRepo: string | undefined): RepoTarget {
  const root = findAdminRepo(adminRepo);
  const config = readClusterConfig(root);
  let repoUrl: string | null;
  let isolation: Isolation = "namespace";
  if (team === null) {
    repoUrl = config.gitUrl;
  } else {
    const names = teamNameProblems(team);
    if (names.length > 0) throw new ValidationError(names);
    const spec = readTeamSpec(root, team);
    if (spec === null) throw new ValidationError([`team "${team}" is not in the admin repo ${root}: create it first with tenantry create-team ${team}`]);
    repoUrl = spec.repoUrl;
    isolation = spec.isolation;
  }
  const t = keyTarget(team, config.engine, isolation);
  return { ...t, root, clusterName: config.name, repoUrl, title: keyTitle(config.name, t.label), engine: config.engine };
}

export function keyTitle(cluster: string, label: string): string {
  return `tenantry:${cluster}:${label}`;
}

/** Whether `title` is ours: the plain title, or a rotated key's `<title>:<stamp>`. */
export function isOurTitle(title: string, base: string): boolean {
  return title === base || title.startsWith(`${base}:`);
}

/** Where a repo URL points: its host, its path on that host, and `owner/name` for forges. */
export interface RepoLocation {
  readonly host: string;
  /** The path as the server sees it (`/srv/git/team.git` for ssh://, `org/team.git` scp-like). */
  readonly path: string;
  /** `org/team` (subgroups kept), without `.git`. */
  readonly fullName: string;
}

export function repoLocation(url: string): RepoLocation | null {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(.+)$/.exec(url);
  let host: string;
  let path: string;
  if (scp?.[1] !== undefined && scp[2] !== undefined && !url.includes("://")) {
    host = scp[1];
    path = scp[2];
  } else {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return null;
    }
    if (u.protocol !== "ssh:" && u.protocol !== "https:" && u.protocol !== "http:") return null;
    host = u.hostname;
    path = decodeURIComponent(u.pathname);
  }
  const fullName = path.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "");
  return fullName === "" ? null : { host, path, fullName };
}
