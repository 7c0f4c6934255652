/**
 * Coalesces the small image reads of concurrent requests into Firestore batchGets. For a few documents the
 * round trip is the cost, not the documents: the emulator answers a batchGet of 10 documents in about the
 * time of one of 1 (14-15 ms), and 2,000 documents read as 20 concurrent single GETs took 4.3 s against
 * 1.3 s as batchGets of 20 (docs/deploy.md). So reads of up to `coalesceUpTo` ids asked for in one turn of
 * the event loop are read together right after it (setImmediate), each id once, in chunks of `chunkSize`
 * run concurrently. A larger read goes on its own at once: past a few dozen documents their number is the
 * cost (100 documents 25 ms, 300 documents 66 ms), and a single-image read put behind them would wait for
 * them all (the load test's GETs did). A lone single-image read stays a document GET, the cheapest call for
 * one document.
 *
 * Each caller gets the documents of its own ids (absent ones as null) or the error of the read that carried
 * them; what to cache, and under which epoch, stays with the caller (rest-repo.ts).
 */

/** An image document's fields, or null for "no such image". */
export type Fields = Record<string, unknown> | null;

export interface BatchReads {
  /** One document, or null. */
  one(id: string): Promise<Fields>;
  /** Documents by id (one round trip); absent ids may be left out of the map. */
  many(ids: readonly string[]): Promise<Map<string, Fields>>;
}

export interface ReadBatcher {
  /** The documents of `ids`, read with whatever else was asked for in the same turn. */
  read(ids: readonly string[], single?: boolean): Promise<Map<string, Fields>>;
}

interface Waiter {
  resolve(found: Map<string, Fields>): void;
  reject(err: unknown): void;
  single: boolean;
}

async function readAll(reads: BatchReads, ids: string[], chunkSize: number): Promise<Map<string, Fields>> {
  const parts: string[][] = [];
  for (let i = 0; i < ids.length; i += chunkSize) parts.push(ids.slice(i, i + chunkSize));
  const maps = await Promise.all(parts.map((p) => reads.many(p)));
  const found = new Map<string, Fields>();
  for (const m of maps) for (const [id, f] of m) found.set(id, f);
  return found;
}

export function createReadBatcher(
  reads: () => BatchReads,
  chunkSize: number,
  coalesceUpTo = 10,
): ReadBatcher {
  let ids: Set<string> | undefined;
  let waiters: Waiter[] = [];

  const flush = async () => {
    const batch = [...(ids ?? [])];
    const ws = waiters;
    ids = undefined;
    waiters = [];
    try {
      const r = reads();
      const found =
        ws.length === 1 && ws[0]!.single && batch.length === 1
          ? new Map([[batch[0]!, await r.one(batch[0]!)]])
          : await readAll(r, batch, chunkSize);
      for (const w of ws) w.resolve(found);
    } catch (err) {
      for (const w of ws) w.reject(err);
    }
  };

  return {
    read(want, single = false) {
      if (want.length > coalesceUpTo) return (async () => readAll(reads(), [...new Set(want)], chunkSize))();
      return new Promise((resolve, reject) => {
        if (!ids) {
          ids = new Set();
          setImmediate(() => void flush());
        }
        for (const id of want) ids.add(id);
        waiters.push({ resolve, reject, single });
      });
    },
  };
}
