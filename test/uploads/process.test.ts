/**
 * Upload processing end to end on emulators (started here): a real upload through the Storage emulator's
 * JSON API produces a real finalized CloudEvent, delivered to the processor; the outcome is checked in
 * Firestore, the DuckDB cohort store, the report object and the quarantine prefix. Synthetic data.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { mergeRecords } from '../../shared/dataset/index.ts';
import { GoogleRestError } from '../../shared/google/rest-http.ts';
import { IMAGES_COLLECTION } from '../../shared/labels/doc.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { VERSION_COLLECTION } from '../../shared/labels/version-stamp.ts';
import { parseFile } from '../../shared/parsers/index.ts';
import type { ParsedFile } from '../../shared/parsers/types.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import {
  createImageRegistry,
  IMAGES_REGISTRY_COLLECTION,
  registryDocId,
} from '../../shared/uploads/images.ts';
import { createFirestoreLedger, LEDGER_COLLECTION, ledgerDocId } from '../../shared/uploads/ledger.ts';
import { createUploadProcessor } from '../../shared/uploads/processor.ts';
import { makeDicom, makePng, pngWithBadCrc } from './fixtures.ts';
import {
  BUCKET,
  bulkCohortTables,
  bulkImageDocs,
  exists,
  readCohortTables,
  readImageDocs,
  readJson,
  startUploadRig,
  type UploadRig,
} from './harness.ts';

let rig: UploadRig & { dir: string };
let data: string;
const parsed = new Map<string, ParsedFile>();

async function parsedFile(name: string): Promise<ParsedFile> {
  let p = parsed.get(name);
  if (!p) {
    const split = name.startsWith('test_list')
      ? 'test'
      : name.startsWith('train_val')
        ? 'train_val'
        : undefined;
    p = await parseFile(join(data, name), split ? { split } : {});
    parsed.set(name, p);
  }
  return p;
}

/** Firestore documents and cohort rows equal what the bulk loaders produce from `files`. */
async function assertSameAsBulk(files: string[], opts: { metadata?: '2017' } = {}): Promise<number> {
  const { records } = mergeRecords(await Promise.all(files.map(parsedFile)), opts);
  const docs = await readImageDocs(rig.db);
  assert.equal(docs.size, records.length, 'document count');
  assert.deepEqual(docs, bulkImageDocs(records));
  assert.deepEqual(await readCohortTables(rig.cohortPath), await bulkCohortTables(records, rig.dir));
  return records.length;
}

async function uploadFile(name: string) {
  return rig.upload(`incoming/${name}`, await readFile(join(data, name)));
}

before(async () => {
  rig = await startUploadRig();
  data = join(rig.dir, 'data');
  await writeSyntheticDataset(data, { images: 400, seed: 6 });
});
after(async () => {
  await rig?.stop();
});

