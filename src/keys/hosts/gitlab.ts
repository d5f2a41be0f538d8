// GitLab project deploy keys: GET/POST /projects/:id/deploy_keys, DELETE …/:key_id, with the
// token in PRIVATE-TOKEN. The project id is the URL-encoded path (group/sub/project).
// Re-posting a key the project already has returns it (201); a fingerprint taken by another
// project answers 400 `{"message":{"deploy_key.fingerprint":["has already been taken"]}}`.

import { parsePublicKey } from "../../model/ssh-key.js";
import { type ForgeContext, hostMessage, type HttpResponse, send, statusError } from "./host-api.js";
import { type DeployKey, type HostAdapter, KeyInUseError } from "./types.js";

export const GITLAB_API = "https://gitlab.com/api/v4";

interface GitLabKey {
  id: number;
  key: string;
  title: string;
  can_push?: boolean;
}

function toKey(k: GitLabKey): DeployKey {
  return { id: String(k.id), title: k.title, key: k.key, fingerprint: parsePublicKey(k.key)?.fingerprint ?? "", readOnly: k.can_push !== true };
}

export function gitlabAdapter(base: Omit<ForgeContext, "hostName" | "authHeaders" | "permissionHint">): HostAdapter {
  const ctx: ForgeContext = {
    ...base,
    hostName: "GitLab",
    authHeaders: { "PRIVATE-TOKEN": base.token },
    permissionHint: "the token needs the api scope and the Maintainer role on the project",
  };
  const path = `/projects/${encodeURIComponent(base.repo)}/deploy_keys`;
  return {
    kind: "gitlab",
    where: `gitlab ${base.repo}`,
    spec: { kind: "gitlab", repo: base.repo, apiUrl: base.apiUrl },
    async list() {
      const keys: DeployKey[] = [];
      let page: string | null = "1";
      for (let i = 0; page !== null && page !== "" && i < 100; i++) {
        const res: HttpResponse = await send(ctx, "GET", `${path}?per_page=100&page=${encodeURIComponent(page)}`);
        if (res.status !== 200 || !Array.isArray(res.body)) throw statusError(ctx, res, "list the deploy keys");
        keys.push(...(res.body as GitLabKey[]).map(toKey));
        page = res.headers.get("x-next-page");
      }
      return keys;
    },
    async add(title, key) {
      const res = await send(ctx, "POST", path, { title, key, can_push: false });
      if (res.status === 201 || res.status === 200) return toKey(res.body as GitLabKey);
      if (res.status === 400 && /fingerprint.*already been taken/i.test(hostMessage(res.body, base.token))) {
        throw new KeyInUseError(`GitLab refuses the key for ${base.repo}: another project already has it as a deploy key: give this repo its own key (tenantry keys rotate), or enable the existing key on the project in GitLab`);
      }
      throw statusError(ctx, res, "add a deploy key");
    },
    async remove(key) {
      const res = await send(ctx, "DELETE", `${path}/${encodeURIComponent(key.id)}`);
      if (res.status === 204 || res.status === 200) return;
      throw statusError(ctx, res, "remove a deploy key");
    },
  };
}
