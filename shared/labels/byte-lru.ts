/**
 * A least-recently-used map bounded by the bytes of its values, with a time-to-live per entry. Pure: the
 * clock is injected. get/set/delete are O(1): a Map finds the entry, a doubly linked list keeps recency.
 */
export interface ByteLruOptions {
  /** Largest total of the entries' sizes; 0 keeps nothing. */
  maxBytes: number;
  /** An entry older than this is a miss. */
  ttlMs: number;
  now?: () => number;
}

interface Entry<V> {
  key: string;
  value: V;
  bytes: number;
  expires: number;
  /** Neighbours in recency order: `older` toward the next to evict. */
  older: Entry<V> | undefined;
  newer: Entry<V> | undefined;
}

export class ByteLru<V> {
  readonly #map = new Map<string, Entry<V>>();
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #bytes = 0;
  /** Least and most recently used: a hit relinks two pointers instead of deleting and re-adding a key. */
  #oldest: Entry<V> | undefined;
  #newest: Entry<V> | undefined;

  constructor(opts: ByteLruOptions) {
    this.#maxBytes = opts.maxBytes;
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  /** Sum of the sizes of the entries held (expired ones included until they are met or evicted). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (this.#now() >= e.expires) {
      this.#remove(e);
      return undefined;
    }
    if (e !== this.#newest) {
      this.#unlink(e);
      this.#append(e);
    }
    return e.value;
  }

  /** Stores `value` as `bytes` big, evicting the least recently used entries; one over the bound is not kept. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.#maxBytes || this.#ttlMs <= 0) return;
    const e: Entry<V> = {
      key,
      value,
      bytes,
      expires: this.#now() + this.#ttlMs,
      older: undefined,
      newer: undefined,
    };
    this.#map.set(key, e);
    this.#append(e);
    this.#bytes += bytes;
    while (this.#bytes > this.#maxBytes && this.#oldest) this.#remove(this.#oldest);
  }

  delete(key: string): void {
    const e = this.#map.get(key);
    if (e) this.#remove(e);
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
    this.#oldest = undefined;
    this.#newest = undefined;
  }

  #remove(e: Entry<V>): void {
    this.#map.delete(e.key);
    this.#unlink(e);
    this.#bytes -= e.bytes;
  }

  #unlink(e: Entry<V>): void {
    if (e.older) e.older.newer = e.newer;
    else this.#oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.#newest = e.older;
    e.older = undefined;
    e.newer = undefined;
  }

  #append(e: Entry<V>): void {
    e.older = this.#newest;
    if (this.#newest) this.#newest.newer = e;
    else this.#oldest = e;
    this.#newest = e;
  }
}

/** Heap bytes of a string in V8: one byte per character if all are Latin-1, else two; plus its header. */
export function stringBytes(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the Latin-1 range starts at U+0000
  return 16 + (/[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length);
}
