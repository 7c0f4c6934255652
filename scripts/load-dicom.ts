/**
 * `npm run load:dicom -- [--bucket B] [--prefix dicom/] [--rate 200] [--concurrency 16] [--page-size 1000]
 *   [--limit N] [--checkpoint FILE] [--restart] [--total N]`
 *
 * Records the DICOM identity (UIDs, transfer syntax, size, photometric interpretation) of every image from
 * the header of its `dicom/<imageId>.dcm` in the dataset bucket, read with ranged requests that stop at the
 * pixel data and are billed to BILLING_PROJECT (the bucket is requester-pays). Throttled (--rate requests/s,
 * --concurrency reads in flight) and resumable: a checkpoint after each page of --page-size objects
 * (default .load-dicom.<bucket>.json); rerun to continue, --restart to start over. Progress on stderr, the
 * summary on stdout. Firestore and Storage follow the usual variables (FIRESTORE_EMULATOR_HOST,
 * STORAGE_EMULATOR_HOST, LABELS_COLLECTION); the images must be loaded first (npm run load).
 */
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { loadCohortsConfig } from '../shared/cohorts/config.ts';
import { createCohortStore } from '../shared/cohorts/create-store.ts';
import { gcsDicomSource } from '../shared/dicom/gcs-source.ts';
import { loadDicomHeaders } from '../shared/dicom/load.ts';
import { recordDicomIdentities } from '../shared/dicom/record.ts';
import { loadLabelsConfig } from '../shared/labels/config.ts';
import { createFirestore } from '../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../shared/labels/firestore-repo.ts';
import { progressReporter } from '../shared/labels/progress.ts';
import { DATASET_BUCKET } from '../shared/model/gcs.ts';
import { loadSignerConfig } from '../shared/signing/config.ts';

const { values } = parseArgs({
  options: {
    bucket: { type: 'string', default: DATASET_BUCKET },
    prefix: { type: 'string', default: 'dicom/' },
    rate: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
    'page-size': { type: 'string', default: '1000' },
    limit: { type: 'string' },
    total: { type: 'string' },
    checkpoint: { type: 'string' },
    restart: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '30000' },
    'progress-ms': { type: 'string', default: '1000' },
  },
});

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max} (got ${v})`);
    process.exit(2);
  }
  return n;
}
const rate = int('rate', values.rate, 0, 10_000)!;
const concurrency = int('concurrency', values.concurrency, 1, 256)!;
const pageSize = int('page-size', values['page-size'], 1, 5000)!;
const limit = int('limit', values.limit, 1, 10_000_000);
const total = int('total', values.total, 1, 10_000_000) ?? limit;
const timeoutMs = int('timeout-ms', values['timeout-ms'], 100, 600_000)!;

const labels = loadLabelsConfig();
const { BILLING_PROJECT: billingProject } = loadSignerConfig();
const emulator = process.env.STORAGE_EMULATOR_HOST;
if (!billingProject && !emulator) {
  console.error(
    `BILLING_PROJECT is not set: ${values.bucket} is requester-pays, every read is billed to that project (set BILLING_PROJECT=<your project>)`,
  );
  process.exit(2);
}
const checkpoint = values.checkpoint ?? `.load-dicom.${values.bucket}.json`;
if (values.restart) await rm(checkpoint, { force: true });

const db = await createFirestore(labels);
// The cohort rows too, when there is a lasting cohort store (BigQuery, or a DuckDB file); not an in-memory one.
const cohortsConfig = loadCohortsConfig();
const cohorts =
  cohortsConfig.store === 'bigquery' || cohortsConfig.duckdb.path !== ':memory:'
    ? await createCohortStore(cohortsConfig)
    : undefined;
if (!cohorts) console.error('no lasting cohort store (COHORT_STORE=bigquery or DUCKDB_PATH): Firestore only');
const labelRepo = createFirestoreLabelRepo({ firestore: db, collection: labels.collection });
const storage = new Storage({
  ...(labels.projectId ? { projectId: labels.projectId } : {}),
  ...(emulator ? { apiEndpoint: emulator } : {}),
});
const source = gcsDicomSource(storage, {
  bucket: values.bucket,
  prefix: values.prefix,
  userProject: billingProject,
  timeoutMs,
});
console.error(
  `reading DICOM headers of gs://${values.bucket}/${values.prefix}* (billed to ${billingProject ?? 'nobody: emulator'}), ` +
    `${rate || 'unlimited'} requests/s, ${concurrency} in flight, into ${labels.collection} on ${labels.emulatorHost ?? labels.projectId ?? '(auto)'}`,
);
const progress = progressReporter(process.stderr, { lineEveryMs: Number(values['progress-ms']) });
const asLoad = (p: { recorded: number; unchanged: number; skipped: number; failed: number }) => ({
  total,
  written: p.recorded,
  skipped: p.unchanged + p.skipped,
  failed: p.failed,
});
const result = await loadDicomHeaders({
  source,
  record: (items) =>
    recordDicomIdentities(items, {
      firestore: db,
      collection: labels.collection,
      throttle: !labels.emulatorHost,
      cohorts,
      labels: labelRepo,
    }),
  pageSize,
  concurrency,
  requestsPerSecond: rate,
  checkpointFile: checkpoint,
  ...(limit ? { limit } : {}),
  onProgress: (p) => progress.update(asLoad(p)),
});
progress.done(asLoad(result));
for (const x of result.problems) console.error(`skipped ${x.name}: ${x.reason}`);
const perFile = result.objects
  ? Math.round(result.bytesRead / Math.max(1, result.objects - result.skipped))
  : 0;
console.log(
  JSON.stringify({
    objects: result.objects,
    recorded: result.recorded,
    unchanged: result.unchanged,
    skipped: result.skipped,
    failed: result.failed,
    requests: result.requests,
    bytesRead: result.bytesRead,
    objectBytes: result.objectBytes,
    bytesReadPerFile: perFile,
    seconds: Number(result.seconds.toFixed(2)),
    rowsPerSecond: Math.round(result.recorded / Math.max(result.seconds, 0.001)),
    complete: result.complete,
    checkpoint,
  }),
);
await cohorts?.close();
await db.terminate();
