// GitHub repository deploy keys: GET/POST /repos/{owner}/{repo}/keys, DELETE …/keys/{id}.
// read_only defaults to false on GitHub, so it is always sent as true. A key can be a deploy
// key of one repository only: GitHub answers 422 "key is already in use" otherwise.

import { parsePublicKey } from "../../model/ssh-key.js";
import { type ForgeContext, hostMessage, type HttpResponse, send, statusError } from "./host-api.js";
import { type DeployKey, type HostAdapter, KeyInUseError } from "./types.js";

export const GITHUB_API = "https://api.github.com";

interface GitHubKey {
  id: number;
  key: string;
  title: string;
  read_only?: boolean;
}

function toKey(k: GitHubKey): DeployKey {
  return { id: String(k.id), title: k.title, key: k.key, fingerprint: parsePublicKey(k.key)?.fingerprint ?? "", readOnly: k.read_only === true };
}

/** The rel="next" URL of a Link header, if any. */
export function nextLink(link: string | null): string | undefined {
  if (link === null) return undefined;
  for (const part of link.split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

export function githubAdapter(base: Omit<ForgeContext, "hostName" | "authHeaders" | "permissionHint">): HostAdapter {
  const ctx: ForgeContext = {
    ...base,
    hostName: "GitHub",
    authHeaders: { Authorization: `Bearer ${base.token}`, Accept: "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28" },
    permissionHint: "the token needs admin rights on the repo (classic: repo scope; fine-grained: Administration read and write)",
  };
  const path = `/repos/${base.repo}/keys`;
  return {
    kind: "github",
    where: `github ${base.repo}`,
    spec: { kind: "github", repo: base.repo, apiUrl: base.apiUrl },
    async list() {
      const keys: DeployKey[] = [];
      let next: string | undefined = `${path}?per_page=100`;
      for (let page = 0; next !== undefined && page < 100; page++) {
        const res: HttpResponse = await send(ctx, "GET", next);
        if (res.status !== 200 || !Array.isArray(res.body)) throw statusError(ctx, res, "list the deploy keys");
        keys.push(...(res.body as GitHubKey[]).map(toKey));
        next = nextLink(res.headers.get("link"));
      }
      return keys;
    },
    async add(title, key) {
      const res = await send(ctx, "POST", path, { title, key, read_only: true });
      if (res.status === 201) return toKey(res.body as GitHubKey);
      if (res.status === 422 && /already in use/i.test(hostMessage(res.body, base.token))) {
        throw new KeyInUseError(`GitHub refuses the key for ${base.repo}: it is already in use (a deploy key of another repo, or a user's key), and GitHub allows a key in one place only: give this repo its own key (tenantry keys rotate)`);
      }
      throw statusError(ctx, res, "add a deploy key");
    },
    async remove(key) {
      const res = await send(ctx, "DELETE", `${path}/${encodeURIComponent(key.id)}`);
      if (res.status === 204) return;
      throw statusError(ctx, res, "remove a deploy key");
    },
  };
}