describe('label files', () => {
  test('split lists then metadata create the records the bulk loader creates', async () => {
    const tv = await uploadFile('train_val_list.txt');
    assert.equal(tv.outcome?.status, 'loaded');
    assert.equal((await readImageDocs(rig.db)).size, 0, 'a list alone creates no image');
    await uploadFile('test_list.txt');
    const meta = await uploadFile('Data_Entry_2017_v2020.csv.gz');
    assert.equal(meta.outcome?.status, 'loaded');
    const n = await assertSameAsBulk(['train_val_list.txt', 'test_list.txt', 'Data_Entry_2017_v2020.csv.gz']);
    assert.ok(n >= 400);
    const report = await readJson(rig.storage, 'reports/incoming/Data_Entry_2017_v2020.csv.gz.json');
    assert.equal(report.kind, 'metadata_v2020');
    assert.equal(report.gzip, true);
    assert.deepEqual(report.rows, { parsed: n, loaded: n, rejected: 0, staged: 0 });
    assert.equal(
      (report.object as { generation: string }).generation,
      (meta.event.data as { generation: string }).generation,
    );
  });

  const updates = [
    'BBox_List_2017.csv.gz',
    'four_findings_expert_labels/test_labels.csv',
    'four_findings_expert_labels/validation_labels.csv',
    'four_findings_expert_labels/individual_readers.csv',
    'all_findings_expert_labels/test_labels.csv',
    'all_findings_expert_labels/test_individual_readers.csv',
  ];
  const loaded = ['train_val_list.txt', 'test_list.txt', 'Data_Entry_2017_v2020.csv.gz'];
  for (const name of updates) {
    test(`${name} updates only its images, as the bulk loader would`, async () => {
      const before = await readImageDocs(rig.db);
      const d = await uploadFile(name);
      assert.equal(d.outcome?.status, 'loaded', JSON.stringify(d.outcome ?? d.error));
      loaded.push(name);
      await assertSameAsBulk(loaded);
      const after = await readImageDocs(rig.db);
      const touched = new Set(
        (await parsedFile(name)).rows.map((r) => ('metadata' in r ? r.metadata.imageId : r.imageId)),
      );
      for (const [id, doc] of after)
        if (!touched.has(id as never)) assert.deepEqual(doc, before.get(id), `${id} untouched`);
    });
  }

  test('a CSV with 10 bad rows among good ones: good rows loaded, the 10 listed by line', async () => {
    const text = (await readFile(join(data, 'BBox_List_2017.csv.gz'))).toString('latin1');
    const lines = (await import('node:zlib'))
      .gunzipSync(Buffer.from(text, 'latin1'))
      .toString('utf8')
      .split('\n');
    const body = lines.filter((l) => l.trim() !== '');
    const badLines: number[] = [];
    const out = [body[0]!];
    for (let i = 1; i < body.length; i++) {
      out.push(body[i]!);
      if (badLines.length < 10 && i % 2 === 0) {
        out.push(i % 4 ? '00000001_000.png,NotAFinding,1,2,3,4' : 'garbage row,with,too,few');
        badLines.push(out.length);
      }
    }
    assert.equal(badLines.length, 10);
    const d = await rig.upload('incoming/bbox-with-bad-rows.csv', out.join('\n'));
    assert.equal(d.outcome?.status, 'loaded');
    const report = await readJson(rig.storage, 'reports/incoming/bbox-with-bad-rows.csv.json');
    const rejected = report.rejected as { line: number; reason: string }[];
    assert.deepEqual(
      rejected.map((r) => r.line),
      badLines,
    );
    const rows = report.rows as { loaded: number; rejected: number };
    assert.equal(rows.rejected, 10);
    assert.equal(rows.loaded, out.length - 1 - 10);
    await assertSameAsBulk(loaded);
  });
});

describe('metadata updates', () => {
  test('the 2017 metadata file replaces the metadata of existing images (and nothing else)', async () => {
    const loaded = [
      'train_val_list.txt',
      'test_list.txt',
      'Data_Entry_2017_v2020.csv.gz',
      'BBox_List_2017.csv.gz',
      'four_findings_expert_labels/test_labels.csv',
      'four_findings_expert_labels/validation_labels.csv',
      'four_findings_expert_labels/individual_readers.csv',
      'all_findings_expert_labels/test_labels.csv',
      'all_findings_expert_labels/test_individual_readers.csv',
      'Data_Entry_2017.csv.gz',
    ];
    const d = await uploadFile('Data_Entry_2017.csv.gz');
    assert.equal(d.outcome?.status, 'loaded', JSON.stringify(d.outcome ?? d.error));
    // The bulk merger with the 2017 file preferred: every record carries the 2017 metadata.
    await assertSameAsBulk(loaded, { metadata: '2017' });
  });
});

describe('labels version stamp', () => {
  const stamp = async () =>
    (await rig.db.collection(VERSION_COLLECTION).doc(IMAGES_COLLECTION).get()).get('stamp') as unknown;

  test('changes again when a label file is uploaded again unchanged (a failed attempt may have written its rows)', async () => {
    const bytes = await readFile(join(data, 'BBox_List_2017.csv.gz'));
    const first = await rig.upload('incoming/stamp/BBox_List_2017.csv.gz', bytes);
    assert.equal(first.outcome?.status, 'loaded');
    const before = await stamp();
    assert.equal(typeof before, 'string');
    const again = await rig.upload('incoming/stamp/BBox_List_2017.csv.gz', bytes);
    assert.equal(again.outcome?.status, 'loaded');
    const report = await readJson(rig.storage, 'reports/incoming/stamp/BBox_List_2017.csv.gz.json');
    assert.equal((report.images as { updated: number }).updated, 0, 'every row unchanged');
    assert.ok((report.images as { unchanged: number }).unchanged > 0);
    assert.notEqual(await stamp(), before, 'bumped all the same');
  });
});

