/**
 * The embedded (DuckDB) store's cache of small read results: cohort pages and summaries, keyed by their SQL
 * and parameters, bounded by the rows held (an LRU), and dropped whole by every write through the store, so
 * a read never returns rows older than the store's last load or upsert. A read that was running while a write
 * started or ended is answered but not kept (an epoch counts the writes), and nothing is read from or kept in
 * the cache while a write runs. The explorer and the load test repeat the same few filters; each is one
 * DuckDB query over every row (COUNT DISTINCT patients), a few ms of CPU on 2 cores (issue 15).
 */
import { ByteLru } from '../labels/byte-lru.ts';
import type { CompiledSql } from './compile.ts';
import type { PlainRow } from './results.ts';

export interface ReadCache {
  /** The rows of `q`, from the cache or from `run` (and then kept, unless a write intervened). */
  rows(q: CompiledSql, run: () => Promise<PlainRow[]>): Promise<readonly PlainRow[]>;
  /** Runs a write: the cache is dropped when it starts and again when it ends, whatever its outcome. */
  write<T>(fn: () => Promise<T>): Promise<T>;
  /** Drops the cache for good (the store closed): every later read runs, and fails as the store does. */
  close(): void;
  readonly size: number;
}

/** `maxRows`: rows held at most, over all entries (0 keeps nothing); default 50,000 (some 15 MB of heap). */
export function createReadCache(maxRows = 50_000): ReadCache {
  const lru = new ByteLru<readonly PlainRow[]>({ maxBytes: maxRows, ttlMs: Number.POSITIVE_INFINITY });
  let epoch = 0;
  let writing = 0;
  let closed = false;
  const keyOf = (q: CompiledSql) =>
    `${q.sql}\n${JSON.stringify(q.params, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
  const drop = () => {
    epoch++;
    lru.clear();
  };
  return {
    async rows(q, run) {
      const key = keyOf(q);
      if (writing === 0 && !closed) {
        const hit = lru.get(key);
        if (hit) return hit;
      }
      const at = epoch;
      const rows = await run();
      // One row counted per entry at least: an empty result is an entry too.
      if (writing === 0 && !closed && at === epoch) lru.set(key, rows, rows.length + 1);
      return rows;
    },
    async write(fn) {
      writing++;
      drop();
      try {
        return await fn();
      } finally {
        writing--;
        drop();
      }
    },
    close() {
      closed = true;
      drop();
    },
    get size() {
      return lru.size;
    },
  };
}
