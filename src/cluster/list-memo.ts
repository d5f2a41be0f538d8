// One read of a list for several views of one answer: `tenantry status` shows the GitSyncs'
// rows and the policy engines' view, and both need every GitSync and every team namespace.
// Lists are kept by path and label selector for as long as the memo lives (one render), and
// a failed list is the same failure to each reader, who maps it as it would its own.

import type { KubeObject } from "../model/object.js";
import type { RestClient } from "./rest.js";

export class ListMemo {
  private readonly lists = new Map<string, Promise<KubeObject[]>>();

  /** Every item of `path` (with `labelSelector`), read once per memo. */
  listAll(client: RestClient, path: string, labelSelector?: string): Promise<KubeObject[]> {
    const key = `${client.server}\0${path}\0${labelSelector ?? ""}`;
    let list = this.lists.get(key);
    if (list === undefined) {
      list = client.listAll(path, labelSelector);
      list.catch(() => undefined); // read by whoever asked; not an unhandled rejection meanwhile
      this.lists.set(key, list);
    }
    return list;
  }
}