describe('exactly once', () => {
  test('the same event delivered 3 times: one load, one report', async () => {
    const d = await uploadFile('all_findings_expert_labels/test_labels.csv');
    const reportEvents = () =>
      rig.deliveries.filter(
        (x) =>
          (x.event.data as { name: string }).name ===
          'reports/incoming/all_findings_expert_labels/test_labels.csv.json',
      ).length;
    const reportsBefore = reportEvents();
    const again1 = await rig.processor.process(d.event);
    const again2 = await rig.processor.process(d.event);
    await rig.emulator.settled();
    assert.equal(d.outcome?.status, 'loaded');
    assert.deepEqual([again1.status, again2.status], ['duplicate', 'duplicate']);
    assert.equal(reportEvents(), reportsBefore, 'no second report written');
  });

  test('the same event delivered twice at once: one load and one report, then a no-op', async () => {
    const png = makePng(10, 10);
    await rig.storage.bucket(BUCKET).file('images/twice.png').save(png, { resumable: false });
    await rig.emulator.settled();
    const first = rig
      .userDeliveries()
      .find((x) => (x.event.data as { name: string }).name === 'images/twice.png')!;
    // Two simultaneous deliveries of one event (for a generation not processed yet; the emulator serves the
    // object's bytes whatever generation is asked for).
    const [meta] = await rig.storage.bucket(BUCKET).file('images/twice.png').getMetadata();
    const event = {
      ...first.event,
      data: { ...(first.event.data as object), generation: `${meta.generation}7` },
    };
    const reportEvents = () =>
      rig.deliveries.filter(
        (x) => (x.event.data as { name: string }).name === 'reports/images/twice.png.json',
      ).length;
    const reportsBefore = reportEvents();
    const results = await Promise.allSettled([rig.processor.process(event), rig.processor.process(event)]);
    await rig.emulator.settled();
    const statuses = results.map((r) =>
      r.status === 'fulfilled' ? r.value.status : (r.reason as Error).name,
    );
    // The loser either finds the winner's lease (and is told to retry) or, if its transaction was retried
    // after the winner finished, finds the work done.
    assert.equal(statuses.filter((s) => s === 'registered').length, 1, statuses.join());
    assert.ok(
      statuses.every((s) => ['registered', 'duplicate', 'UploadBusyError'].includes(s)),
      statuses.join(),
    );
    assert.equal(reportEvents(), reportsBefore + 1, 'one report');
    assert.equal((await rig.processor.process(event)).status, 'duplicate');
  });

  test('objects the function writes (reports/, quarantine/) are ignored', async () => {
    const own = rig.deliveries.filter((x) =>
      /^(reports|quarantine)\//.test((x.event.data as { name: string }).name),
    );
    assert.ok(own.length > 0);
    for (const d of own) assert.equal(d.outcome?.status, 'ignored');
  });
});

describe('an upload that keeps failing', () => {
  test('is retried until the attempt limit, then given up with a failed report and acknowledged', async () => {
    const name = 'incoming/giveup/test_labels.csv';
    await rig.upload(name, await readFile(join(data, 'all_findings_expert_labels/test_labels.csv')));
    const first = rig.userDeliveries().find((x) => (x.event.data as { name: string }).name === name)!;
    const [meta] = await rig.storage.bucket(BUCKET).file(name).getMetadata();
    // A generation no processor has seen (the emulator serves the object's bytes for any generation).
    const event = {
      ...first.event,
      data: { ...(first.event.data as object), generation: `${meta.generation}3` },
    };
    let opened = 0;
    const failing = createUploadProcessor({
      objects: rig.objects,
      documents: rig.documents,
      firestore: () => rig.db,
      labels: createFirestoreLabelRepo({ firestore: rig.db }),
      cohorts: () => {
        opened++;
        throw new Error('BigQuery is unavailable');
      },
      uploadsBucket: BUCKET,
      throttle: false,
      leaseMs: 60_000,
      maxAttempts: 3,
    });
    for (let attempt = 1; attempt <= 2; attempt++) {
      await assert.rejects(
        failing.process(event),
        /BigQuery is unavailable/,
        `attempt ${attempt} asks for a retry`,
      );
    }
    const last = await failing.process(event);
    assert.equal(last.status, 'failed');
    assert.equal(opened, 3);
    const report = (await readJson(rig.storage, `reports/${name}.json`)) as Record<string, unknown>;
    assert.equal(report.status, 'failed');
    assert.equal(report.attempt, 3);
    assert.match(
      String(report.reason),
      /gave up after 3 failed attempts.*BigQuery is unavailable.*Upload the file again/,
    );
    assert.equal(report.quarantine, null, 'the input was not at fault: no quarantine copy');
    assert.equal((await failing.process(event)).status, 'duplicate', 'a later redelivery is a no-op');
    assert.equal(opened, 3);
  });

  test('attempts that crashed without a word (timeout, out of memory) also count: the next delivery gives up', async () => {
    const name = 'incoming/giveup/crashing.csv';
    await rig.upload(name, await readFile(join(data, 'all_findings_expert_labels/test_labels.csv')));
    const first = rig.userDeliveries().find((x) => (x.event.data as { name: string }).name === name)!;
    const [meta] = await rig.storage.bucket(BUCKET).file(name).getMetadata();
    const generation = `${meta.generation}5`;
    const event = { ...first.event, data: { ...(first.event.data as object), generation } };
    // Two attempts claimed the upload and vanished: their leases simply ran out.
    const ledger = createFirestoreLedger(rig.documents, { leaseMs: 1 });
    const key = { bucket: BUCKET, name, generation };
    for (const attempt of [1, 2]) {
      assert.deepEqual(await ledger.claim(key), { status: 'claimed', attempt });
      await new Promise((r) => setTimeout(r, 5));
    }
    const processor = createUploadProcessor({
      objects: rig.objects,
      documents: rig.documents,
      firestore: () => rig.db,
      labels: createFirestoreLabelRepo({ firestore: rig.db }),
      cohorts: () => {
        throw new Error('must not be reached: the upload is given up before any work');
      },
      uploadsBucket: BUCKET,
      throttle: false,
      leaseMs: 60_000,
      maxAttempts: 2,
    });
    const outcome = await processor.process(event);
    assert.equal(outcome.status, 'failed');
    const report = (await readJson(rig.storage, `reports/${name}.json`)) as Record<string, unknown>;
    assert.equal(report.status, 'failed');
    assert.match(String(report.reason), /gave up after 2 failed attempts.*did not finish/);
    assert.equal((await processor.process(event)).status, 'duplicate');
  });
});

