// Choosing and configuring the adapter for `--host`: the token from the environment, the
// API URL (a default for GitHub and GitLab; Gitea has none), the repo from --repo or from
// the team's repo URL.

import { resolve } from "node:path";
import { ExitCode, TenantryError, ValidationError } from "../../errors.js";
import { repoLocation } from "../target.js";
import { GITHUB_API, githubAdapter } from "./github.js";
import { giteaAdapter } from "./gitea.js";
import { GITLAB_API, gitlabAdapter } from "./gitlab.js";
import { apiUrlProblems, DEFAULT_TIMEOUT_MS, ownerRepoProblems, requireToken } from "./host-api.js";
import { sshAdapter } from "./ssh.js";
import type { HostAdapter, HostKind, HostSpec } from "./types.js";

export type { HostSpec };

export const TOKEN_ENV: Readonly<Record<Exclude<HostKind, "ssh">, string>> = { github: "GITHUB_TOKEN", gitlab: "GITLAB_TOKEN", gitea: "GITEA_TOKEN" };
const DEFAULT_API: Readonly<Record<Exclude<HostKind, "ssh">, string | undefined>> = { github: GITHUB_API, gitlab: GITLAB_API, gitea: undefined };

/** The adapter for `spec`; `repoUrl` is the team's (or admin) repo, for the defaults. */
export function hostAdapter(spec: HostSpec, repoUrl: string | null, env: NodeJS.ProcessEnv = process.env): HostAdapter {
  const location = repoUrl === null ? null : repoLocation(repoUrl);
  if (spec.kind === "ssh") {
    if (spec.authorizedKeys === undefined) throw new ValidationError(["--host ssh needs --authorized-keys FILE: the git user's authorized_keys on the server"]);
    const repoPath = spec.repo ?? location?.path;
    if (repoPath === undefined) throw new ValidationError([`cannot tell the repo's path on the server from ${repoUrl ?? "(no repo URL)"}: pass --repo PATH`]);
    return sshAdapter({ authorizedKeys: resolve(spec.authorizedKeys), repoPath });
  }
  const repo = spec.repo ?? location?.fullName;
  const problems: string[] = [];
  if (repo === undefined) problems.push(`cannot tell owner/name from the repo URL ${repoUrl ?? "(none)"}: pass --repo owner/name`);
  else problems.push(...ownerRepoProblems(repo, spec.kind === "gitlab"));
  const apiUrl = spec.apiUrl ?? DEFAULT_API[spec.kind];
  if (apiUrl === undefined) problems.push(`--host ${spec.kind} needs --api-url (e.g. https://gitea.example.com/api/v1): Gitea has no default server`);
  else problems.push(...apiUrlProblems(apiUrl));
  if (problems.length > 0 || repo === undefined || apiUrl === undefined) throw new ValidationError(problems);
  const tokenEnv = TOKEN_ENV[spec.kind];
  const token = requireToken(env, tokenEnv, spec.kind === "github" ? "GitHub" : spec.kind === "gitlab" ? "GitLab" : "Gitea");
  const base = { apiUrl, repo, token, tokenEnv, timeoutMs: spec.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  switch (spec.kind) {
    case "github":
      return githubAdapter(base);
    case "gitlab":
      return gitlabAdapter(base);
    case "gitea":
      return giteaAdapter(base);
  }
}

/** The host spec recorded on a Secret (`tenantry.dev/registered` and friends), for rotate and revoke. */
export function recordedSpec(record: string | undefined, apiUrl: string | undefined, repoPath: string | undefined): HostSpec | undefined {
  if (record === undefined || record === "") return undefined;
  const colon = record.indexOf(":");
  const kind = record.slice(0, colon);
  const rest = record.slice(colon + 1);
  if (colon <= 0 || !["github", "gitlab", "gitea", "ssh"].includes(kind)) {
    throw new TenantryError(`the Secret's registration "${record}" is not one tenantry wrote: pass --host (and --repo) explicitly`, ExitCode.invalid);
  }
  if (kind === "ssh") return { kind: "ssh", authorizedKeys: rest, repo: repoPath };
  return { kind: kind as HostKind, repo: rest, apiUrl };
}
