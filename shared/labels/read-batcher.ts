/**
 * Coalesces the image reads of concurrent requests into Firestore batchGets. Under load, requests arrive
 * together, and one round trip per document is what limits the reads: the emulator answers a batchGet of 20
 * documents in about the time of one GET, and 2,000 documents read as 20 concurrent single GETs took 4.3 s
 * against 1.3 s as batchGets of 20 (bench notes, docs/deploy.md). So the ids asked for in one turn of the
 * event loop are read together right after it (setImmediate), each id once, in chunks of `chunkSize` run
 * concurrently. A lone single-image read stays a document GET, the cheapest call for one document.
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

export function createReadBatcher(reads: () => BatchReads, chunkSize: number): ReadBatcher {
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
