import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { toImageDoc } from '../../shared/labels/doc.ts';
import { isStoreUnavailable } from '../../shared/labels/errors.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { patchRecords } from '../../shared/labels/patch.ts';
import type { LabelRepo } from '../../shared/labels/repo.ts';
import {
  type ImageId,
  type ImageRecord,
  ImageRecordSchema,
  type PatientId,
} from '../../shared/model/index.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { fixtureRecords } from './fixtures.ts';

const id = (s: string) => s as ImageId;
let fs: TestFirestore;
let repo: LabelRepo;
const records = fixtureRecords();

/** Every stored document, raw, by id. */
async function dump(): Promise<Record<string, unknown>> {
  const snap = await fs.db.collection('images').get();
  return Object.fromEntries(snap.docs.map((d) => [d.id, d.data()]));
}

before(async () => {
  fs = await startTestFirestore();
  repo = createFirestoreLabelRepo({ firestore: fs.db, chunkSize: 2 });
});
after(async () => fs?.stop());

describe('Firestore label repo: reads', () => {
  before(async () => {
    await fs.emulator.reset();
    const s = await repo.upsertRecords(records, { throttle: false });
    assert.equal(s.written, records.length);
  });

  test('getImage returns the full record and its content hash; unknown ids are undefined', async () => {
    const r = records.find((x) => x.imageId === '00000013_008')!;
    const got = await repo.getImage(r.imageId);
    assert.ok(got);
    assert.deepEqual(ImageRecordSchema.parse(got.record), got.record);
    assert.deepEqual(got.record, JSON.parse(toImageDoc(r).record));
    assert.equal(got.version, toImageDoc(r).contentHash);
    assert.equal(await repo.getImage(id('09999999_000')), undefined);
  });

  test('getImages answers in request order over several chunks, with undefined for missing ids', async () => {
    const ids = [
      '00000002_000',
      '09999999_000',
      '00000001_001',
      '00000001_000',
      '00000001_001',
      '00000013_008',
    ];
    const got = await repo.getImages(ids.map(id));
    assert.deepEqual(
      got.map((g) => g?.record.imageId),
      ['00000002_000', undefined, '00000001_001', '00000001_000', '00000001_001', '00000013_008'],
    );
  });

  test("getPatientImages orders a patient's images by followUp; unknown patients have none", async () => {
    const got = await repo.getPatientImages(1 as PatientId);
    assert.deepEqual(
      got.map((g) => [g.record.imageId, g.record.followUp]),
      [
        ['00000001_000', 0],
        ['00000001_001', 1],
        ['00000001_002', 2],
      ],
    );
    assert.deepEqual(await repo.getPatientImages(424242 as PatientId), []);
  });
});

describe('loader', () => {
  before(() => fs.emulator.reset());

  test('loading twice leaves identical documents', async () => {
    await loadRecords(fs.db, records, { throttle: false });
    const first = await dump();
    const again = await loadRecords(fs.db, [...records].reverse(), { throttle: false });
    assert.equal(again.written, records.length);
    assert.deepEqual(await dump(), first);
    assert.equal(Object.keys(first).length, records.length);
  });

  test('skipUnchanged writes only records whose content differs', async () => {
    const changed = records.map((r) => (r.imageId === '00000002_000' ? { ...r, patientAge: 33 } : r));
    const progress: number[] = [];
    const s = await loadRecords(fs.db, changed, {
      throttle: false,
      skipUnchanged: true,
      chunkSize: 2,
      onProgress: (p) => progress.push(p.written + p.skipped),
    });
    assert.deepEqual([s.written, s.skipped, s.failed], [1, records.length - 1, 0]);
    assert.equal(progress.at(-1), records.length);
    assert.equal((await repo.getImage(id('00000002_000')))?.record.patientAge, 33);
  });

  test('a load that skips almost everything, one record per chunk, does not stall', async () => {
    const many: ImageRecord[] = Array.from({ length: 30 }, (_, i) =>
      ImageRecordSchema.parse({
        ...records[1]!,
        imageId: `0000900${String(i).padStart(1, '0')}_000`.slice(-12),
      }),
    );
    await loadRecords(fs.db, many, { throttle: false });
    const one = many.map((r, i) => (i === 29 ? { ...r, width: 1 } : r));
    const s = await loadRecords(fs.db, one, { throttle: false, skipUnchanged: true, chunkSize: 1 });
    assert.deepEqual([s.written, s.skipped], [1, 29]);
  });

  test('a throttled load keeps to its rate (ramp-up start, capped)', async () => {
    const base = records[1]!;
    const many = Array.from({ length: 1000 }, (_, i) =>
      ImageRecordSchema.parse({ ...base, imageId: `${String(20_000 + i).padStart(8, '0')}_000` }),
    );
    const s = await loadRecords(fs.db, many, { throttle: { maxOpsPerSecond: 250 } });
    assert.equal(s.written, 1000);
    // BulkWriter's limiter starts with one second's worth of tokens: 750 more writes need >= 3 s at 250/s.
    assert.ok(s.seconds >= 2.5, `${s.seconds.toFixed(2)} s`);
  });

  test('takes an async iterable and stops enqueueing when aborted', async () => {
    async function* gen() {
      yield* records;
    }
    const s = await loadRecords(fs.db, gen(), { throttle: true });
    assert.equal(s.written, records.length);
    assert.equal(s.total, undefined);
    const aborted = await loadRecords(fs.db, records, { throttle: false, signal: AbortSignal.abort() });
    assert.deepEqual([aborted.aborted, aborted.written], [true, 0]);
  });
});

