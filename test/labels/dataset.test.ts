/**
 * The whole data set through the loader and the labels function, on the Firestore emulator: the real NIH files
 * when NIH_DATA_DIR is set (112,120 images), otherwise a synthetic set in the same formats.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { toImageDoc } from '../../shared/labels/doc.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { nihDataDir } from '../helpers/env.ts';
import { differences2017, expectedRecord, pickTable, type RawNih, readRawNih } from './raw-nih.ts';

const real = nihDataDir();
const SYNTHETIC_IMAGES = 12_000;
let dir: string;
let tmp: string | undefined;
let fs: TestFirestore;
let raw: RawNih;
let expectedHash: Map<string, string>;
let total: number;

before(async () => {
  if (real) dir = real;
  else {
    tmp = mkdtempSync(join(tmpdir(), 'labels-dataset-'));
    dir = tmp;
    await writeSyntheticDataset(dir, { images: SYNTHETIC_IMAGES, seed: 3 });
  }
  raw = readRawNih(dir);
  total = raw.v2020.size;
  fs = await startTestFirestore();
});
after(async () => {
  await fs?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const count = async () => (await fs.db.collection('images').count().get()).data().count;

/** Every expected document is stored with exactly the expected content (compared by content hash). */
async function assertAllDocumentsExpected(): Promise<void> {
  assert.equal(await count(), total);
  const ids = [...expectedHash.keys()];
  const col = fs.db.collection('images');
  let wrong = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const refs = ids.slice(i, i + 500).map((id) => col.doc(id));
    for (const s of await fs.db.getAll(...refs, { fieldMask: ['contentHash'] })) {
      if (s.get('contentHash') !== expectedHash.get(s.id)) wrong++;
    }
  }
  assert.equal(wrong, 0, `${wrong} documents differ from the parsed records`);
}

describe('full data set', () => {
  let records: ImageRecord[];
  before(async () => {
    records = (await loadDatasetDir(dir)).records;
    expectedHash = new Map(records.map((r) => [r.imageId, toImageDoc(r).contentHash]));
    await fs.emulator.reset();
    await import('../../functions/labels/index.ts');
  });

  test(`loads one document per image${real ? ' (112,120 with the real files)' : ''}`, async () => {
    if (real) assert.equal(total, 112_120);
    assert.equal(records.length, total);
    const s = await loadRecords(fs.db, records, { throttle: false });
    assert.deepEqual([s.written, s.failed], [total, 0]);
    assert.equal(await count(), total);
  });

  test('a table of at least 20 images across the cases equals the raw CSV lines, field by field', async () => {
    const table = pickTable(raw);
    const empty = table.filter((t) => t.ids.length === 0).map((t) => t.name);
    if (real) assert.deepEqual(empty, [], 'every case has an image');
    const ids = [...new Set(table.flatMap((t) => t.ids))];
    assert.ok(ids.length >= 20, `${ids.length} images in the table`);
    const server = getTestServer('labels');
    const res = await request(server).post('/v1/images:batchGet').send({ imageIds: ids }).expect(200);
    assert.deepEqual(res.body.missing, []);
    const byId = new Map<string, Record<string, unknown>>(
      res.body.images.map((r: ImageRecord) => [r.imageId, r]),
    );
    for (const t of table) {
      for (const imageId of t.ids) {
        const got = byId.get(imageId)!;
        const want = expectedRecord(raw, imageId);
        for (const field of Object.keys(want)) {
          assert.deepEqual(got[field], want[field], `${t.name}: ${imageId}.${field}`);
        }
        assert.deepEqual(Object.keys(got), Object.keys(want), `${imageId}: no other fields`);
      }
    }
    const single = await request(server).get(`/v1/images/${ids[0]}.png`).expect(200);
    const { readAgreement: _derived, ...expert } = single.body.expert; // checked in test/labels/http.test.ts
    assert.deepEqual({ ...single.body, expert }, expectedRecord(raw, ids[0]!));
    if (real) {
      const five = table.find((t) => t.name.startsWith('all findings'))!.ids[0]!;
      const readers = (byId.get(five)!.expert as ImageRecord['expert']).readers;
      assert.equal(readers.filter((r) => r.study === 'allFindings').length, 5);
    }
  });

  test('metadata comes from the v2020 file where the 2017 file differs; patients are ordered by follow-up', async () => {
    const imageId = pickTable(raw).find((t) => t.name.includes('follow-up'))!.ids[0]!;
    assert.ok(differences2017(raw, imageId).includes('followUp'));
    const server = getTestServer('labels');
    const patientId = Number(raw.v2020.get(imageId)![3]);
    const res = await request(server).get(`/v1/patients/${patientId}/images`).expect(200);
    const want = [...raw.v2020.values()]
      .filter((r) => Number(r[3]) === patientId)
      .map((r) => [r[0]!.replace('.png', ''), Number(r[2])])
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    assert.deepEqual(
      res.body.images.map((r: ImageRecord) => [r.imageId, r.followUp]),
      want,
    );
  });

  test('loading the same files again leaves the same documents', async () => {
    const s = await loadRecords(fs.db, records, { throttle: false });
    assert.equal(s.written, total);
    await assertAllDocumentsExpected();
  });
});

describe('crash and resume', () => {
  before(() => fs.emulator.reset());
  const script = join(import.meta.dirname, '../../scripts/load.ts');

  test('a loader killed half way and run again ends with the same documents', async () => {
    const child = spawn(process.execPath, [script, dir, '--no-throttle', '--progress-ms', '100'], {
      env: { ...process.env, ...fs.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, sig) => resolve(sig)),
    );
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      for (const m of chunk.matchAll(/^progress (\d+)\//gm)) seen = Number(m[1]);
      if (seen >= total * 0.3 && !child.killed) child.kill('SIGKILL');
    });
    assert.equal(await exited, 'SIGKILL', 'the loader was killed before it finished');
    const partial = await count();
    assert.ok(partial > 0 && partial < total, `${partial} of ${total} documents after the kill`);

    const rerun = spawnSync(process.execPath, [script, dir, '--no-throttle', '--skip-unchanged'], {
      env: { ...process.env, ...fs.env },
      encoding: 'utf8',
    });
    assert.equal(rerun.status, 0, rerun.stderr);
    const m = /: (\d+) written, (\d+) unchanged, 0 failed .* now holds (\d+) documents/.exec(rerun.stdout);
    assert.ok(m, rerun.stdout);
    assert.equal(Number(m[1]) + Number(m[2]), total);
    assert.ok(Number(m[2]) > 0, 'the rerun skipped what the first run had written');
    assert.equal(Number(m[3]), total);
    await assertAllDocumentsExpected();
  });
});
