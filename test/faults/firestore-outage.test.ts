/**
 * Firestore goes away while the labels function serves, and comes back on the same address: the labels
 * function, wired as its entry wires it (configuration from the environment, one lazily created Firestore
 * client, the repo with its deadline, the routes, the router), answers 503 problem+json with Retry-After on
 * every route during the outage, within its deadline, and serves the same data again once a new emulator
 * listens on the same port and the data is reloaded, without being restarted. The emulator JVM is really
 * stopped (its process group killed), not simulated. (The entry module itself is not imported only because
 * it keeps its client private, and a client left with abandoned reads keeps this process alive for a minute.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createLabelsApp, loadLabelsAppConfig } from '../../functions/labels/app.ts';
import {
  type FirestoreEmulator,
  freePort,
  startFirestoreEmulator,
} from '../../scripts/emulators/firestore.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { createFirestore, lazyFirestore } from '../../shared/labels/firestore-client.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { createLogger } from '../../shared/log.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';

process.env.METADATA_SERVER_DETECTION = 'none';
const TIMEOUT_MS = 2000;
const BREAKER_MS = 3000;
let port: number;
let emulator: FirestoreEmulator | undefined;
let records: ImageRecord[];
let server: Server;
let dir: string;
let client: Firestore | undefined;
const logged: string[] = [];

/** Loads the records through a client of its own (an operator's reload), then lets it go. */
async function load(): Promise<void> {
  const db = await createFirestore({ projectId: 'demo-nih-cxr', emulatorHost: `127.0.0.1:${port}` });
  try {
    const s = await loadRecords(db, records, { throttle: false });
    assert.equal(s.written, records.length);
  } finally {
    await db.terminate();
  }
}

const routes = (ids: string[], patient: number) => [
  () => request(server).get(`/v1/images/${ids[0]}`),
  () => request(server).post('/v1/images:batchGet').send({ imageIds: ids }),
  () => request(server).get(`/v1/patients/${patient}/images`),
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nih-cxr-outage-'));
  await writeSyntheticDataset(dir, { images: 150, seed: 4 });
  records = (await loadDatasetDir(dir)).records;
  port = await freePort();
  emulator = await startFirestoreEmulator({ port });
  await load();
  const config = loadLabelsAppConfig({
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}`,
    GOOGLE_CLOUD_PROJECT: 'demo-nih-cxr',
    FIRESTORE_TIMEOUT_MS: String(TIMEOUT_MS),
    // Every read must reach Firestore: the instance cache would answer the outage's reads.
    LABELS_CACHE_BYTES: '0',
  });
  const lazyClient = lazyFirestore(config.labels);
  const app = createLabelsApp({
    config,
    firestore: async () => {
      client = await lazyClient();
      return client;
    },
    breaker: { openMs: BREAKER_MS },
    logger: createLogger({ function: 'labels' }, (l) => logged.push(l)),
  });
  // As the cloud entry does at cold start: the first read of the test must not pay for a cold connection
  // (on a loaded machine that alone can pass the 2 s deadline).
  await app.warm();
  http('labels-outage', app.handler);
  server = getTestServer('labels-outage');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
});
after(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await client?.terminate();
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Firestore emulator stopped while the labels function serves', { timeout: 300_000 }, () => {
  const ids = () => records.map((r) => r.imageId as string);
  const patient = () => records[0]!.patientId;
  let before: unknown[];

  it('serves every route while Firestore is up', async () => {
    before = [];
    for (const send of routes(ids(), patient())) {
      const res = await send();
      assert.equal(res.status, 200, res.text.slice(0, 300));
      before.push(res.body);
    }
    assert.equal((before[1] as { images: unknown[] }).images.length, records.length);
  });

  it('answers 503 problem+json with Retry-After on every route once the emulator is gone', async () => {
    await emulator!.stop();
    emulator = undefined;
    for (let round = 0; round < 3; round++) {
      for (const send of routes(ids(), patient())) {
        const started = Date.now();
        const res = await send();
        const ms = Date.now() - started;
        assert.equal(res.status, 503, res.text);
        assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
        assert.match(res.headers['retry-after'] ?? '', /^\d+$/);
        assert.equal(JSON.parse(res.text).status, 503);
        assert.doesNotMatch(res.text, /UNAVAILABLE|ECONNREFUSED|127\.0\.0\.1/);
        assert.ok(ms < TIMEOUT_MS + 1500, `answered within the deadline (${ms} ms)`);
      }
    }
    // Each 503 is logged once, as an ERROR naming the request.
    const errors = logged.map((l) => JSON.parse(l)).filter((e) => e.severity === 'ERROR');
    assert.equal(errors.length, 9);
    // The first read waited for its deadline; reads right after it were answered by the breaker, untried.
    const causes = errors.map((e) => String(e.err?.cause?.message));
    assert.match(causes[0]!, /took longer than|unavailable/);
    assert.match(causes[1]!, /this read was not tried/);
  });

  it('recovers without a restart once a new emulator listens on the same port and the data is back', async () => {
    emulator = await startFirestoreEmulator({ port });
    assert.equal(emulator.host, `127.0.0.1:${port}`);
    await load();
    const started = Date.now();
    let status = 0;
    while (status !== 200) {
      assert.ok(Date.now() - started < 120_000, 'recovered within 2 minutes');
      status = (await request(server).get(`/v1/images/${ids()[0]}`)).status;
      assert.ok(status === 200 || status === 503, `only 200 or 503 while reconnecting, got ${status}`);
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    const after: unknown[] = [];
    for (const send of routes(ids(), patient())) {
      const res = await send();
      assert.equal(res.status, 200);
      after.push(res.body);
    }
    assert.deepEqual(after, before, 'the same answers as before the outage');
    const batch = after[1] as { images: unknown[]; missing: string[] };
    assert.equal(batch.images.length, records.length);
    assert.deepEqual(batch.missing, []);
    console.log(`firestore outage: recovered ${Date.now() - started} ms after the new emulator was loaded`);
  });
});