describe('patchRecords', () => {
  const target = records.find((r) => r.imageId === '00000001_001')!;
  const reader = (readerId: string, abnormal: 'YES' | 'NO') => ({
    study: 'allFindings' as const,
    readerId,
    labels: { abnormal },
  });
  before(async () => {
    await fs.emulator.reset();
    await loadRecords(fs.db, records, { throttle: false });
  });

  test('merges a label set into an existing document and leaves its other fields alone', async () => {
    const allFindings = { ...records[3]!.expert.allFindings! };
    const s = await patchRecords(
      fs.db,
      [{ imageId: target.imageId, allFindings, readers: [reader('1', 'YES')] }],
      { throttle: false },
    );
    assert.deepEqual(
      [s.updated, s.created, s.unchanged, s.rejected.length, s.failed.length],
      [1, 0, 0, 0, 0],
    );
    const got = (await repo.getImage(target.imageId))!.record;
    assert.deepEqual(got.expert.allFindings, allFindings);
    assert.deepEqual({ ...got, expert: null }, { ...JSON.parse(toImageDoc(target).record), expert: null });
  });

  test('the same patch again changes nothing and duplicates no reader row', async () => {
    const s = await patchRecords(fs.db, [{ imageId: target.imageId, readers: [reader('1', 'YES')] }], {
      throttle: false,
    });
    assert.deepEqual([s.updated, s.unchanged], [0, 1]);
    assert.equal((await repo.getImage(target.imageId))!.record.expert.readers.length, 1);
  });

  test('six concurrent patches of one document all land (optimistic concurrency, retried)', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => String(100 + i));
    const summaries = await Promise.all(
      ids.map((r) =>
        patchRecords(fs.db, [{ imageId: target.imageId, readers: [reader(r, 'NO')] }], { throttle: false }),
      ),
    );
    assert.deepEqual(
      summaries.map((s) => [s.updated, s.failed.length]),
      ids.map(() => [1, 0]),
    );
    const readers = (await repo.getImage(target.imageId))!.record.expert.readers.map((r) => r.readerId);
    assert.deepEqual(readers, ['1', ...ids]);
  });

  test('labels for an unknown image are rejected; metadata and split create it', async () => {
    const { split, boundingBoxes, expert, files, ...metadata } = records[4]!;
    const newId = id('00000002_001');
    const s = await patchRecords(
      fs.db,
      [
        { imageId: id('00000077_000'), readers: [reader('1', 'NO')] },
        { imageId: newId, metadata: { ...metadata, imageId: newId, followUp: 1 }, split },
      ],
      { throttle: false },
    );
    assert.deepEqual(
      s.rejected.map((r) => r.imageId),
      ['00000077_000'],
    );
    assert.equal(s.created, 1);
    assert.equal((await repo.getImage(newId))?.record.files.png.endsWith('/png/00000002_001.png'), true);
    assert.ok(boundingBoxes && expert && files);
  });
});

describe('Firestore unavailable', () => {
  test('reads against a dead host fail within the deadline with LabelStoreUnavailableError', () => {
    // In a child process: the client keeps retrying in the background for about a minute after our deadline,
    // which would hold this test process open. FIRESTORE_EMULATOR_HOST would override the dead host.
    const code = `
      const { createFirestore } = await import(${JSON.stringify(new URL('../../shared/labels/firestore-client.ts', import.meta.url).href)});
      const { createFirestoreLabelRepo } = await import(${JSON.stringify(new URL('../../shared/labels/firestore-repo.ts', import.meta.url).href)});
      const { isStoreUnavailable } = await import(${JSON.stringify(new URL('../../shared/labels/errors.ts', import.meta.url).href)});
      const down = createFirestoreLabelRepo({
        firestore: await createFirestore({ projectId: 'demo-dead', emulatorHost: '127.0.0.1:9' }),
        timeoutMs: 500,
      });
      const out = [];
      for (const call of [() => down.getImage('00000001_000'), () => down.getImages(['00000001_000']), () => down.getPatientImages(1)]) {
        const t = Date.now();
        const e = await call().then(() => undefined, (e) => e);
        out.push({ name: e?.name, unavailable: isStoreUnavailable(e), ms: Date.now() - t });
      }
      console.log(JSON.stringify(out));
      process.exit(0);`;
    const env = { ...process.env };
    delete env.FIRESTORE_EMULATOR_HOST;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = JSON.parse(res.stdout) as { name: string; unavailable: boolean; ms: number }[];
    assert.equal(out.length, 3);
    for (const o of out) {
      assert.equal(o.name, 'LabelStoreUnavailableError');
      assert.equal(o.unavailable, true);
      assert.ok(o.ms < 3000, `took ${o.ms} ms`);
    }
  });

  test('gRPC UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED count as unavailable; others do not', () => {
    assert.deepEqual(
      [14, 4, 8, 3, 5, 13].map((code) => isStoreUnavailable({ code })),
      [true, true, true, false, false, false],
    );
    assert.equal(isStoreUnavailable(new Error('x')), false);
    assert.equal(isStoreUnavailable(null), false);
  });
});
