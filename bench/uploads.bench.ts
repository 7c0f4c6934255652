/**
 * `npm run bench -- uploads`: rows per second of the v2020 metadata file from upload to loaded, on the
 * Firestore and Storage emulators (started here) with DuckDB as the cohort store: the two split lists are
 * uploaded first (their images' splits are staged), then Data_Entry_2017_v2020.csv.gz; the clock runs from
 * the start of its upload until the processor has loaded every row into Firestore and DuckDB and written
 * the report. Real file with NIH_DATA_DIR, else a synthetic one of 20,000 images.
 * Then the hostile uploads of issue 20, each timed from the start of its upload to its report: a 200 MB newline
 * bomb (gzipped), 20 MB of blank lines, 100k duplicate boxes, 5,000 distinct boxes for one image and 200k
 * conflicting metadata rows (test/uploads/limits.test.ts asserts their outcomes and memory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gunzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { startFirestoreEmulator } from '../scripts/emulators/firestore.ts';
import { type StorageCloudEvent, startStorageEmulator } from '../scripts/emulators/storage.ts';
import { createDuckDbCohortStore } from '../shared/cohorts/duckdb-store.ts';
import { createPageTokens, DEV_PAGE_TOKEN_SECRET } from '../shared/cohorts/page-token.ts';
import { createFirestoreWriter, type FirestoreWriter } from '../shared/google/firestore-rest-tx.ts';
import { createRestStorage } from '../shared/google/storage-rest.ts';
import { createFirestore } from '../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../shared/labels/firestore-repo.ts';
import { writeSyntheticDataset } from '../shared/sample/synthetic.ts';
import { createUploadProcessor, type UploadOutcome } from '../shared/uploads/processor.ts';

const BUCKET = 'bench-uploads';

export default async (): Promise<void> => {
  const tmp = mkdtempSync(join(tmpdir(), 'nih-bench-uploads-'));
  let dir = process.env.NIH_DATA_DIR;
  if (!dir) {
    dir = join(tmp, 'data');
    await writeSyntheticDataset(dir, { images: 20_000, seed: 1 });
  }
  const fs = await startFirestoreEmulator();
  const db = await createFirestore({ projectId: fs.projectId, emulatorHost: fs.host });
  const cohorts = await createDuckDbCohortStore({ tokens: createPageTokens(DEV_PAGE_TOKEN_SECRET) });
  const done = new Map<string, { at: number; outcome: UploadOutcome }>();
  let processor: ReturnType<typeof createUploadProcessor> | undefined;
  let documents: FirestoreWriter | undefined;
  const emu = await startStorageEmulator({
    projectId: fs.projectId,
    bucket: BUCKET,
    onFinalize: async (e: StorageCloudEvent) => {
      const outcome = await processor!.process(e);
      done.set((e.data as { name: string }).name, { at: performance.now(), outcome });
    },
  });
  try {
    const storage = new Storage({ apiEndpoint: emu.host, projectId: fs.projectId });
    // The emulator creates buckets on first use (its JSON API has no bucket insert).
    documents = createFirestoreWriter({ projectId: fs.projectId, emulatorHost: fs.host });
    processor = createUploadProcessor({
      objects: createRestStorage({ emulatorHost: emu.host }),
      documents,
      firestore: () => db,
      labels: createFirestoreLabelRepo({ firestore: db }),
      cohorts: () => cohorts,
      uploadsBucket: BUCKET,
      throttle: false,
      leaseMs: 600_000,
    });
    const upload = async (name: string, body?: Buffer) => {
      const t0 = performance.now();
      await storage
        .bucket(BUCKET)
        .file(name)
        .save(body ?? (await readFile(join(dir, name))), { resumable: false });
      await emu.settled();
      const d = done.get(name);
      if (!d || !('report' in d.outcome)) throw new Error(`${name} was not processed: ${JSON.stringify(d)}`);
      return { seconds: (d.at - t0) / 1000, report: d.outcome.report };
    };
    for (const list of ['train_val_list.txt', 'test_list.txt']) {
      const r = await upload(list);
      console.log(`${list}: ${r.report.rows?.parsed} rows staged/applied in ${r.seconds.toFixed(1)} s`);
    }
    const r = await upload('Data_Entry_2017_v2020.csv.gz');
    const rows = r.report.rows?.loaded ?? 0;
    const stats = await cohorts.stats();
    console.log(
      `Data_Entry_2017_v2020.csv.gz (${process.env.NIH_DATA_DIR ? 'real' : 'synthetic'}): ${rows} rows, upload to loaded ${r.seconds.toFixed(1)} s -> ${(rows / r.seconds).toFixed(0)} rows/s (processing alone ${(r.report.durationMs / 1000).toFixed(1)} s; ${r.report.images?.created} documents created, ${stats.images} cohort rows)`,
    );
    const meta = gunzipSync(await readFile(join(dir, 'Data_Entry_2017_v2020.csv.gz')))
      .subarray(0, 4096)
      .toString('utf8')
      .split('\n');
    for (const [label, name, body] of await hostileUploads(meta[0]!, meta[1]!)) {
      const h = await upload(name, body);
      const rep = h.report;
      console.log(
        `${label} (${(body.length / 1024).toFixed(0)} KB uploaded): ${rep.status} after ${h.seconds.toFixed(1)} s (processing ${(rep.durationMs / 1000).toFixed(1)} s; ${rep.lines ?? '-'} lines, ${rep.rows?.loaded ?? 0} rows loaded, ${rep.rejectedTotal} rejected, ${rep.warningsTotal} warnings${rep.reason ? `; ${rep.reason}` : ''})`,
      );
    }
  } finally {
    await emu.stop();
    await cohorts.close();
    documents?.close();
    await db.terminate();
    await fs.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
};

const BBOX_HEADER = 'Image Index,Finding Label,Bbox [x,y,w,h],,,';

async function gzipOf(parts: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const p of Readable.from(parts).pipe(createGzip({ level: 9 }))) out.push(p as Buffer);
  return Buffer.concat(out);
}

function* newlines(mib: number): Generator<Buffer> {
  yield Buffer.from(`${BBOX_HEADER}\n`);
  const chunk = Buffer.alloc(1 << 20, 0x0a);
  for (let i = 0; i < mib; i++) yield chunk;
}

/** The hostile uploads of issue 20 for one image of the loaded dataset: [label, object name, bytes]. */
async function hostileUploads(metaHeader: string, metaRow: string): Promise<[string, string, Buffer][]> {
  const id = metaRow.slice(0, 12);
  const boxes = (n: number, x: (i: number) => number) => {
    const rows = [BBOX_HEADER];
    for (let i = 0; i < n; i++) rows.push(`${id}.png,Mass,${x(i)},20,30,40`);
    return Buffer.from(rows.join('\n'));
  };
  const f = metaRow.split(',');
  const conflicts = [metaHeader, metaRow];
  for (let i = 0; i < 200_000; i++)
    conflicts.push(
      [...f.slice(0, 4), String(((Number(f[4]) + 1 + (i % 50)) % 100) + 1), ...f.slice(5)].join(','),
    );
  return [
    ['200 MB newline bomb, gzipped', 'hostile/newlines-200.csv.gz', await gzipOf(newlines(200))],
    ['20 MB of blank lines, gzipped', 'hostile/newlines-20.csv.gz', await gzipOf(newlines(20))],
    [
      '100k duplicate boxes (100 distinct), one image',
      'hostile/duplicates.csv',
      boxes(100_000, (i) => i % 100),
    ],
    ['5,000 distinct boxes, one image', 'hostile/distinct.csv', boxes(5000, (i) => i)],
    ['200k conflicting metadata rows, one image', 'hostile/conflicts.csv', Buffer.from(conflicts.join('\n'))],
  ];
}
