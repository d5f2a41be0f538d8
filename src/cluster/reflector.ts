// A list-then-watch mirror of one kind that keeps a small projection of each object, never the
// object: a process that needs a few fields of thousands of objects holds only those, and
// reads the list once instead of at every poll. What client-go's reflector does: list (paged)
// at one resourceVersion, watch from it with bookmarks, watch again from the last version seen
// when the server ends the watch or the connection breaks, and list again only when that
// version is too old (410 Gone) or the list itself failed.

import { ApiError, apiRefusal } from "./api-errors.js";
import type { RestClient, WatchEvent } from "./rest.js";
import type { KubeObject } from "../model/object.js";

export interface ReflectorOptions<S> {
  readonly client: RestClient;
  readonly apiVersion: string;
  readonly kind: string;
  /** One namespace, or all when undefined. */
  readonly namespace?: string | undefined;
  /** The few fields kept of each object. Two projections are equal when their JSON is. */
  readonly project: (o: KubeObject) => S;
  /** The first wait after a failure; doubled up to 30 s while failures go on. */
  readonly retryMs: number;
  readonly pageSize?: number;
  /** How long the server holds one watch open (a little randomised, as client-go does). */
  readonly watchSeconds?: number;
  /** The most one object of the list may take as JSON in a watch event. */
  readonly maxEventBytes?: number;
  readonly onError: (e: unknown) => void;
  /** Called after each change (the mirror is already updated). */
  readonly onChange?: () => void;
}

const MAX_RETRY_MS = 30_000;

/** A version too old to watch from: the server compacted it away. */
const gone = (e: unknown): boolean => apiRefusal(e)?.code === 410;

export class Reflector<S> {
  private items = new Map<string, { value: S; json: string }>();
  private changeCount = 0;
  private listed = false;
  /** Watch events applied (not lists): for tests and metrics. */
  watchEvents = 0;
  lists = 0;

  constructor(private readonly o: ReflectorOptions<S>) {}

  /** Bumped by every change of a projection (an object added, deleted, or its kept fields changed). */
  get changes(): number {
    return this.changeCount;
  }

  /** Whether a list has completed: until then the mirror is empty, not known empty. */
  get synced(): boolean {
    return this.listed;
  }

  /** Every object's projection, by `namespace/name` (`name` for a cluster-scoped kind). */
  snapshot(): Map<string, S> {
    return new Map([...this.items].map(([k, v]) => [k, v.value]));
  }

  /** Lists and watches until `signal` aborts (the client's requests should abort with it too). */
  async run(signal: AbortSignal): Promise<void> {
    let version: string | undefined;
    let wait = this.o.retryMs;
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      try {
        version ??= await this.list();
        wait = this.o.retryMs;
        const started = Date.now();
        version = await this.watchFrom(version);
        // A server that ends every watch at once is not watched in a busy loop.
        if (Date.now() - started < 1000) await sleep(this.o.retryMs, signal);
      } catch (e) {
        if (stopped()) break;
        this.o.onError(e);
        if (gone(e)) version = undefined;
        await sleep(wait, signal);
        wait = Math.min(MAX_RETRY_MS, wait * 2);
      }
    }
  }

  /** Lists every object a page at a time (one consistent snapshot); returns its resourceVersion. */
  private async list(): Promise<string> {
    const next = new Map<string, { value: S; json: string }>();
    let token: string | undefined;
    let version = "";
    do {
      const page = await this.o.client.listObjects(this.o.apiVersion, this.o.kind, this.o.namespace, undefined, { limit: this.o.pageSize ?? 250, ...(token === undefined ? {} : { continue: token }) });
      for (const obj of page.items) next.set(keyOf(obj), this.entry(obj));
      version = page.metadata?.resourceVersion ?? version;
      token = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
    } while (token !== undefined);
    const changed = next.size !== this.items.size || [...next].some(([k, v]) => this.items.get(k)?.json !== v.json);
    this.items = next;
    this.lists += 1;
    this.listed = true;
    if (changed || this.lists === 1) this.changed();
    return version;
  }

  /**
   * Applies one watch's events; returns the version to watch from next, or undefined when it
   * is too old and the list must be read again.
   */
  private async watchFrom(version: string): Promise<string | undefined> {
    const seconds = Math.round((this.o.watchSeconds ?? 300) * (1 + Math.random()));
    let at = version;
    for await (const ev of this.o.client.watch(this.o.apiVersion, this.o.kind, this.o.namespace, at, seconds, this.o.maxEventBytes ?? 8 * 1024 * 1024)) {
      if (ev.type === "ERROR") {
        if (ev.object.code === 410) return undefined;
        throw new ApiError(ev.object.code ?? 500, JSON.stringify(ev.object));
      }
      const seen = ev.object.metadata.resourceVersion;
      if (typeof seen === "string" && seen !== "") at = seen;
      if (ev.type !== "BOOKMARK") this.apply(ev);
    }
    return at;
  }

  private apply(ev: WatchEvent): void {
    this.watchEvents += 1;
    const key = keyOf(ev.object);
    if (ev.type === "DELETED") {
      if (this.items.delete(key)) this.changed();
      return;
    }
    const next = this.entry(ev.object);
    if (this.items.get(key)?.json === next.json) return;
    this.items.set(key, next);
    this.changed();
  }

  private changed(): void {
    this.changeCount += 1;
    this.o.onChange?.();
  }

  private entry(obj: KubeObject): { value: S; json: string } {
    const value = this.o.project(obj);
    return { value, json: JSON.stringify(value) };
  }
}

function keyOf(o: KubeObject): string {
  const ns = o.metadata.namespace;
  return ns === undefined || ns === "" ? o.metadata.name : `${ns}/${o.metadata.name}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