describe('images', () => {
  test('a PNG is validated and registered with size, checksums and dimensions', async () => {
    const png = makePng(64, 48);
    const d = await rig.upload('images/a.png', png);
    assert.equal(d.outcome?.status, 'registered');
    const snap = await rig.db
      .collection(IMAGES_REGISTRY_COLLECTION)
      .doc(registryDocId(BUCKET, 'images/a.png'))
      .get();
    const reg = snap.data()!;
    assert.deepEqual([reg.format, reg.width, reg.height, reg.size], ['png', 64, 48, png.length]);
    assert.equal(reg.sha256, (await import('node:crypto')).createHash('sha256').update(png).digest('hex'));
    assert.match(reg.md5Hash, /^[A-Za-z0-9+/=]{24}$/);
    assert.match(reg.crc32c, /^[A-Za-z0-9+/=]{8}$/);
  });

  test('a DICOM file is registered with its header tags', async () => {
    const d = await rig.upload('images/b.dcm', makeDicom({ rows: 30, columns: 20, patientAge: '045Y' }));
    assert.equal(d.outcome?.status, 'registered');
    const snap = await rig.db
      .collection(IMAGES_REGISTRY_COLLECTION)
      .doc(registryDocId(BUCKET, 'images/b.dcm'))
      .get();
    const reg = snap.data()!;
    assert.deepEqual(
      [reg.format, reg.width, reg.height, reg.dicom.patientAge, reg.dicom.viewPosition],
      ['dicom', 20, 30, '045Y', 'PA'],
    );
  });

  test('a crash between the report and the final commit (registry + done) is completed by the redelivery', async () => {
    const name = 'images/crash-before-commit.png';
    const png = makePng(16, 8);
    await rig.upload(name, png);
    const first = rig.userDeliveries().find((x) => (x.event.data as { name: string }).name === name)!;
    const [meta] = await rig.storage.bucket(BUCKET).file(name).getMetadata();
    // A newer generation no processor has seen (the emulator serves the object's bytes for any generation).
    const generation = `${meta.generation}7`;
    const event = { ...first.event, data: { ...(first.event.data as object), generation } };
    const real = createImageRegistry(rig.documents);
    let commits = 0;
    const processor = createUploadProcessor({
      objects: rig.objects,
      documents: rig.documents,
      firestore: () => rig.db,
      cohorts: () => {
        throw new Error('an image upload opens no cohort store');
      },
      uploadsBucket: BUCKET,
      throttle: false,
      leaseMs: 60_000,
      // The final commit (the registry and the ledger's "done") fails once, after the report was written.
      registry: {
        register: async (r, alongside) => {
          if (++commits === 1) throw new GoogleRestError('the instance died before its commit', 14);
          return real.register(r, alongside);
        },
      },
    });
    await assert.rejects(processor.process(event), /died before its commit/);
    const key = { bucket: BUCKET, name, generation };
    const ledgerDoc = rig.db.collection(LEDGER_COLLECTION).doc(ledgerDocId(key));
    assert.equal((await ledgerDoc.get()).get('state'), 'processing', 'not done: the event is redelivered');
    const stale = await readJson(rig.storage, `reports/${name}.json`);
    assert.equal(stale.attempt, 1, 'the report was written before the commit');

    const again = await processor.process(event);
    assert.equal(again.status, 'registered');
    assert.equal(commits, 2);
    const report = await readJson(rig.storage, `reports/${name}.json`);
    assert.equal(report.attempt, 2, "the redelivery's report replaced the first");
    assert.equal(report.status, 'registered');
    const done = (await ledgerDoc.get()).data()!;
    assert.deepEqual([done.state, done.attempt, done.outcome.status], ['done', 2, 'registered']);
    const regs = await rig.db.collection(IMAGES_REGISTRY_COLLECTION).where('name', '==', name).get();
    assert.equal(regs.size, 1, 'one registry document');
    const reg = regs.docs[0]!.data();
    assert.equal(reg.generation, generation);
    assert.equal(reg.sha256, createHash('sha256').update(png).digest('hex'));
    assert.equal((await processor.process(event)).status, 'duplicate');
    assert.equal(commits, 2, 'a duplicate commits nothing');
  });
});

