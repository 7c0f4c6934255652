/** A small seeded PRNG (mulberry32): the synthetic dataset must be identical for a seed on every machine. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** k distinct items, in the order of `items`. */
  sample<T>(items: readonly T[], k: number): T[] {
    const idx = items.map((_, i) => ({ i, r: this.next() }));
    idx.sort((a, b) => a.r - b.r);
    return idx
      .slice(0, k)
      .map((x) => x.i)
      .sort((a, b) => a - b)
      .map((i) => items[i]!);
  }
}
