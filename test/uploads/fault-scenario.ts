/**
 * The Firestore-killed-mid-load scenario, run as a child process by fault.test.ts: the failed attempt's
 * Firestore calls keep retrying in the background (as they would in a function instance after it threw),
 * and only a process exit ends them. Prints one `RESULT <json>` line with the facts the test asserts.
 * Firestore "dies" through a TCP cut in front of the emulator (connections reset, new ones refused: what
 * the client sees when the emulator process is killed) so that the data written before survives, as in a
 * real Firestore; a killed emulator process would come back empty. The cut is triggered by the bytes the
 * load sends, so it falls in the middle of the load on any machine, and every wait here has a bound: a step
 * that overruns ends the scenario with a RESULT naming it, never a silent hang.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { createFirestoreWriter, type FirestoreWriter } from '../../shared/google/firestore-rest-tx.ts';
import { IMAGES_COLLECTION } from '../../shared/labels/doc.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import {
  createUploadProcessor,
  type UploadOutcome,
  type UploadProcessor,
} from '../../shared/uploads/processor.ts';
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
/** Request bytes through the cut before it goes down: about a quarter of the load's 3,000 documents. */
const CUT_AFTER_BYTES = 600_000;
/** The whole scenario, set-up included; below fault.test.ts's 8 min, so a RESULT always comes. */
const SCENARIO_MS = 7 * 60_000;
/** The attempt cut off mid-load must have failed by then (the product's own bound is UPLOAD_ATTEMPT_MS). */
const FAIL_WITHIN_MS = 150_000;
/** Redeliveries once Firestore is back, until one completes the load. */
const COMPLETE_WITHIN_MS = 150_000;
/** Any other single step (an upload, a count, a read-back). */
const STEP_MS = 60_000;

let rig!: UploadRig & { dir: string };
let cut!: TcpCut;
let viaCut!: Firestore;
let viaCutRest: FirestoreWriter | undefined;
let processor: UploadProcessor;
let clockOffset = 0;
const started = performance.now();
let current = 'set-up';

/** Names the step under way (for a timeout's message) and logs it with the time since the start. */
function phase(name: string): void {
  current = name;
  process.stderr.write(`# ${((performance.now() - started) / 1000).toFixed(1)} s: ${name}\n`);
}

/** `work`, or a rejection naming `what` once `ms` have passed without it settling. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, overrun]);
  } finally {
    clearTimeout(timer);
  }
}

type Settled = { outcome: UploadOutcome } | { err: unknown };
const settle = (p: Promise<UploadOutcome>): Promise<Settled> =>
  p.then(
    (outcome) => ({ outcome }),
    (err: unknown) => ({ err }),
  );

async function setUp(): Promise<void> {
  rig = await startUploadRig({ autoProcess: false });
  cut = await startTcpCut(rig.fs.emulator.host);
  // FIRESTORE_EMULATOR_HOST (set for this process by the harness) beats settings.host in the client.
  const direct = process.env.FIRESTORE_EMULATOR_HOST;
  delete process.env.FIRESTORE_EMULATOR_HOST;
  viaCut = await createFirestore({ projectId: rig.fs.emulator.projectId, emulatorHost: cut.host });
  process.env.FIRESTORE_EMULATOR_HOST = direct;
  // The ledger (Firestore's REST API) goes through the cut too: Firestore is gone for every client.
  viaCutRest = createFirestoreWriter({ projectId: rig.fs.emulator.projectId, emulatorHost: cut.host });
  processor = createUploadProcessor({
    objects: rig.objects,
    documents: viaCutRest,
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
  await within(
    rig.storage.bucket(BUCKET).file(name).save(data, { resumable: false }),
    STEP_MS,
    `upload ${name}`,
  );
  await within(rig.emulator.settled(), STEP_MS, `the finalized event of ${name}`);
  const d = rig.deliveries.findLast((x) => (x.event.data as { name: string }).name === name);
  assert.ok(d, `event for ${name}`);
  return d.event;
}

/** Image documents, counted through the direct connection (not the cut). */
async function count(db: Firestore): Promise<number> {
  const snap = await within(db.collection(IMAGES_COLLECTION).count().get(), STEP_MS, 'counting documents');
  return snap.data().count;
}

/** The upload of the two image lists, then the metadata file's event (not processed yet). */
async function prepare(data: string) {
  phase('image lists');
  await writeSyntheticDataset(data, { images: IMAGES, seed: 9 });
  for (const list of ['train_val_list.txt', 'test_list.txt']) {
    const e = await uploadAndGetEvent(list, await readFile(join(data, list)));
    assert.equal((await within(processor.process(e), STEP_MS, `processing ${list}`)).status, 'loaded');
  }
  return uploadAndGetEvent('meta.csv.gz', await readFile(join(data, 'Data_Entry_2017_v2020.csv.gz')));
}

