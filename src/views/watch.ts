// `--watch`: render, wait, render again until the signal fires (Ctrl-C). The first render's
// error ends the command; later ones are shown in place of a frame, as the cluster may come back.

import { setTimeout as sleep } from "node:timers/promises";

export interface WatchOptions {
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  /** Writes one frame (a TTY gets the screen cleared first). */
  readonly write: (frame: string) => void;
  readonly describeError: (e: unknown) => string;
}

export async function watchLoop(render: () => Promise<string>, o: WatchOptions): Promise<number> {
  // A function, not the property: the signal changes while a render is awaited.
  const stopped = (): boolean => o.signal.aborted;
  let frames = 0;
  while (!stopped()) {
    let frame: string;
    try {
      frame = await render();
    } catch (e) {
      if (frames === 0) throw e;
      frame = o.describeError(e);
    }
    if (stopped()) break;
    o.write(frame);
    frames++;
    await sleep(o.intervalMs, undefined, { signal: o.signal }).catch(() => undefined);
  }
  return frames;
}
