/**
 * The processUpload function as its cloud entry builds it (functions/uploads/app.ts), but with the DuckDB
 * store factory (the cloud entry opens BigQuery only), registered as `processUpload` with functions-framework;
 * here its test server receives the CloudEvents that the Storage emulator emits (posted over HTTP, as
 * Eventarc would), with configuration from the environment as in the cloud.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Storage } from '@google-cloud/storage';
import request from 'supertest';
import { createUploadsApp, loadUploadsAppConfig } from '../../functions/uploads/app.ts';
import {
  postCloudEvent,
  type StorageEmulator,
  startStorageEmulator,
} from '../../scripts/emulators/storage.ts';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';
import { makePng } from './fixtures.ts';

const BUCKET = 'fn-uploads';
let fs: TestFirestore;
let emu: StorageEmulator;
let server: Server;
let storage: Storage;
let dir: string;
let target = '';
const failures: unknown[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nih-uploads-fn-'));
  fs = await startTestFirestore();
  emu = await startStorageEmulator({
    projectId: fs.emulator.projectId,
    bucket: BUCKET,
    onFinalize: (e) => postCloudEvent(target)(e),
    onDeliveryFailure: (_e, err) => failures.push(err),
  });
  Object.assign(process.env, {
    UPLOADS_BUCKET: BUCKET,
    STORAGE_EMULATOR_HOST: emu.host,
    COHORT_STORE: 'duckdb',
    DUCKDB_PATH: join(dir, 'cohorts.duckdb'),
  });
  // The cloud entry opens BigQuery only; this is its app with the DuckDB store factory.
  cloudEvent(
    'processUpload',
    createUploadsApp({ config: loadUploadsAppConfig(), openStore: createCohortStore }).handler,
  );
  server = getTestServer('processUpload');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  target = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
  storage = new Storage({ apiEndpoint: emu.host, projectId: fs.emulator.projectId });
});
after(async () => {
  await new Promise((r) => server?.close(r));
  await emu?.stop();
  await fs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('an upload reaches processUpload as a CloudEvent over HTTP and ends in a report', async () => {
  await storage.bucket(BUCKET).file('in/x.png').save(makePng(16, 8), { resumable: false });
  await storage.bucket(BUCKET).file('in/y.bin').save(Buffer.from('not an image'), { resumable: false });
  await emu.settled();
  assert.deepEqual(failures, []);
  const [png] = await storage.bucket(BUCKET).file('reports/in/x.png.json').download();
  assert.equal(JSON.parse(png.toString()).status, 'registered');
  const [bin] = await storage.bucket(BUCKET).file('reports/in/y.bin.json').download();
  assert.equal(JSON.parse(bin.toString()).status, 'rejected');
  const [q] = await storage.bucket(BUCKET).file('quarantine/in/y.bin').exists();
  assert.ok(q);
});

test('a label file loads into Firestore and into the cohort store the entry opens from its configuration', async () => {
  const data = join(dir, 'synthetic');
  await writeSyntheticDataset(data, { images: 40 });
  // Split lists first: metadata of a new image needs its split (docs: upload order).
  for (const f of ['train_val_list.txt', 'test_list.txt', 'Data_Entry_2017_v2020.csv.gz']) {
    await storage
      .bucket(BUCKET)
      .file(`labels/${f}`)
      .save(readFileSync(join(data, f)), { resumable: false });
    await emu.settled();
  }
  assert.deepEqual(failures, []);
  const [raw] = await storage
    .bucket(BUCKET)
    .file('reports/labels/Data_Entry_2017_v2020.csv.gz.json')
    .download();
  const report = JSON.parse(raw.toString());
  assert.equal(report.status, 'loaded', raw.toString());
  assert.equal(report.kind, 'metadata_v2020');
  assert.equal(report.cohortRows, 40);
  assert.equal((await fs.db.collection('images').count().get()).data().count, 40);
});

test('a CloudEvent with malformed data is acknowledged (2xx): redelivery could not fix it', async () => {
  const res = await request(server)
    .post('/')
    .set({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'bad-1',
      'ce-type': 'google.cloud.storage.object.v1.finalized',
      'ce-source': '//storage.googleapis.com/projects/_/buckets/fn-uploads',
    })
    .send({ bucket: BUCKET, name: '', generation: 'x' });
  assert.ok(res.status >= 200 && res.status < 300, `status ${res.status}`);
});

test('an event for another bucket or for a report is ignored without reading anything', async () => {
  for (const data of [
    { bucket: 'someone-else', name: 'a.csv', generation: '1', size: '1' },
    { bucket: BUCKET, name: 'reports/a.csv.json', generation: '1', size: '1' },
  ]) {
    const res = await request(server)
      .post('/')
      .set({
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': `ign-${data.name}`,
        'ce-type': 'google.cloud.storage.object.v1.finalized',
        'ce-source': `//storage.googleapis.com/projects/_/buckets/${data.bucket}`,
      })
      .send(data);
    assert.ok(res.status >= 200 && res.status < 300, `status ${res.status}`);
  }
});
