/**
 * `npm run bench -- uploads`: rows per second of the v2020 metadata file from upload to loaded, on the
 * Firestore and Storage emulators (started here) with DuckDB as the cohort store: the two split lists are
 * uploaded first (their images' splits are staged), then Data_Entry_2017_v2020.csv.gz; the clock runs from
 * the start of its upload until the processor has loaded every row into Firestore and DuckDB and written
 * the report. Real file with NIH_DATA_DIR, else a synthetic one of 20,000 images.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { startFirestoreEmulator } from '../scripts/emulators/firestore.ts';
import { type StorageCloudEvent, startStorageEmulator } from '../scripts/emulators/storage.ts';
import { createDuckDbCohortStore } from '../shared/cohorts/duckdb-store.ts';
import { createPageTokens, DEV_PAGE_TOKEN_SECRET } from '../shared/cohorts/page-token.ts';
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
    processor = createUploadProcessor({
      storage,
      firestore: () => db,
      labels: createFirestoreLabelRepo({ firestore: db }),
      cohorts: () => cohorts,
      uploadsBucket: BUCKET,
      throttle: false,
      leaseMs: 600_000,
    });
    const upload = async (name: string) => {
      const t0 = performance.now();
      await storage
        .bucket(BUCKET)
        .file(name)
        .save(await readFile(join(dir, name)), { resumable: false });
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
  } finally {
    await emu.stop();
    await cohorts.close();
    await db.terminate();
    await fs.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
};
