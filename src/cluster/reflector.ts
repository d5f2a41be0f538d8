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
  /** The most one object of the list may take as JSON in a watch event (default MAX_EVENT_BYTES). */
  readonly maxEventBytes?: number;
  /**
   * How long a watch may send nothing (no event, no bookmark) before it is taken for dead and
   * watched again from the last version: the API server sends a bookmark about once a minute,
   * so a half-open connection is noticed in this long, not at the end of the watch.
   */
  readonly idleMs?: number;
  readonly onError: (e: unknown) => void;
  /** Called after each change (the mirror is already updated). */
  readonly onChange?: () => void;
}

const MAX_RETRY_MS = 30_000;

/** etcd stores at most 1.5 MiB per object; its JSON in an event is bounded a little above that. */
export const MAX_EVENT_BYTES = 3 * 1024 * 1024;

/** A version too old to watch from: the server compacted it away. */
const gone = (e: unknown): boolean => apiRefusal(e)?.code === 410;

export class Reflector<S> {
  private items = new Map<string, { value: S; json: string }>();
  private changeCount = 0;
  /** The last resourceVersion seen (the list's, then each event's and bookmark's); undefined: list again. */
  private version: string | undefined;
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

  /** Whether the mirror holds `key`. */
  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Every object's projection, by `namespace/name` (`name` for a cluster-scoped kind). */
  snapshot(): Map<string, S> {
    return new Map([...this.items].map(([k, v]) => [k, v.value]));
  }

  /** Lists and watches until `signal` aborts (the client's requests should abort with it too). */
  async run(signal: AbortSignal): Promise<void> {
    let wait = this.o.retryMs;
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      let started = Date.now();
      try {
        if (this.version === undefined) {
          this.version = await this.list();
          wait = this.o.retryMs;
        }
        started = Date.now();
        await this.watchFrom(this.version);
        // A server that ends every watch at once is not watched in a busy loop.
        if (Date.now() - started < 1000) await sleep(wait, signal);
        else wait = this.o.retryMs;
      } catch (e) {
        if (stopped()) break;
        this.o.onError(e);
        // A version too old to watch from is listed again; any other failure watches again
        // from the last version seen (its events and bookmarks), not the watch's first.
        if (gone(e)) this.version = undefined;
        if (Date.now() - started > 30_000) wait = this.o.retryMs; // a watch that held for a while was healthy
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
      for (const obj of (page.items as KubeObject[] | undefined) ?? []) next.set(keyOf(obj), this.entry(obj));
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
   * Applies one watch's events, keeping the version of each (events and bookmarks) as the one
   * to watch from next; a version too old (an ERROR event of 410) is forgotten, so the list
   * is read again.
   */
  private async watchFrom(version: string): Promise<void> {
    const seconds = Math.round((this.o.watchSeconds ?? 300) * (1 + Math.random()));
    const idleMs = this.o.idleMs ?? 150_000;
    for await (const ev of this.o.client.watch(this.o.apiVersion, this.o.kind, this.o.namespace, version, seconds, this.o.maxEventBytes ?? MAX_EVENT_BYTES, idleMs)) {
      if (ev.type === "ERROR") {
        const e = new ApiError(ev.object.code ?? 500, JSON.stringify(ev.object));
        if (ev.object.code === 410) {
          this.version = undefined;
          this.o.onError(e);
          return;
        }
        throw e;
      }
      const seen = ev.object.metadata.resourceVersion;
      if (typeof seen === "string" && seen !== "") this.version = seen;
      if (ev.type !== "BOOKMARK") this.apply(ev);
    }
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
