/**
 * Uploads that used to exhaust an instance or stall the pipeline, on the emulators (started here) with the
 * DuckDB cohort store: each ends in a report, in bounded memory (figures printed), with Firestore and the
 * cohort store agreeing afterwards. A newline bomb, 100k duplicate boxes, 5,000 distinct boxes for one
 * image, 200k conflicting rows, the row and content caps, long and odd object names, giving up on one.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createGzip, gunzipSync } from 'node:zlib';
import { fromImageDoc, IMAGES_COLLECTION, MAX_BOXES_PER_IMAGE } from '../../shared/labels/doc.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { MAX_CONTENT_BYTES } from '../../shared/uploads/bytes.ts';
import { MAX_LISTED_ISSUES } from '../../shared/uploads/issues.ts';
import {
  createUploadProcessor,
  type UploadLimits,
  type UploadOutcome,
  type UploadProcessor,
} from '../../shared/uploads/processor.ts';
import { MAX_OBJECT_NAME_BYTES, quarantineName, reportName } from '../../shared/uploads/report.ts';
import {
  assertStoresAgree,
  BUCKET,
  exists,
  fileCohortStore,
  measured,
  readImageDocs,
  readJson,
  startUploadRig,
  type UploadRig,
} from './harness.ts';

const BBOX_HEADER = 'Image Index,Finding Label,Bbox [x,y,w,h],,,';
const MiB = 1024 * 1024;
let rig: UploadRig & { dir: string };
let data: string;
let metadataLines: string[];
/** An image of the seeded dataset, and its metadata row. */
let imageId: string;
let metadataRow: string;

function processor(opts: { limits?: Partial<UploadLimits>; failing?: boolean; maxAttempts?: number } = {}) {
  return createUploadProcessor({
    objects: rig.objects,
    documents: rig.documents,
    firestore: () => rig.db,
    labels: createFirestoreLabelRepo({ firestore: rig.db }),
    cohorts: () => {
      if (opts.failing)
        throw Object.assign(new Error('14 UNAVAILABLE: the cohort store is down'), { code: 14 });
      return fileCohortStore(rig.cohortPath);
    },
    uploadsBucket: BUCKET,
    throttle: false,
    leaseMs: 60_000,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
  });
}

/** Uploads `body` under `name` and has `proc` process its finalized event. */
async function run(name: string, body: Buffer | string, proc: UploadProcessor = rig.processor) {
  const d = await rig.upload(name, body);
  return proc.process(d.event);
}

async function storedRecord(id: string) {
  const snap = await rig.db.collection(IMAGES_COLLECTION).doc(id).get();
  return fromImageDoc(id, snap.data()).record;
}

function reportOf(o: UploadOutcome) {
  assert.ok('report' in o, `a report: ${JSON.stringify(o)}`);
  return o.report;
}

function figures(what: string, m: { seconds: number; liveGrowthMb: number; rssGrowthMb: number }) {
  console.log(
    `# ${what}: report after ${m.seconds.toFixed(1)} s; live memory grew by at most ${m.liveGrowthMb.toFixed(1)} MB, RSS by ${m.rssGrowthMb.toFixed(1)} MB`,
  );
}

async function gzipOf(parts: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const p of Readable.from(parts).pipe(createGzip({ level: 9 }))) out.push(p as Buffer);
  return Buffer.concat(out);
}

before(async () => {
  rig = await startUploadRig({ autoProcess: false });
  data = join(rig.dir, 'data');
  await writeSyntheticDataset(data, { images: 40, seed: 20 });
  for (const f of ['train_val_list.txt', 'test_list.txt', 'Data_Entry_2017_v2020.csv.gz']) {
    assert.equal((await run(`seed/${f}`, await readFile(join(data, f)))).status, 'loaded');
  }
  metadataLines = gunzipSync(await readFile(join(data, 'Data_Entry_2017_v2020.csv.gz')))
    .toString('utf8')
    .split('\n');
  metadataRow = metadataLines[1]!;
  imageId = metadataRow.slice(0, 12);
});
after(async () => {
  await rig?.stop();
});

