/**
 * The byte-bounded LRU of the label cache, against a reference model written the obvious way (an array in
 * recency order, scanned linearly), over random operation sequences; plus the cases by name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ByteLru, stringBytes } from '../../shared/labels/byte-lru.ts';

/** The model: entries oldest first; eviction from the front until the total fits. */
class ModelLru {
  entries: { key: string; value: number; bytes: number; expires: number }[] = [];
  readonly max: number;
  readonly ttl: number;
  constructor(max: number, ttl: number) {
    this.max = max;
    this.ttl = ttl;
  }
  total() {
    return this.entries.reduce((n, e) => n + e.bytes, 0);
  }
  get(key: string, now: number) {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i < 0) return undefined;
    const [e] = this.entries.splice(i, 1);
    if (now >= e!.expires) return undefined;
    this.entries.push(e!);
    return e!.value;
  }
  set(key: string, value: number, bytes: number, now: number) {
    this.entries = this.entries.filter((e) => e.key !== key);
    if (bytes > this.max) return;
    this.entries.push({ key, value, bytes, expires: now + this.ttl });
    while (this.total() > this.max) this.entries.shift();
  }
}

type Op = { op: 'set'; key: string; bytes: number } | { op: 'get'; key: string } | { op: 'tick'; ms: number };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key, bytes: fc.integer({ min: 0, max: 400 }) }),
    fc.record({ op: fc.constant('get' as const), key }),
    fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 400 }) }),
  ),
  { maxLength: 200 },
);

describe('ByteLru', () => {
  test('agrees with the reference model on every get, and never holds more than its byte bound', () => {
    fc.assert(
      fc.property(
        ops,
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (seq, max, ttl) => {
          let now = 0;
          const lru = new ByteLru<number>({ maxBytes: max, ttlMs: ttl, now: () => now });
          const model = new ModelLru(max, ttl);
          seq.forEach((o: Op, i) => {
            if (o.op === 'tick') now += o.ms;
            else if (o.op === 'set') {
              lru.set(o.key, i, o.bytes);
              model.set(o.key, i, o.bytes, now);
            } else assert.equal(lru.get(o.key), model.get(o.key, now), `step ${i}: get ${o.key}`);
            assert.ok(lru.bytes <= max, `step ${i}: ${lru.bytes} bytes held, bound ${max}`);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('evicts the least recently used first: a read keeps an entry', () => {
    const lru = new ByteLru<string>({ maxBytes: 300, ttlMs: 1000, now: () => 0 });
    lru.set('a', 'A', 100);
    lru.set('b', 'B', 100);
    lru.set('c', 'C', 100);
    assert.equal(lru.get('a'), 'A');
    lru.set('d', 'D', 100);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((k) => lru.get(k)),
      ['A', undefined, 'C', 'D'],
    );
    assert.equal(lru.bytes, 300);
  });

  test('an entry is served until its time-to-live has passed, not after', () => {
    let now = 0;
    const lru = new ByteLru<string>({ maxBytes: 1000, ttlMs: 5000, now: () => now });
    lru.set('a', 'A', 10);
    now = 4999;
    assert.equal(lru.get('a'), 'A');
    now = 5000;
    assert.equal(lru.get('a'), undefined);
    assert.equal(lru.bytes, 0);
  });

  test('a value larger than the bound is not kept and evicts nothing; a bound of 0 keeps nothing', () => {
    const lru = new ByteLru<string>({ maxBytes: 100, ttlMs: 1000 });
    lru.set('a', 'A', 60);
    lru.set('big', 'B', 101);
    assert.equal(lru.get('big'), undefined);
    assert.equal(lru.get('a'), 'A');
    const none = new ByteLru<string>({ maxBytes: 0, ttlMs: 1000 });
    none.set('a', 'A', 1);
    assert.equal(none.size, 0);
  });

  test('string sizes count two bytes a character beyond Latin-1', () => {
    assert.equal(stringBytes('abc'), 16 + 3);
    assert.equal(stringBytes('é'), 16 + 1);
    assert.equal(stringBytes('a\u2603'), 16 + 4);
  });
});
