/**
 * Property-based fuzzing of upload processing (fast-check) on the Firestore and Storage emulators with the
 * DuckDB cohort store (one rig for the whole file, test/uploads/harness.ts), over a small seeded dataset:
 * hostile contents (test/fuzz/upload-contents.ts) under ordinary names, and ordinary or hostile contents under
 * hostile names. Every upload must end in `loaded`, `registered` or `rejected` (never `failed`, never a throw)
 * within its deadline, with its report under a valid object name recording the original name, a quarantine
 * copy when rejected, and Firestore and the cohort store agreeing afterwards. FUZZ_UPLOAD_RUNS (default 600
 * contents + 400 names), FUZZ_SEED to replay.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fromImageDoc } from '../../shared/labels/doc.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import type { UploadOutcome } from '../../shared/uploads/processor.ts';
import { MAX_OBJECT_NAME_BYTES } from '../../shared/uploads/report.ts';
import {
  bulkCohortTables,
  exists,
  readCohortTables,
  readImageDocs,
  readJson,
  startUploadRig,
  type UploadRig,
} from '../uploads/harness.ts';
import { objectName, type Universe, uploadBytes } from './upload-contents.ts';

const RUNS = Number(process.env.FUZZ_UPLOAD_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Far above what any of these small uploads needs; an upload past it is a stall. */
const DEADLINE_MS = 30_000;
const ENDINGS = new Set(['loaded', 'registered', 'rejected']);

let rig: UploadRig & { dir: string };
let universe: Universe;
let n = 0;
const tally = new Map<string, number>();
const started = Date.now();

async function uploadAndProcess(name: string, body: Buffer): Promise<UploadOutcome> {
  const d = await rig.upload(name, body);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no outcome within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([rig.processor.process(d.event), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(name: string, body: Buffer): Promise<void> {
  const outcome = await uploadAndProcess(name, body);
  assert.ok('report' in outcome, `a report for ${JSON.stringify(name)}: ${JSON.stringify(outcome)}`);
  const { report, reportObject } = outcome;
  tally.set(report.status, (tally.get(report.status) ?? 0) + 1);
  assert.ok(ENDINGS.has(report.status), `ended ${report.status}: ${report.reason}`);
  assert.equal(report.object.name, name);
  assert.ok(Buffer.byteLength(reportObject) <= MAX_OBJECT_NAME_BYTES);
  const stored = await readJson(rig.storage, reportObject);
  assert.equal((stored.object as { name: string }).name, name);
  assert.equal(stored.status, report.status);
  if (report.status === 'rejected') {
    assert.ok(report.quarantine && (await exists(rig.storage, report.quarantine)), 'quarantined');
  }
  await storesAgree();
}

let lastDocs: Map<string, unknown> | undefined;
let lastTables: unknown;
/**
 * Firestore and the cohort store agree: the cohort tables equal those a bulk load of the stored records
 * gives (the oracle is recomputed only when the documents changed since the last check).
 */
async function storesAgree(): Promise<void> {
  const docs = await readImageDocs(rig.db);
  if (!lastDocs || !isDeepStrictEqual(docs, lastDocs)) {
    const records = [...docs].map(([id, d]) => fromImageDoc(id, d as Record<string, unknown>).record);
    lastTables = await bulkCohortTables(records, rig.dir);
    lastDocs = docs;
  }
  assert.deepEqual(await readCohortTables(rig.cohortPath), lastTables);
}

describe(`fuzzing upload processing (${RUNS} runs, seed ${SEED})`, { timeout: 1_800_000 }, () => {
  before(async () => {
    rig = await startUploadRig({ autoProcess: false });
    const data = join(rig.dir, 'data');
    await writeSyntheticDataset(data, { images: 24, seed: 31 });
    for (const f of ['train_val_list.txt', 'test_list.txt', 'Data_Entry_2017_v2020.csv.gz']) {
      assert.equal((await uploadAndProcess(`seed/${f}`, await readFile(join(data, f)))).status, 'loaded');
    }
    const rows = gunzipSync(await readFile(join(data, 'Data_Entry_2017_v2020.csv.gz')))
      .toString('utf8')
      .split('\n')
      .slice(1)
      .filter((l) => l !== '');
    universe = { ids: rows.map((r) => r.slice(0, 12)), metadataRows: rows };
  });
  after(async () => {
    await rig?.stop();
    console.log(
      `# upload fuzz (seed ${SEED}): ${n} uploads in ${Math.round((Date.now() - started) / 1000)} s, ${JSON.stringify(Object.fromEntries(tally))}`,
    );
  });

  it('hostile contents end in loaded, registered or rejected, and both stores agree after each', async () => {
    await fc.assert(
      fc.asyncProperty(uploadBytes(universe), async (body) => {
        await check(`contents/${++n}.csv`, body);
      }),
      { numRuns: Math.ceil(RUNS * 0.6), seed: SEED },
    );
  });

  it('hostile object names: the report is written under a valid name and records the original', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat().chain((k) => objectName(`names/${k}/`)),
        fc.oneof(uploadBytes(universe), fc.constant(Buffer.from('not a label file\n'))),
        async (name, body) => {
          n++;
          await check(name, body);
        },
      ),
      { numRuns: Math.floor(RUNS * 0.4), seed: SEED + 1 },
    );
  });
});
