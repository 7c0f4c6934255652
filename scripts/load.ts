/**
 * `npm run load -- <dir> [--metadata v2020|2017] [--skip-unchanged] [--throttle|--no-throttle] [--max-ops N]`
 *
 * Parses the NIH/Google label files in <dir> and writes one Firestore document per image with BulkWriter.
 * Idempotent and resumable: run it again after a crash (with --skip-unchanged it only writes what differs).
 * Throttled to Firestore's ramp-up (500 ops/s, +50% every 5 minutes) unless FIRESTORE_EMULATOR_HOST is set.
 * Progress goes to stderr (a bar on a terminal, lines otherwise); the final count to stdout.
 */
import { parseArgs } from 'node:util';
import { loadDatasetDir } from '../shared/dataset/index.ts';
import { loadLabelsConfig } from '../shared/labels/config.ts';
import { createFirestore } from '../shared/labels/firestore-client.ts';
import { loadRecords } from '../shared/labels/loader.ts';
import { progressReporter } from '../shared/labels/progress.ts';
import { bumpLabelsVersion } from '../shared/labels/version-stamp.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    metadata: { type: 'string', default: 'v2020' },
    'skip-unchanged': { type: 'boolean', default: false },
    throttle: { type: 'boolean' },
    'no-throttle': { type: 'boolean' },
    'max-ops': { type: 'string' },
    'progress-ms': { type: 'string', default: '1000' },
  },
});
const dir = positionals[0];
if (!dir || (values.metadata !== 'v2020' && values.metadata !== '2017')) {
  console.error(
    'usage: npm run load -- <dir> [--metadata v2020|2017] [--skip-unchanged] [--throttle|--no-throttle] [--max-ops N]',
  );
  process.exit(2);
}

const config = loadLabelsConfig();
const maxOps = values['max-ops'] === undefined ? undefined : Number(values['max-ops']);
if (maxOps !== undefined && !(Number.isInteger(maxOps) && maxOps >= 1)) {
  console.error('--max-ops must be a positive integer (operations per second)');
  process.exit(2);
}
const throttled = values['no-throttle'] ? false : (values.throttle ?? !config.emulatorHost);
// Ramp-up from 500 ops/s (+50% every 5 minutes), capped at --max-ops or BulkWriter's 10,000.
const throttle =
  throttled && maxOps ? { initialOpsPerSecond: Math.min(500, maxOps), maxOpsPerSecond: maxOps } : throttled;
const target = config.emulatorHost
  ? `emulator ${config.emulatorHost}`
  : `project ${config.projectId ?? '(auto)'}`;

const parsed = await loadDatasetDir(dir, { metadata: values.metadata });
for (const f of parsed.files) {
  const issues = f.rejected.length
    ? `, ${f.rejected.length} rows rejected (first: line ${f.rejected[0]!.line})`
    : '';
  console.error(`read ${f.path}: ${f.kind}, ${f.rows} rows${issues}`);
}
if (parsed.records.length === 0) {
  console.error(`no image records found in ${dir}`);
  process.exit(1);
}
console.error(
  `loading ${parsed.records.length} images into ${config.collection} on ${target} (throttle ${throttled ? `on, max ${maxOps ?? 10_000} ops/s` : 'off'})`,
);

const db = await createFirestore(config);
const progress = progressReporter(process.stderr, { lineEveryMs: Number(values['progress-ms']) });
const summary = await loadRecords(db, parsed.records, {
  collection: config.collection,
  throttle,
  skipUnchanged: values['skip-unchanged'],
  onProgress: (p) => progress.update(p),
});
progress.done(summary);
// Running labels instances drop their caches within LABELS_CACHE_CHECK_SECONDS (shared/labels/label-cache.ts).
if (summary.written > 0) await bumpLabelsVersion(db, config.collection);
for (const f of summary.failures.slice(0, 10)) console.error(`failed ${f.imageId}: ${f.message}`);

const stored = (await db.collection(config.collection).count().get()).data().count;
console.log(
  `loaded ${parsed.records.length} images: ${summary.written} written, ${summary.skipped} unchanged, ` +
    `${summary.failed} failed in ${summary.seconds.toFixed(1)} s (${Math.round(summary.docsPerSecond)} docs/s); ` +
    `${config.collection} now holds ${stored} documents`,
);
await db.terminate();
process.exitCode = summary.failed ? 1 : 0;
