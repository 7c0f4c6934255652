/**
 * The per-instance cache of label documents: a byte-bounded LRU (byte-lru.ts) whose entries live at most
 * `ttlSeconds` (no longer than the responses' max-age, checked in config.ts), and which is dropped as a whole
 * when the labels version stamp (version-stamp.ts) has changed. A read more than half of
 * `checkEverySeconds` after the last check starts a new one in the background; a read a whole interval after
 * it waits for it (the others join the same read). So a read that starts `checkEverySeconds` after an upload
 * wrote the stamp never sees data from before it (plus at most one stamp read's duration, when it joins a
 * stamp read already under way), and under steady traffic no read waits for a stamp read.
 *
 * A read that began before the cache was dropped does not store what it read (an epoch counts the drops),
 * so an old document fetched just before an upload cannot come back after the drop.
 */
import { ByteLru } from './byte-lru.ts';

export interface LabelCacheOptions {
  /** Bound of the cached values' sizes, in bytes; 0 turns the cache off (every read goes to Firestore). */
  maxBytes: number;
  ttlSeconds: number;
  checkEverySeconds: number;
  /** Reads the current stamp (undefined when none was ever written). */
  readStamp: () => Promise<string | undefined>;
  now?: () => number;
}

export interface LabelCache<V> {
  readonly enabled: boolean;
  /** Makes sure the stamp was checked at most `checkEverySeconds` ago; returns the epoch to store with. */
  fresh(): Promise<number>;
  /** Runs the first stamp check now (at cold start, while the framework starts). */
  warm(): Promise<void>;
  get(key: string): V | undefined;
  /** Stores a value read under `epoch`, unless the cache was dropped since. */
  set(key: string, value: V, bytes: number, epoch: number): void;
  readonly bytes: number;
}

export function createLabelCache<V>(opts: LabelCacheOptions): LabelCache<V> {
  const now = opts.now ?? Date.now;
  const lru = new ByteLru<V>({ maxBytes: opts.maxBytes, ttlMs: opts.ttlSeconds * 1000, now });
  const checkMs = opts.checkEverySeconds * 1000;
  let stamp: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let epoch = 0;
  let checking: Promise<void> | undefined;

  const check = async () => {
    const started = now();
    const current = await opts.readStamp();
    if (current !== stamp) {
      stamp = current;
      lru.clear();
      epoch++;
    }
    checkedAt = started;
  };

  const startCheck = () => {
    checking ??= check().finally(() => {
      checking = undefined;
    });
    return checking;
  };

  return {
    enabled: opts.maxBytes > 0,
    async fresh() {
      if (opts.maxBytes <= 0) return epoch;
      const age = now() - checkedAt;
      if (age >= checkMs / 2) {
        const pending = startCheck();
        // Half way through the interval the check runs in the background, so that under steady traffic no
        // read ever waits for it; a read waits only when the last check started a whole interval ago.
        // Until a first check has succeeded nothing is served from the cache (get misses), so the first
        // reads go straight to Firestore instead of waiting for the stamp. What they store is dropped by that
        // check if it finds a stamp (the epoch moves on); if it finds none, no upload had marked a change.
        if (age < checkMs || checkedAt === Number.NEGATIVE_INFINITY) {
          pending.catch(() => {});
          return epoch;
        }
        await pending;
      }
      return epoch;
    },
    async warm() {
      if (opts.maxBytes > 0 && checkedAt === Number.NEGATIVE_INFINITY) await startCheck();
    },
    get: (key) => (opts.maxBytes > 0 && checkedAt !== Number.NEGATIVE_INFINITY ? lru.get(key) : undefined),
    set(key, value, bytes, at) {
      if (opts.maxBytes > 0 && at === epoch) lru.set(key, value, bytes);
    },
    get bytes() {
      return lru.bytes;
    },
  };
}
