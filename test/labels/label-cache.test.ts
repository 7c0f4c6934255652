/**
 * The label cache's stamp checks with a stamp source under the test's control (no I/O): the first reads of a
 * cold instance do not wait for the stamp and nothing is served from the cache before a check succeeded;
 * a due check is waited for; what was stored before a check that found a new stamp is gone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLabelCache } from '../../shared/labels/label-cache.ts';

function controlled() {
  let resolve!: (s: string | undefined) => void;
  let reject!: (e: unknown) => void;
  let calls = 0;
  const readStamp = () => {
    calls++;
    return new Promise<string | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  };
  return {
    readStamp,
    answer: (s?: string) => resolve(s),
    fail: (e: unknown) => reject(e),
    calls: () => calls,
  };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('label cache stamp checks', () => {
  test('a cold instance reads at once; nothing is served before the first check; a stamp it finds drops the early entries', async () => {
    let now = 0;
    const s = controlled();
    const cache = createLabelCache<string>({
      maxBytes: 1000,
      ttlSeconds: 60,
      checkEverySeconds: 10,
      readStamp: s.readStamp,
      now: () => now,
    });
    const at = await cache.fresh(); // did not wait for the pending check
    cache.set('a', 'early', 10, at);
    assert.equal(cache.get('a'), undefined, 'no hit before a check succeeded');
    s.answer('S1');
    await new Promise((r) => setImmediate(r));
    assert.equal(cache.get('a'), undefined, 'the stamp found dropped what was stored before');
    const at2 = await cache.fresh();
    cache.set('a', 'checked', 10, at2);
    cache.set('b', 'stale epoch', 10, at);
    assert.deepEqual([cache.get('a'), cache.get('b')], ['checked', undefined]);
    assert.equal(s.calls(), 1);
    now += 10_000;
    const due = cache.fresh();
    assert.equal(await settled(due), false, 'a due check is waited for');
    s.answer('S1');
    await due;
    assert.equal(cache.get('a'), 'checked', 'same stamp: entries stay');
  });

  test('half way through the interval the check runs in the background: the read does not wait for it', async () => {
    let now = 0;
    const s = controlled();
    const cache = createLabelCache<string>({
      maxBytes: 1000,
      ttlSeconds: 60,
      checkEverySeconds: 10,
      readStamp: s.readStamp,
      now: () => now,
    });
    const first = cache.warm();
    s.answer('S1');
    await first;
    cache.set('a', 'old', 10, await cache.fresh());
    now += 4_999;
    assert.equal(await settled(cache.fresh()), true);
    assert.equal(s.calls(), 1, 'no check before half the interval');
    now += 1;
    assert.equal(await settled(cache.fresh()), true, 'a background check does not hold the read');
    assert.equal(s.calls(), 2);
    assert.equal(cache.get('a'), 'old', 'served until the check answers');
    s.answer('S2');
    await new Promise((r) => setImmediate(r));
    assert.equal(cache.get('a'), undefined, 'the new stamp dropped it');
  });

  test('a failed first check leaves the cache unused and the next read tries again', async () => {
    const s = controlled();
    const cache = createLabelCache<string>({
      maxBytes: 1000,
      ttlSeconds: 60,
      checkEverySeconds: 10,
      readStamp: s.readStamp,
    });
    await cache.fresh();
    s.fail(new Error('unavailable'));
    await new Promise((r) => setImmediate(r));
    const at = await cache.fresh();
    assert.equal(s.calls(), 2);
    cache.set('a', 'x', 10, at);
    assert.equal(cache.get('a'), undefined);
    s.answer(undefined);
    await cache.warm();
    assert.equal(cache.get('a'), 'x', 'no stamp anywhere: what was read since start stays');
  });
});