/** The attempt Firestore dies under: it must fail (throw), with part of the documents written. */
async function failedAttempt(event: unknown, facts: Record<string, unknown>): Promise<void> {
  // Firestore goes down once CUT_AFTER_BYTES of requests have gone through the cut (the load's reads and
  // writes): mid-load however fast or slow this machine runs. Polling for the first document and cutting
  // then raced a fast load (which could finish first), and the poll could spin.
  phase('the attempt, until and after the cut');
  cut.downAfterBytes(CUT_AFTER_BYTES);
  const ended = await within(
    settle(processor.process(event)),
    FAIL_WITHIN_MS,
    'the attempt cut off mid-load',
  );
  const downAt = cut.downAt();
  assert.ok(downAt !== null, `the cut never went down: the load sent less than ${CUT_AFTER_BYTES} bytes`);
  assert.ok('err' in ended, `the event did not fail while Firestore was gone: ${JSON.stringify(ended)}`);
  facts.failedAfterSeconds = Number(((performance.now() - downAt) / 1000).toFixed(1));
  facts.failedWith = String((ended.err as Error)?.message ?? ended.err).slice(0, 300);
  phase('counting what the failed attempt wrote');
  const partial = await count(rig.db);
  assert.ok(partial > 0 && partial < IMAGES, `killed mid-load: ${partial} of ${IMAGES} documents written`);
  facts.documentsWhenFailed = partial;
}

/** Firestore back: redeliveries until one completes the load (the platform retries with backoff). */
async function redeliveries(event: unknown, facts: Record<string, unknown>): Promise<UploadOutcome> {
  cut.up();
  const t1 = performance.now();
  // A redelivery within the crashed attempt's lease is told to come back later ...
  phase('a redelivery within the lease');
  clockOffset = 0;
  let retry = await within(settle(processor.process(event)), STEP_MS, 'a redelivery within the lease');
  if ('err' in retry) assert.equal((retry.err as Error)?.name, 'UploadBusyError');
  facts.redeliveryWithinLease = 'err' in retry ? (retry.err as Error)?.name : retry.outcome.status;
  // ... and one after it expired takes over and completes the load (the client may need a moment to
  // reconnect).
  phase('redeliveries after the lease');
  clockOffset = LEASE_MS + 1;
  const until = performance.now() + COMPLETE_WITHIN_MS;
  for (let i = 0; i < 50 && 'err' in retry; i++) {
    const left = until - performance.now();
    assert.ok(
      left > 0,
      `no redelivery completed the load within ${COMPLETE_WITHIN_MS / 1000} s: ${String(retry.err)}`,
    );
    retry = await within(settle(processor.process(event)), left, 'the redeliveries after the lease');
    if ('err' in retry) await new Promise((r) => setTimeout(r, 200));
  }
  if ('err' in retry) assert.fail(`50 redeliveries failed, the last with: ${String(retry.err)}`);
  facts.completedAfterSeconds = Number(((performance.now() - t1) / 1000).toFixed(1));
  return retry.outcome;
}

async function scenario(): Promise<Record<string, unknown>> {
  const facts: Record<string, unknown> = {};
  const data = join(rig.dir, 'data');
  const event = await prepare(data);
  await failedAttempt(event, facts);
  const outcome = await redeliveries(event, facts);
  assert.equal(outcome.status, 'loaded');

  phase('reading back');
  const expected = (await loadDatasetDir(data)).records;
  const metaOnly = expected.map((r) => ({
    ...r,
    boundingBoxes: [],
    expert: { fourFindings: null, allFindings: null, readers: [] },
  }));
  const docs = await within(readImageDocs(rig.db), STEP_MS, 'reading the documents back');
  assert.deepEqual(docs, bulkImageDocs(metaOnly), 'every document once, none missing');
  assert.deepEqual(await readCohortTables(rig.cohortPath), await bulkCohortTables(metaOnly, rig.dir));
  const report = await within(
    readJson(rig.storage, 'reports/meta.csv.gz.json'),
    STEP_MS,
    'reading the report',
  );
  assert.equal(report.attempt, 2);
  assert.equal((report.rows as { loaded: number }).loaded, IMAGES);
  const again = await within(processor.process(event), STEP_MS, 'a delivery after completion');
  assert.equal(again.status, 'duplicate');
  facts.documents = docs.size;
  facts.reportAttempt = report.attempt;
  facts.ok = true;
  return facts;
}

/** Prints the RESULT line, stops what it can within 30 s, and exits (ending any background retries). */
async function finish(result: Record<string, unknown>): Promise<never> {
  clearTimeout(watchdog);
  console.log(`RESULT ${JSON.stringify(result)}`);
  setTimeout(() => process.exit(0), 30_000);
  viaCutRest?.close();
  await viaCut?.terminate().catch(() => {});
  await cut?.close().catch(() => {});
  await rig?.stop().catch(() => {});
  process.exit(0);
}

// Not unref'd: it also keeps the process alive should the scenario await something that can never settle.
const watchdog = setTimeout(() => {
  void finish({ error: `the scenario did not end within ${SCENARIO_MS / 1000} s; it was at: ${current}` });
}, SCENARIO_MS);
let result: Record<string, unknown>;
try {
  await setUp();
  result = await scenario();
} catch (err) {
  result = { error: `at ${current}: ${String((err as Error)?.stack ?? err)}` };
}
await finish(result);
