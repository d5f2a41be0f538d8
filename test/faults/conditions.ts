// Watches a GitSync's Ready condition while a fault lasts: every distinct condition seen, and
// when, so a test can say which condition named the fault (or that none could be written:
// an API server that is down takes no status).

import type { RestClient } from "../../src/cluster/rest.js";
import { gitSync, readyOf, sleep } from "./fixture.js";

export interface SeenCondition {
  readonly at: number;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

export interface ConditionWatch {
  /** Distinct Ready conditions in the order seen (a poll that failed is not one). */
  readonly seen: readonly SeenCondition[];
  stop(): Promise<void>;
  /** The Ready=False conditions seen. */
  failures(): SeenCondition[];
}

export function watchReady(api: RestClient, team: string, everyMs = 100): ConditionWatch {
  const seen: SeenCondition[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const r = readyOf(await gitSync(api, team));
        const last = seen.at(-1);
        if (r !== undefined && (last?.status !== r.status || last.reason !== r.reason || last.message !== r.message)) seen.push({ at: Date.now(), ...r });
      } catch {
        // the API server is down: nothing to see
      }
      await sleep(everyMs);
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await loop;
    },
    failures: () => seen.filter((c) => c.status === "False"),
  };
}
