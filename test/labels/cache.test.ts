/**
 * The per-instance label cache on the real Firestore emulator, with an injected clock: hits read nothing,
 * entries expire after their time-to-live, only the labels version stamp (or the TTL) makes a changed
 * document visible, every instance sees the stamp within checkEverySeconds, and a read in flight while the
 * cache is dropped cannot put the old document back. Firestore reads are counted below the cache.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { createRestFirestore, type RestFirestore } from '../../shared/labels/firestore-rest.ts';
import { createLabelCache } from '../../shared/labels/label-cache.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import type { LabelRepo } from '../../shared/labels/repo.ts';
import { type CacheValue, createRestLabelRepo, restStampReader } from '../../shared/labels/rest-repo.ts';
import { bumpLabelsVersion } from '../../shared/labels/version-stamp.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { fixtureRecords } from './fixtures.ts';

const records = fixtureRecords();
const [first, second] = records as [ImageRecord, ImageRecord];
let fs: TestFirestore;
let rest: RestFirestore;
let now = 0;

/** Counts documents asked of Firestore (batchGet ids, gets, query results) and stamp reads. */
function counting(inner: RestFirestore) {
  const n = { docs: 0, stamps: 0 };
  let gate: Promise<void> | undefined;
  const fs: RestFirestore = {
    async batchGet(c, ids, mask) {
      n.docs += ids.length;
      const got = await inner.batchGet(c, ids, mask);
      await gate;
      return got;
    },
    async get(c, id, mask) {
      if (c === 'labels-meta') n.stamps++;
      else n.docs++;
      return inner.get(c, id, mask);
    },
    async queryByInt(c, w, o, s) {
      const docs = await inner.queryByInt(c, w, o, s);
      n.docs += Math.max(1, docs.length);
      return docs;
    },
    close: () => {},
  };
  return { fs, n, hold: (p: Promise<void> | undefined) => (gate = p) };
}

interface Instance {
  repo: LabelRepo;
  n: { docs: number; stamps: number };
  hold: (p: Promise<void> | undefined) => void;
  bytes: () => number;
}

/** A labels instance after its cold-start stamp check (label-cache.test.ts covers the reads before it). */
async function instance(
  opts: { maxBytes?: number; ttlSeconds?: number; checkEverySeconds?: number } = {},
): Promise<Instance> {
  const c = counting(rest);
  const cache = createLabelCache<CacheValue>({
    maxBytes: opts.maxBytes ?? 1 << 20,
    ttlSeconds: opts.ttlSeconds ?? 600,
    checkEverySeconds: opts.checkEverySeconds ?? 10,
    readStamp: restStampReader(() => c.fs, 'images'),
    now: () => now,
  });
  const repo = createRestLabelRepo({
    firestore: () => c.fs,
    cache,
    writes: createFirestoreLabelRepo({ firestore: fs.db }),
  });
  await cache.warm();
  return { repo, n: c.n, hold: c.hold, bytes: () => cache.bytes };
}

const age = async (i: Instance, r = first) => (await i.repo.getImage(r.imageId))?.record.patientAge;
/** Stores a changed copy of the first record, as an upload would, without touching the stamp. */
const rewrite = (patientAge: number) => loadRecords(fs.db, [{ ...first, patientAge }], { throttle: false });

before(async () => {
  fs = await startTestFirestore();
  rest = createRestFirestore({ projectId: fs.emulator.projectId, emulatorHost: fs.emulator.host });
});
after(async () => {
  rest?.close();
  await fs?.stop();
});
beforeEach(async () => {
  await fs.emulator.reset();
  await loadRecords(fs.db, records, { throttle: false });
  now = 1_000_000;
});

describe('label cache', () => {
  test('hits read nothing from Firestore; image, batch and patient reads are cached alike', async () => {
    const i = await instance();
    const ids = records.map((r) => r.imageId);
    const firstRound = await i.repo.getImages(ids);
    await i.repo.getPatientImages(first.patientId);
    const asked = i.n.docs;
    assert.equal(asked, ids.length + records.filter((r) => r.patientId === first.patientId).length);
    for (let k = 0; k < 10; k++) {
      assert.deepEqual(await i.repo.getImages(ids), firstRound);
      await i.repo.getImage(second.imageId);
      await i.repo.getPatientImages(first.patientId);
    }
    assert.equal(i.n.docs, asked, 'no document read after the first round');
    assert.equal(i.n.stamps, 1, 'one stamp read within checkEverySeconds');
  });

  test('an unknown image is cached as missing too', async () => {
    const i = await instance();
    assert.equal(await i.repo.getImage('09999999_000' as ImageRecord['imageId']), undefined);
    assert.equal(await i.repo.getImage('09999999_000' as ImageRecord['imageId']), undefined);
    assert.equal(i.n.docs, 1);
  });

  test('after its time-to-live an entry is read again, and shows what Firestore holds then', async () => {
    const i = await instance({ ttlSeconds: 60, checkEverySeconds: 3600 });
    assert.equal(await age(i), first.patientAge);
    await rewrite(77);
    now += 59_999;
    assert.equal(await age(i), first.patientAge, 'served from the cache within the TTL');
    now += 1;
    assert.equal(await age(i), 77);
    assert.equal(i.n.docs, 2);
  });

  test('every instance sees a changed stamp within checkEverySeconds, and not a change without one', async () => {
    const a = await instance({ checkEverySeconds: 10 });
    const b = await instance({ checkEverySeconds: 10 });
    assert.deepEqual([await age(a), await age(b)], [first.patientAge, first.patientAge]);
    await rewrite(81);
    now += 10_000;
    assert.deepEqual(
      [await age(a), await age(b)],
      [first.patientAge, first.patientAge],
      'no stamp, no change',
    );
    await bumpLabelsVersion(fs.db, 'images');
    now += 9_999;
    assert.deepEqual([await age(a), await age(b)], [first.patientAge, first.patientAge], 'within the bound');
    now += 1;
    assert.deepEqual([await age(a), await age(b)], [81, 81], 'fresh once checkEverySeconds have passed');
    assert.deepEqual([a.n.stamps, b.n.stamps], [3, 3]);
  });

  test('a read in flight while the cache is dropped does not store the old document', async () => {
    const i = await instance({ checkEverySeconds: 10 });
    let release!: () => void;
    i.hold(new Promise<void>((r) => (release = r)));
    const slow = i.repo.getImages([first.imageId]); // reads the old document, then waits
    await new Promise((r) => setTimeout(r, 200));
    i.hold(undefined);
    await rewrite(90);
    await bumpLabelsVersion(fs.db, 'images');
    now += 10_000;
    assert.equal(await age(i), 90, 'a new read sees the stamp and the new document');
    release();
    assert.equal((await slow)[0]?.record.patientAge, first.patientAge, 'the slow read answers what it read');
    assert.equal(await age(i), 90, 'but did not store it');
  });

  test('the cache holds at most maxBytes whatever is read, evicting the least recently used', async () => {
    const i = await instance({ maxBytes: 4000 });
    for (let k = 0; k < 3; k++) {
      for (const r of records) {
        await i.repo.getImage(r.imageId);
        assert.ok(i.bytes() <= 4000, `${i.bytes()} bytes cached`);
      }
    }
    assert.ok(i.n.docs > records.length, 'a working set over the bound is read again');
    const off = await instance({ maxBytes: 0 });
    await age(off);
    await age(off);
    assert.deepEqual(
      [off.n.docs, off.n.stamps, off.bytes()],
      [2, 0, 0],
      'maxBytes 0: no cache, no stamp reads',
    );
  });
});
