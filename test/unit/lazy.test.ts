import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lazy } from '../../shared/lazy.ts';

describe('lazy', () => {
  it('creates once and shares the value with concurrent and later callers', async () => {
    let created = 0;
    const get = lazy(async () => ++created);
    assert.deepEqual(await Promise.all([get(), get()]), [1, 1]);
    assert.equal(await get(), 1);
    assert.equal(created, 1);
  });

  it('forgets a failed creation: the next call tries again', async () => {
    let calls = 0;
    const get = lazy(async () => {
      calls++;
      if (calls === 1) throw new Error('not yet');
      return 'ok';
    });
    await assert.rejects(get(), /not yet/);
    assert.equal(await get(), 'ok');
    assert.equal(calls, 2);
  });

  it('reset returns the value it forgets, and the next call creates a new one', async () => {
    let created = 0;
    const get = lazy(async () => ++created);
    assert.equal(await get(), 1);
    assert.equal(await get.reset(), 1);
    assert.equal(get.reset(), undefined, 'nothing left to forget');
    assert.equal(await get(), 2);
  });

  it('a creation that fails after a reset does not forget the newer value', async () => {
    let fail: (err: Error) => void = () => {};
    let created = 0;
    const get = lazy(() => {
      created++;
      return created === 1 ? new Promise<number>((_, reject) => (fail = reject)) : Promise.resolve(created);
    });
    const first = get();
    get.reset();
    assert.equal(await get(), 2);
    fail(new Error('late'));
    await assert.rejects(first, /late/);
    assert.equal(await get(), 2);
    assert.equal(created, 2);
  });
});
