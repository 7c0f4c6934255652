/**
 * Document caps on the Firestore emulator (started here): the largest image document the caps allow and one
 * of exactly MAX_RECORD_BYTES are written and read back; past a cap a patch is refused with a reason instead
 * of reaching Firestore; what Firestore itself refuses (INVALID_ARGUMENT) is a rejected patch, never a
 * retryable failure; the fullest split shard is written and read back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  canonicalRecord,
  fromImageDoc,
  IMAGES_COLLECTION,
  MAX_BOXES_PER_IMAGE,
  MAX_READERS_PER_IMAGE,
  MAX_RECORD_BYTES,
  toImageDoc,
} from '../../shared/labels/doc.ts';
import { patchRecords } from '../../shared/labels/patch.ts';
import {
  FINDINGS,
  type ImageId,
  type ImageMetadata,
  type ImageRecord,
  imageFiles,
  type ReaderLabels,
  type Split,
} from '../../shared/model/index.ts';
import { createSplitTable, MAX_SPLITS_PER_SHARD, splitShardOf } from '../../shared/uploads/splits.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';

let fs: TestFirestore;
before(async () => {
  fs = await startTestFirestore();
});
after(async () => {
  await fs?.stop();
});

const LONGEST_FINDING = [...FINDINGS].sort((a, b) => b.length - a.length)[0]!;
/** The longest decimal form a JavaScript number takes: 23 characters. */
const LONG_NUMBER = -1.2345678901234568e-300;

function metadata(id: string): ImageMetadata {
  return {
    imageId: id as ImageId,
    patientId: Number(id.slice(0, 8)) as ImageMetadata['patientId'],
    followUp: Number(id.slice(9)),
    patientAge: 120,
    patientSex: 'F',
    viewPosition: 'AP',
    width: 4096,
    height: 4096,
    pixelSpacing: { x: LONG_NUMBER * -1, y: LONG_NUMBER * -1 },
    findings: [...FINDINGS],
  };
}

function reader(i: number, idDigits = 20): ReaderLabels {
  const labels: ReaderLabels['labels'] = { abnormal: 'HEDGE', other: 'HEDGE' };
  for (const f of FINDINGS) labels[f] = 'HEDGE';
  return { study: 'allFindings', readerId: String(i).padStart(idDigits, '9'), labels };
}

/** The largest record the count caps allow, every value at its longest. */
function largestRecord(id: string): ImageRecord {
  const m = metadata(id);
  return {
    ...m,
    split: 'train_val',
    boundingBoxes: Array.from({ length: MAX_BOXES_PER_IMAGE }, () => ({
      finding: LONGEST_FINDING,
      x: LONG_NUMBER,
      y: LONG_NUMBER,
      w: -LONG_NUMBER,
      h: -LONG_NUMBER,
    })),
    expert: {
      fourFindings: {
        set: 'validation',
        fracture: true,
        pneumothorax: true,
        airspaceOpacity: true,
        noduleOrMass: true,
      },
      allFindings: {
        abnormal: true,
        other: true,
        findings: Object.fromEntries(
          FINDINGS.map((f) => [f, true]),
        ) as ImageRecord['expert']['allFindings'] extends infer A
          ? A extends { findings: infer F }
            ? F
            : never
          : never,
      },
      readers: Array.from({ length: MAX_READERS_PER_IMAGE }, (_, i) => reader(i)),
    },
    files: imageFiles(id as ImageId),
  };
}

/** Creates `r` through patchRecords (metadata + split + the rest), as an upload would. */
function patchesOf(r: ImageRecord, split: Split = r.split) {
  const { split: _s, boundingBoxes, expert, files: _f, ...meta } = r;
  return [
    {
      imageId: r.imageId,
      metadata: meta,
      split,
      boundingBoxes,
      fourFindings: expert.fourFindings,
      allFindings: expert.allFindings,
      readers: expert.readers,
    },
  ];
}

async function stored(id: string) {
  const snap = await fs.db.collection(IMAGES_COLLECTION).doc(id).get();
  return snap.exists ? fromImageDoc(id, snap.data()).record : undefined;
}

const bytesOf = (r: ImageRecord) => Buffer.byteLength(toImageDoc(r).record, 'utf8');