describe('bounded memory and linear time', { timeout: 300_000 }, () => {
  /** The BBox header, then `mib` MiB of newlines, gzipped as it streams. */
  function newlineBomb(mib: number): Promise<Buffer> {
    const newlines = Buffer.alloc(MiB, 0x0a);
    return gzipOf(
      (function* () {
        yield Buffer.from(`${BBOX_HEADER}\n`);
        for (let i = 0; i < mib; i++) yield newlines;
      })(),
    );
  }

  test('a 200 MB newline bomb (gzipped) is rejected at the content cap, in a report, memory flat', async () => {
    const bomb = await newlineBomb(200);
    const [outcome, m] = await measured(() => run('bombs/newlines-200.csv.gz', bomb));
    figures(`200 MB newline bomb (${(bomb.length / 1024).toFixed(0)} KB gzipped)`, m);
    const r = reportOf(outcome);
    assert.equal(r.status, 'rejected');
    assert.equal(r.reason, `the decompressed content is larger than ${MAX_CONTENT_BYTES} bytes`);
    assert.equal(r.warningsTotal, 0);
    assert.ok(await exists(rig.storage, 'quarantine/bombs/newlines-200.csv.gz'));
    assert.ok(m.liveGrowthMb < 64, `live memory grew by ${m.liveGrowthMb.toFixed(1)} MB`);
    await assertStoresAgree(rig);
  });

  test('20 MB of blank lines (under the cap): loaded, one warning counts them all', async () => {
    const bomb = await newlineBomb(20);
    const [outcome, m] = await measured(() => run('bombs/newlines-20.csv.gz', bomb));
    figures('20 MB newline file (under the cap)', m);
    const r = reportOf(outcome);
    assert.equal(r.status, 'loaded');
    assert.equal(r.lines, 1 + 20 * MiB);
    assert.deepEqual(r.rows, { parsed: 0, loaded: 0, rejected: 0, staged: 0 });
    assert.equal(r.warningsTotal, 1);
    assert.deepEqual(r.warnings, [
      { line: 2, reason: `${20 * MiB} blank lines skipped (the first at line 2)` },
    ]);
    assert.ok(m.liveGrowthMb < 64, `live memory grew by ${m.liveGrowthMb.toFixed(1)} MB`);
  });

  test('100k duplicate boxes for one image: each distinct box kept once, every row loaded', async () => {
    const rows = [BBOX_HEADER];
    for (let i = 0; i < 100_000; i++) rows.push(`${imageId}.png,Mass,${(i % 100) + 0.5},20,30,40`);
    const [outcome, m] = await measured(() => run('boxes/duplicates.csv', rows.join('\n')));
    figures('100k duplicate boxes (100 distinct)', m);
    const r = reportOf(outcome);
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.rows, { parsed: 100_000, loaded: 100_000, rejected: 0, staged: 0 });
    const doc = await storedRecord(imageId);
    assert.deepEqual(
      doc.boundingBoxes.map((b) => b.x),
      Array.from({ length: 100 }, (_, i) => i + 0.5),
    );
    assert.ok(m.liveGrowthMb < 64, `live memory grew by ${m.liveGrowthMb.toFixed(1)} MB`);
    await assertStoresAgree(rig);
  });

  test(`5,000 distinct boxes for one image: the first ${MAX_BOXES_PER_IMAGE} loaded, the rest rejected by line`, async () => {
    const rows = [BBOX_HEADER];
    for (let i = 0; i < 5000; i++) rows.push(`${imageId}.png,Nodule,${i},2,3,4`);
    const [outcome, m] = await measured(() => run('boxes/distinct.csv', rows.join('\n')));
    figures('5,000 distinct boxes for one image', m);
    const r = reportOf(outcome);
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.rows, {
      parsed: 5000,
      loaded: MAX_BOXES_PER_IMAGE,
      rejected: 5000 - MAX_BOXES_PER_IMAGE,
      staged: 0,
    });
    assert.equal(r.rejectedTotal, 5000 - MAX_BOXES_PER_IMAGE);
    assert.deepEqual(
      r.rejected.map((x) => x.line),
      Array.from({ length: 5000 - MAX_BOXES_PER_IMAGE }, (_, i) => MAX_BOXES_PER_IMAGE + 2 + i),
    );
    assert.equal(r.rejected[0]!.reason, `more than ${MAX_BOXES_PER_IMAGE} bounding boxes for ${imageId}`);
    const doc = await storedRecord(imageId);
    assert.deepEqual(
      doc.boundingBoxes.map((b) => b.x),
      Array.from({ length: MAX_BOXES_PER_IMAGE }, (_, i) => i),
    );
    await assertStoresAgree(rig);
  });

  test('200k conflicting duplicate rows (no RangeError): loaded, all counted, the first 10,000 listed', async () => {
    const fields = metadataRow.split(',');
    const rows = [metadataLines[0]!, metadataRow];
    for (let i = 0; i < 200_000; i++) {
      const age = Number(fields[4]) === (i % 90) + 1 ? 99 : (i % 90) + 1;
      rows.push([...fields.slice(0, 4), String(age), ...fields.slice(5)].join(','));
    }
    const [outcome, m] = await measured(() => run('conflicts/meta.csv', rows.join('\n')));
    figures('200k conflicting metadata rows', m);
    const r = reportOf(outcome);
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.rows, { parsed: 200_001, loaded: 1, rejected: 200_000, staged: 0 });
    assert.equal(r.rejectedTotal, 200_000);
    assert.equal(r.rejected.length, MAX_LISTED_ISSUES);
    assert.deepEqual(r.rejected[0], {
      line: 3,
      reason: `conflicting duplicate metadata row for ${imageId}; kept the first`,
    });
    await assertStoresAgree(rig);
  });
});

