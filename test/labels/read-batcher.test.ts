import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BatchReads, createReadBatcher, type Fields } from '../../shared/labels/read-batcher.ts';

/** Documents `d<n>` exist for n < 1000; every call is recorded. */
function recording(fail?: Error) {
  const calls: string[][] = [];
  const singles: string[] = [];
  const doc = (id: string): Fields => (Number(id.slice(1)) < 1000 ? { id } : null);
  const reads: BatchReads = {
    async one(id) {
      singles.push(id);
      if (fail) throw fail;
      return doc(id);
    },
    async many(ids) {
      calls.push([...ids]);
      if (fail) throw fail;
      return new Map(ids.filter((id) => doc(id)).map((id) => [id, doc(id)]));
    },
  };
  return { reads, calls, singles };
}

describe('read batcher', () => {
  test('reads asked for in the same turn share one batchGet, each id once', async () => {
    const r = recording();
    const b = createReadBatcher(() => r.reads, 250);
    const [a, c, d] = await Promise.all([
      b.read(['d1', 'd2']),
      b.read(['d2', 'd3'], true),
      b.read(['d4', 'd5000']),
    ]);
    assert.deepEqual(r.calls, [['d1', 'd2', 'd3', 'd4', 'd5000']]);
    assert.deepEqual(r.singles, []);
    assert.deepEqual(a.get('d1'), { id: 'd1' });
    assert.deepEqual(c.get('d3'), { id: 'd3' });
    assert.equal(d.get('d5000') ?? null, null, 'an absent document is absent');
  });

  test('a lone single-image read is one document GET', async () => {
    const r = recording();
    const b = createReadBatcher(() => r.reads, 250);
    assert.deepEqual((await b.read(['d7'], true)).get('d7'), { id: 'd7' });
    assert.deepEqual(r.singles, ['d7']);
    assert.deepEqual(r.calls, []);
    await b.read(['d8']);
    assert.deepEqual(r.calls, [['d8']], 'a batch read of one id stays a batchGet');
  });

  test('a read of more than coalesceUpTo ids goes on its own, in chunks of chunkSize', async () => {
    const r = recording();
    const b = createReadBatcher(() => r.reads, 3, 2);
    const ids = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'];
    const [found, small] = await Promise.all([b.read(ids), b.read(['d8'], true), b.read(['d9'])]);
    assert.deepEqual(r.calls, [['d1', 'd2', 'd3'], ['d4', 'd5', 'd6'], ['d7'], ['d8', 'd9']]);
    assert.deepEqual(small.get('d8'), { id: 'd8' });
    assert.deepEqual(
      ids.map((id) => found.get(id)),
      ids.map((id) => ({ id })),
    );
  });

  test('reads in later turns are new batches', async () => {
    const r = recording();
    const b = createReadBatcher(() => r.reads, 250);
    await b.read(['d1', 'd2']);
    await b.read(['d1', 'd3']);
    assert.deepEqual(r.calls, [
      ['d1', 'd2'],
      ['d1', 'd3'],
    ]);
  });

  test("a failed read rejects every caller whose ids it carried, and the next turn's read is tried afresh", async () => {
    const boom = new Error('Firestore unavailable');
    const failing = recording(boom);
    let reads = failing.reads;
    const b = createReadBatcher(() => reads, 250);
    const results = await Promise.allSettled([b.read(['d1']), b.read(['d2'], true)]);
    assert.deepEqual(
      results.map((x) => (x.status === 'rejected' ? x.reason : 'fulfilled')),
      [boom, boom],
    );
    reads = recording().reads;
    assert.deepEqual((await b.read(['d1'])).get('d1'), { id: 'd1' });
  });
});
