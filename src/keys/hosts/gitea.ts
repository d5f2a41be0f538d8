// Gitea repository deploy keys: GET/POST /repos/{owner}/{repo}/keys, DELETE …/keys/{id},
// token in `Authorization: token …`. Lists are paged (page, limit) with the total in
// X-Total-Count. Refusals are 422 with a message: the key already on this repo, the title
// already used, or invalid key content.

import { parsePublicKey } from "../../model/ssh-key.js";
import { type ForgeContext, hostMessage, type HttpResponse, send, statusError } from "./host-api.js";
import { type DeployKey, type HostAdapter, HostError, TitleTakenError } from "./types.js";

const PAGE_SIZE = 50;

interface GiteaKey {
  id: number;
  key: string;
  title: string;
  read_only?: boolean;
}

function toKey(k: GiteaKey): DeployKey {
  return { id: String(k.id), title: k.title, key: k.key, fingerprint: parsePublicKey(k.key)?.fingerprint ?? "", readOnly: k.read_only === true };
}

export function giteaAdapter(base: Omit<ForgeContext, "hostName" | "authHeaders" | "permissionHint">): HostAdapter {
  const ctx: ForgeContext = {
    ...base,
    hostName: "Gitea",
    authHeaders: { Authorization: `token ${base.token}` },
    permissionHint: "the token needs the write:repository scope and admin rights on the repo",
  };
  const path = `/repos/${base.repo}/keys`;
  const adapter: HostAdapter = {
    kind: "gitea",
    where: `gitea ${base.repo}`,
    spec: { kind: "gitea", repo: base.repo, apiUrl: base.apiUrl },
    async list() {
      const keys: DeployKey[] = [];
      for (let page = 1; page <= 1000; page++) {
        const res: HttpResponse = await send(ctx, "GET", `${path}?page=${page}&limit=${PAGE_SIZE}`);
        if (res.status !== 200 || !Array.isArray(res.body)) throw statusError(ctx, res, "list the deploy keys");
        const items = res.body as GiteaKey[];
        keys.push(...items.map(toKey));
        const total = Number(res.headers.get("x-total-count") ?? Number.NaN);
        // Without a total, a short page is the last one; with one, stop when all are in.
        if (items.length === 0 || (Number.isFinite(total) ? keys.length >= total : items.length < PAGE_SIZE)) break;
      }
      return keys;
    },
    async add(title, key) {
      const res = await send(ctx, "POST", path, { title, key, read_only: true });
      if (res.status === 201) return toKey(res.body as GiteaKey);
      const msg = hostMessage(res.body, base.token);
      if (res.status === 422 && /already been added/i.test(msg)) {
        // Added meanwhile (another run): it is there, which is what was asked.
        const fingerprint = parsePublicKey(key)?.fingerprint;
        const there = (await adapter.list()).find((k) => k.fingerprint === fingerprint);
        if (there !== undefined) return there;
        throw new HostError(`Gitea says the key is already on ${base.repo} but does not list it (422 ${msg}): check the repo's deploy keys in Gitea`);
      }
      if (res.status === 422 && /title has been used/i.test(msg)) {
        throw new TitleTakenError(`Gitea refuses a second deploy key titled "${title}" on ${base.repo} (422 ${msg}): remove the stale key in Gitea, then run again`);
      }
      throw statusError(ctx, res, "add a deploy key");
    },
    async remove(key) {
      const res = await send(ctx, "DELETE", `${path}/${encodeURIComponent(key.id)}`);
      if (res.status === 204) return;
      throw statusError(ctx, res, "remove a deploy key");
    },
  };
  return adapter;
}