describe('caps on a file: rejected as a whole, quarantined, nothing written', () => {
  test('more data rows than the cap', async () => {
    const before = await readImageDocs(rig.db);
    const rows = [BBOX_HEADER];
    for (let i = 0; i < 1001; i++) rows.push(`${imageId}.png,Mass,${i},2,3,4`);
    const r = reportOf(await run('caps/rows.csv', rows.join('\n'), processor({ limits: { maxRows: 1000 } })));
    assert.equal(r.status, 'rejected');
    assert.equal(
      r.reason,
      'more than 1000 data rows (the first past the limit at line 1002): split the file into smaller ones',
    );
    assert.equal(r.quarantine, 'quarantine/caps/rows.csv');
    assert.ok(await exists(rig.storage, 'quarantine/caps/rows.csv'));
    assert.deepEqual(await readImageDocs(rig.db), before);
    await assertStoresAgree(rig);
  });

  for (const gzip of [true, false]) {
    test(`more content than the cap (${gzip ? 'gzip, after decompression' : 'plain'})`, async () => {
      const body = Buffer.concat([Buffer.from(`${BBOX_HEADER}\n`), Buffer.alloc(2 * MiB, 0x0a)]);
      const name = `caps/bytes.csv${gzip ? '.gz' : ''}`;
      const proc = processor({ limits: { maxContentBytes: MiB } });
      const r = reportOf(await run(name, gzip ? await gzipOf([body]) : body, proc));
      assert.equal(r.status, 'rejected');
      assert.equal(
        r.reason,
        `${gzip ? 'the decompressed content' : 'the object'} is larger than ${MiB} bytes`,
      );
      assert.equal(r.offset, MiB);
      assert.ok(await exists(rig.storage, `quarantine/${name}`));
    });
  }
});

describe('object names', () => {
  const long = `names/${'n'.repeat(1014)}.csv`;

  test('a 1,024-byte name: report and quarantine copy under bounded derived names; the report keeps the original', async () => {
    assert.equal(Buffer.byteLength(long), 1024);
    const r = reportOf(await run(long, 'not a label file\n'));
    assert.equal(r.status, 'rejected');
    assert.equal(r.object.name, long);
    const name = reportName(long);
    assert.ok(Buffer.byteLength(name) <= MAX_OBJECT_NAME_BYTES);
    assert.match(name, /^reports\/names\/n+~[0-9a-f]{16}\.json$/);
    const stored = await readJson(rig.storage, name);
    assert.equal(stored.status, 'rejected');
    assert.equal((stored.object as { name: string }).name, long);
    assert.equal(r.quarantine, quarantineName(long));
    assert.ok(await exists(rig.storage, quarantineName(long)));
  });

  test('giving up on an upload with such a name writes its failed report (it cannot fail the same way twice)', async () => {
    const name = `names/giveup-${'g'.repeat(1000)}.csv`;
    const r = reportOf(
      await run(
        name,
        `${BBOX_HEADER}\n${imageId}.png,Mass,1,2,3,4\n`,
        processor({ failing: true, maxAttempts: 1 }),
      ),
    );
    assert.equal(r.status, 'failed');
    const stored = await readJson(rig.storage, reportName(name));
    assert.equal(stored.status, 'failed');
    assert.equal((stored.object as { name: string }).name, name);
    assert.match(String(stored.reason), /UNAVAILABLE: the cohort store is down/);
  });

  test('a name with control characters: its report name has none, and is told apart by the hash', async () => {
    const name = 'names/odd\tname\u0001.csv';
    const r = reportOf(await run(name, 'not a label file\n'));
    assert.equal(r.object.name, name);
    const report = reportName(name);
    assert.match(report, /^reports\/names\/odd_name_\.csv~[0-9a-f]{16}\.json$/);
    assert.notEqual(report, reportName('names/odd_name_.csv'));
    assert.ok(await exists(rig.storage, report));
  });
});
