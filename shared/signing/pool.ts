/** A gate that lets at most `limit` tasks run at once, across every caller that shares it. */
export type Limiter = <R>(task: () => Promise<R>) => Promise<R>;

export function createLimiter(limit: number): Limiter {
  const max = Math.max(1, Math.floor(limit));
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return async <R>(task: () => Promise<R>): Promise<R> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/**
 * Maps `fn` over `items` through `limiter`, results in input order. After the first rejection the items not yet
 * started are skipped, so a failing dependency is not called a thousand times for nothing.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limiter: Limiter,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  let failed = false;
  const skipped = new Error('skipped after an earlier failure');
  const results = await Promise.allSettled(
    items.map((item, i) =>
      limiter(async () => {
        if (failed) throw skipped;
        try {
          return await fn(item, i);
        } catch (err) {
          failed = true;
          throw err;
        }
      }),
    ),
  );
  const firstError = results.find(
    (r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason !== skipped,
  );
  if (firstError) throw firstError.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

/** The distinct values of `items` in first-seen order, and for each item the index of its distinct value. */
export function dedupe<T>(items: readonly T[]): { unique: T[]; slot: number[] } {
  const seen = new Map<T, number>();
  const unique: T[] = [];
  const slot = items.map((it) => {
    let s = seen.get(it);
    if (s === undefined) {
      s = unique.length;
      seen.set(it, s);
      unique.push(it);
    }
    return s;
  });
  return { unique, slot };
}
