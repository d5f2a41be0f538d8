// Bounded concurrency for I/O fan-out (API requests, kustomize processes), and the
// cancellation a long job carries through it.

/** Why a job stopped early: its owner cancelled it (a timeout, a lost lease, a shutdown). */
export class Cancelled extends Error {
  override readonly name = "Cancelled";
  constructor(
    message: string,
    readonly why: "timeout" | "lease" | "shutdown",
  ) {
    super(message);
  }
}

/**
 * What a cancellable job carries: `signal` kills its child processes and stops its waits;
 * `check()` is called before every write and throws Cancelled when the job must stop. The
 * check is also where conditions no timer can be trusted for are judged (a lease that lapsed
 * by the local clock while the process was paused: its timers fire late, I/O first).
 */
export interface Cancellation {
  readonly signal: AbortSignal;
  check(): void;
}

/**
 * `fn` over `items` with at most `limit` running at once; results in input order. After a
 * call fails no new one starts, and the failure is thrown once the running ones have
 * settled: nothing the caller started is still running when it sees the error.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