describe('image documents', () => {
  test('the largest document the caps allow is written to the emulator and read back intact', async () => {
    const r = largestRecord('00000001_000');
    const s = await patchRecords(fs.db, patchesOf(r), { throttle: false });
    assert.deepEqual([s.created, s.rejected, s.failed], [1, [], []]);
    const back = await stored(r.imageId);
    assert.ok(back);
    assert.deepEqual(back.boundingBoxes, canonicalRecord(r).boundingBoxes);
    assert.deepEqual(back.expert, canonicalRecord(r).expert);
    const bytes = Buffer.byteLength(JSON.stringify(back), 'utf8');
    console.log(
      `# largest capped record: ${bytes} bytes (${MAX_BOXES_PER_IMAGE} boxes, ${MAX_READERS_PER_IMAGE} readers)`,
    );
    assert.ok(bytes <= MAX_RECORD_BYTES);
  });

  test('one box or reader past the caps: the patch is refused with a reason, nothing written', async () => {
    const boxes = largestRecord('00000002_000');
    boxes.boundingBoxes.push({ finding: 'Mass', x: 1, y: 1, w: 1, h: 1 });
    const readers = largestRecord('00000002_001');
    readers.expert.readers.push(reader(MAX_READERS_PER_IMAGE));
    const s = await patchRecords(fs.db, [...patchesOf(boxes), ...patchesOf(readers)], { throttle: false });
    assert.equal(s.created, 0);
    assert.deepEqual(
      s.rejected.map((x) => [x.imageId, x.reason]),
      [
        [
          '00000002_000',
          `${MAX_BOXES_PER_IMAGE + 1} bounding boxes, more than ${MAX_BOXES_PER_IMAGE} per image`,
        ],
        [
          '00000002_001',
          `${MAX_READERS_PER_IMAGE + 1} reader rows, more than ${MAX_READERS_PER_IMAGE} per image`,
        ],
      ],
    );
    assert.equal(await stored('00000002_000'), undefined);
  });

  /** A record whose stored `record` string takes exactly `bytes` bytes (one very long reader id pads it). */
  function recordOf(id: string, bytes: number): ImageRecord {
    const base = largestRecord(id);
    base.boundingBoxes = [];
    base.expert.readers = [reader(1, 1)];
    const pad = bytes - bytesOf(base);
    base.expert.readers = [reader(1, 1 + pad)];
    assert.equal(bytesOf(base), bytes);
    return base;
  }

  test('a record of exactly MAX_RECORD_BYTES is accepted by Firestore; one byte more is refused before it', async () => {
    const exact = recordOf('00000003_000', MAX_RECORD_BYTES);
    const over = recordOf('00000003_001', MAX_RECORD_BYTES + 1);
    const s = await patchRecords(fs.db, [...patchesOf(exact), ...patchesOf(over)], { throttle: false });
    assert.equal(s.created, 1);
    assert.deepEqual(s.failed, []);
    assert.deepEqual(s.rejected, [
      {
        imageId: '00000003_001',
        reason: `the record would take ${MAX_RECORD_BYTES + 1} bytes, more than ${MAX_RECORD_BYTES} per document`,
      },
    ]);
    assert.deepEqual((await stored('00000003_000'))?.expert.readers, exact.expert.readers);
    assert.equal(await stored('00000003_001'), undefined);
  });

  test("past Firestore's own 1 MiB limit, its INVALID_ARGUMENT is a rejected patch, not a failed (retried) write", async () => {
    const huge = recordOf('00000004_000', 1_100_000);
    const s = await patchRecords(fs.db, patchesOf(huge), {
      throttle: false,
      maxRecordBytes: Number.POSITIVE_INFINITY,
    });
    assert.deepEqual(s.failed, []);
    assert.equal(s.rejected.length, 1);
    assert.match(s.rejected[0]!.reason, /^Firestore refused the document: 3 INVALID_ARGUMENT/);
    assert.equal(await stored('00000004_000'), undefined);
  });
});

describe('split shards', () => {
  test(`the fullest shard (${MAX_SPLITS_PER_SHARD} images) is one document, written and read back`, async () => {
    const ids: ImageId[] = [];
    for (let p = 0; p < 10; p++) {
      for (let f = 0; f < 1000; f++) ids.push(`000012${3}${p}_${String(f).padStart(3, '0')}` as ImageId);
    }
    assert.equal(new Set(ids.map(splitShardOf)).size, 1);
    assert.equal(ids.length, MAX_SPLITS_PER_SHARD);
    const table = createSplitTable(() => fs.db);
    const splits = new Map(ids.map((id, i) => [id, (i % 3 ? 'train_val' : 'test') as Split]));
    await table.put(splits);
    assert.deepEqual(await table.get(ids), splits);
  });

  test('a shard of the earlier layout (p + six digits) is still read', async () => {
    await fs.db
      .collection('uploads_splits')
      .doc('p000045')
      .set({ splits: { '00004567_001': 'test' } });
    const got = await createSplitTable(() => fs.db).get([
      '00004567_001' as ImageId,
      '00004567_002' as ImageId,
    ]);
    assert.deepEqual([...got], [['00004567_001', 'test']]);
  });
});
