/**
 * A least-recently-used map bounded by the bytes of its values, with a time-to-live per entry. Pure: the
 * clock is injected. get/set/delete are O(1) (a Map keeps insertion order; a hit moves the entry to the end).
 */
export interface ByteLruOptions {
  /** Largest total of the entries' sizes; 0 keeps nothing. */
  maxBytes: number;
  /** An entry older than this is a miss. */
  ttlMs: number;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expires: number;
}

export class ByteLru<V> {
  readonly #map = new Map<string, Entry<V>>();
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #bytes = 0;

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
      this.delete(key);
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  /** Stores `value` as `bytes` big, evicting the least recently used entries; one over the bound is not kept. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.#maxBytes || this.#ttlMs <= 0) return;
    this.#map.set(key, { value, bytes, expires: this.#now() + this.#ttlMs });
    this.#bytes += bytes;
    for (const [k, e] of this.#map) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= e.bytes;
    }
  }

  delete(key: string): void {
    const e = this.#map.get(key);
    if (!e) return;
    this.#map.delete(key);
    this.#bytes -= e.bytes;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}

/** Heap bytes of a string in V8: one byte per character if all are Latin-1, else two; plus its header. */
export function stringBytes(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the Latin-1 range starts at U+0000
  return 16 + (/[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length);
}
