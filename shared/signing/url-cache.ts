import type { SignedUrl } from './url-signer.ts';

interface Entry {
  value: SignedUrl;
  signedAtMs: number;
  expiresAtMs: number;
}

export interface UrlCacheOptions {
  /** Entries kept; the least recently used go first. */
  maxEntries?: number;
  /** A URL is reused while at least this fraction of its lifetime is left (0..1). */
  minRemainingFraction?: number;
}

/**
 * Signed URLs by (format, id, requested expiry). A hit can be younger than the caller asked for, never less
 * than `minRemainingFraction` of it; `expiresAt` always tells the truth.
 */
export class UrlCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #minRemaining: number;

  constructor(opts: UrlCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 20_000;
    this.#minRemaining = opts.minRemainingFraction ?? 0.5;
  }

  static key(id: string, format: string, expiresInSeconds: number): string {
    return `${format}/${id}/${expiresInSeconds}`;
  }

  get(key: string, nowMs: number): SignedUrl | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    const lifetime = e.expiresAtMs - e.signedAtMs;
    if (e.expiresAtMs - nowMs < this.#minRemaining * lifetime || nowMs < e.signedAtMs) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key); // re-insert: Map order is the LRU order
    this.#entries.set(key, e);
    return { ...e.value };
  }

  set(key: string, value: SignedUrl, signedAtMs: number, expiresAtMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value: { ...value }, signedAtMs, expiresAtMs });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