/** A bounding-box CSV of varied rows, gzipped, cut in the middle of its compressed stream. */
function truncatedGzip(): Buffer {
  const rows = ['Image Index,Finding Label,Bbox [x,y,w,h],,,'];
  for (let i = 0; i < 5000; i++) rows.push(`00000001_000.png,Atelectasis,${i},${i * 7},${i % 97},${i % 89}`);
  const gz = gzipSync(rows.join('\n'));
  return gz.subarray(0, gz.length >> 1);
}

describe('bad uploads are reported and quarantined, never crash, lose no data', () => {
  const { bytes: badCrc } = pngWithBadCrc();
  const cases: { name: string; bytes: Buffer; reason: RegExp }[] = [
    {
      name: 'truncated.csv.gz',
      bytes: truncatedGzip(),
      reason: /truncated gzip/,
    },
    { name: 'truncated.png', bytes: makePng().subarray(0, 60), reason: /invalid PNG: truncated/ },
    { name: 'bad-crc.png', bytes: badCrc, reason: /CRC mismatch/ },
    {
      name: 'random.bin',
      bytes: randomBytes(100_000),
      reason: /not a PNG, a DICOM file or a known label file|binary content/,
    },
    { name: 'empty.csv', bytes: Buffer.alloc(0), reason: /empty object/ },
    { name: 'truncated.dcm', bytes: makeDicom({ truncate: 100 }), reason: /invalid DICOM: truncated/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const docsBefore = await readImageDocs(rig.db);
      const d = await rig.upload(`bad/${c.name}`, c.bytes);
      assert.equal(d.error, undefined);
      assert.equal(d.outcome?.status, 'rejected');
      const report = await readJson(rig.storage, `reports/bad/${c.name}.json`);
      assert.equal(report.status, 'rejected');
      assert.match(String(report.reason), c.reason);
      assert.equal(report.quarantine, `quarantine/bad/${c.name}`);
      assert.ok(await exists(rig.storage, `quarantine/bad/${c.name}`));
      assert.deepEqual(await readImageDocs(rig.db), docsBefore, 'no document changed');
    });
  }
});

describe('ledger', () => {
  test('claim, lease, take-over after expiry, completion: the states of one object generation', async () => {
    let t = 1_000_000;
    const ledger = createFirestoreLedger(rig.documents, {
      leaseMs: 1000,
      now: () => t,
      collection: 'ledger_test',
    });
    const key = { bucket: 'b', name: 'n', generation: '1' };
    assert.deepEqual(await ledger.claim(key), { status: 'claimed', attempt: 1 });
    await assert.rejects(ledger.claim(key), { name: 'UploadBusyError' });
    t += 1001;
    assert.deepEqual(await ledger.claim(key), { status: 'claimed', attempt: 2 });
    await ledger.release(key, 1, 'a stale attempt cannot release the new lease');
    await assert.rejects(ledger.claim(key), { name: 'UploadBusyError' });
    await ledger.release(key, 2, 'failed');
    assert.deepEqual(await ledger.claim(key), { status: 'claimed', attempt: 3 });
    await ledger.complete(key, 3, { status: 'loaded' });
    assert.deepEqual(await ledger.claim(key), { status: 'done', outcome: { status: 'loaded' } });
    t += 10_000_000;
    assert.equal((await ledger.claim(key)).status, 'done', 'done is final, whatever the clock');
    assert.deepEqual(await ledger.claim({ ...key, generation: '2' }), { status: 'claimed', attempt: 1 });
  });
});
