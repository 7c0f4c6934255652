/**
 * The Firestore-killed-mid-load scenario, run as a child process by fault.test.ts: the failed attempt's
 * Firestore calls keep retrying in the background (as they would in a function instance after it threw),
 * and only a process exit ends them. Prints one `RESULT <json>` line with the facts the test asserts.
 * Firestore "dies" through a TCP cut in front of the emulator (connections reset, new ones refused: what
 * the client sees when the emulator process is killed) so that the data written before survives, as in a
 * real Firestore; a killed emulator process would come back empty.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { IMAGES_COLLECTION } from '../../shared/labels/doc.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { createUploadProcessor, type UploadProcessor } from '../../shared/uploads/processor.ts';
import {
  BUCKET,
  bulkCohortTables,
  bulkImageDocs,
  fileCohortStore,
  readCohortTables,
  readImageDocs,
  readJson,
  startUploadRig,
  type UploadRig,
} from './harness.ts';
import { startTcpCut, type TcpCut } from './tcp-cut.ts';

const LEASE_MS = 60_000;
const IMAGES = 3000;
let rig!: UploadRig & { dir: string };
let cut!: TcpCut;
let viaCut!: Firestore;
let processor: UploadProcessor;
let clockOffset = 0;

async function setUp(): Promise<void> {
  rig = await startUploadRig({ autoProcess: false });
  cut = await startTcpCut(rig.fs.emulator.host);
  // FIRESTORE_EMULATOR_HOST (set for this process by the harness) beats settings.host in the client.
  const direct = process.env.FIRESTORE_EMULATOR_HOST;
  delete process.env.FIRESTORE_EMULATOR_HOST;
  viaCut = await createFirestore({ projectId: rig.fs.emulator.projectId, emulatorHost: cut.host });
  process.env.FIRESTORE_EMULATOR_HOST = direct;
  processor = createUploadProcessor({
    storage: rig.storage,
    firestore: () => viaCut,
    labels: createFirestoreLabelRepo({ firestore: viaCut, timeoutMs: 5000 }),
    cohorts: () => fileCohortStore(rig.cohortPath),
    uploadsBucket: BUCKET,
    throttle: false,
    leaseMs: LEASE_MS,
    now: () => Date.now() + clockOffset,
  });
}

async function uploadAndGetEvent(name: string, data: Buffer) {
  await rig.storage.bucket(BUCKET).file(name).save(data, { resumable: false });
  await rig.emulator.settled();
  const d = rig.deliveries.findLast((x) => (x.event.data as { name: string }).name === name);
  assert.ok(d, `event for ${name}`);
  return d.event;
}

async function count(db: Firestore): Promise<number> {
  return (await db.collection(IMAGES_COLLECTION).count().get()).data().count;
}

async function scenario(): Promise<Record<string, unknown>> {
  const facts: Record<string, unknown> = {};
  const data = join(rig.dir, 'data');
  await writeSyntheticDataset(data, { images: IMAGES, seed: 9 });
  for (const list of ['train_val_list.txt', 'test_list.txt']) {
    const e = await uploadAndGetEvent(list, await readFile(join(data, list)));
    assert.equal((await processor.process(e)).status, 'loaded');
  }
  const event = await uploadAndGetEvent(
    'meta.csv.gz',
    await readFile(join(data, 'Data_Entry_2017_v2020.csv.gz')),
  );

  const attempt = processor.process(event);
  // Kill as soon as the load has written some documents (watched through a direct connection).
  let seen = 0;
  while (seen === 0) seen = await count(rig.db);
  cut.down();
  const t0 = performance.now();
  await assert.rejects(attempt, 'the event fails while Firestore is gone');
  const partial = await count(rig.db);
  assert.ok(partial > 0 && partial < IMAGES, `killed mid-load: ${partial} of ${IMAGES} documents written`);

  facts.documentsBeforeKill = seen;
  facts.documentsWhenFailed = partial;
  facts.failedAfterSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  cut.up();
  const t1 = performance.now();
  // A redelivery within the crashed attempt's lease is told to come back later ...
  clockOffset = 0;
  let retry = await processor.process(event).catch((err: unknown) => err);
  if (retry instanceof Error) assert.equal(retry.name, 'UploadBusyError');
  facts.redeliveryWithinLease = retry instanceof Error ? retry.name : (retry as { status: string }).status;
  // ... and one after it expired takes over and completes the load (the platform retries with backoff;
  // the client may need a moment to reconnect).
  clockOffset = LEASE_MS + 1;
  for (let i = 0; i < 50 && !(retry && typeof retry === 'object' && 'status' in retry); i++) {
    retry = await processor.process(event).catch((err: unknown) => err);
    if (retry instanceof Error) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(retry && typeof retry === 'object' && 'status' in retry, String(retry));
  assert.equal(retry.status, 'loaded');
  facts.completedAfterSeconds = Number(((performance.now() - t1) / 1000).toFixed(1));

  const expected = (await loadDatasetDir(data)).records;
  const metaOnly = expected.map((r) => ({
    ...r,
    boundingBoxes: [],
    expert: { fourFindings: null, allFindings: null, readers: [] },
  }));
  assert.deepEqual(await readImageDocs(rig.db), bulkImageDocs(metaOnly), 'every document once, none missing');
  assert.deepEqual(await readCohortTables(rig.cohortPath), await bulkCohortTables(metaOnly, rig.dir));
  const report = await readJson(rig.storage, 'reports/meta.csv.gz.json');
  assert.equal(report.attempt, 2);
  assert.equal((report.rows as { loaded: number }).loaded, IMAGES);
  assert.equal((await processor.process(event)).status, 'duplicate');
  facts.documents = (await readImageDocs(rig.db)).size;
  facts.reportAttempt = report.attempt;
  facts.ok = true;
  return facts;
}

let result: Record<string, unknown>;
try {
  await setUp();
  result = await scenario();
} catch (err) {
  result = { error: String((err as Error)?.stack ?? err) };
}
console.log(`RESULT ${JSON.stringify(result)}`);
await viaCut?.terminate().catch(() => {});
await cut?.close().catch(() => {});
await rig?.stop().catch(() => {});
process.exit(0);
