// The last render of each GitSync, so a resync of a revision already built does not run
// kustomize again (the admin repo is built part by part: hundreds of overlays at ~85 ms
// each). Keyed by everything the render depends on: the commit, the path in it and the
// kustomize binary. With the key of the last render, a resync asks the remote for its
// commit (git ls-remote) and clones nothing when it is the same. One entry per GitSync,
// held as one JSON string (compact, and no live object graph is kept between runs).

import type { KubeObject } from "../model/object.js";

export interface RenderKey {
  readonly sha: string;
  readonly path: string;
  /** Which kustomize built it (binary path and version). */
  readonly tool: string;
}

export class RenderCache {
  private readonly entries = new Map<string, { key: string; json: string }>();

  constructor(private readonly maxEntries = 1000) {}

  private static keyOf(k: RenderKey): string {
    return `${k.sha}\0${k.path}\0${k.tool}`;
  }

  /** The key of `gitsync`'s last render, or undefined. */
  keyOf(gitsync: string): RenderKey | undefined {
    const e = this.entries.get(gitsync);
    if (e === undefined) return undefined;
    const [sha = "", path = "", tool = ""] = e.key.split("\0");
    return { sha, path, tool };
  }

  /** The objects rendered for `gitsync` at `key`, or undefined (a fresh copy each time). */
  get(gitsync: string, key: RenderKey): KubeObject[] | undefined {
    const e = this.entries.get(gitsync);
    return e?.key === RenderCache.keyOf(key) ? (JSON.parse(e.json) as KubeObject[]) : undefined;
  }

  set(gitsync: string, key: RenderKey, objects: readonly KubeObject[]): void {
    this.entries.delete(gitsync);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(gitsync, { key: RenderCache.keyOf(key), json: JSON.stringify(objects) });
  }
}
