/**
 * `npm run bench -- labels`, on its own Firestore emulator, with the real files when NIH_DATA_DIR is set
 * (else a synthetic set of 20,000 images):
 * - load throughput of the whole set, unthrottled (target >= 5,000 docs/s): a cold JVM, then warm, then
 *   warm with BulkWriter's stock batching (20 writes per request, 500 pending) for comparison;
 * - the document layout: nested maps (one Firestore field per value) vs the record as one JSON string;
 * - batchGet of 1,000 ids vs 1,000 sequential single gets (target ratio <= 1/10);
 * - p50/p95/p99 of GET /v1/images/{id} through functions-framework + the router, over keep-alive HTTP;
 * - warm requests/s of each route beside a hello world, and Firestore reads per 1,000 requests with the
 *   label cache on and off (labels-throughput.ts). LABELS_BENCH_QUICK=1 skips the load and layout figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createLabelsRoutes } from '../functions/labels/routes.ts';
import { startFirestoreEmulator } from '../scripts/emulators/firestore.ts';
import { loadDatasetDir } from '../shared/dataset/index.ts';
import { createRouter } from '../shared/http/router.ts';
import { canonicalRecord } from '../shared/labels/doc.ts';
import { createFirestore } from '../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../shared/labels/firestore-repo.ts';
import { loadRecords } from '../shared/labels/loader.ts';
import type { LabelRepo } from '../shared/labels/repo.ts';
import { createLogger } from '../shared/log.ts';
import type { ImageId, ImageRecord } from '../shared/model/index.ts';
import { writeSyntheticDataset } from '../shared/sample/synthetic.ts';
import { warmThroughput } from './labels-throughput.ts';

const LAYOUT_DOCS = 20_000;
const LATENCY_REQUESTS = 1_000;

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const median = (xs: number[]) => pct(xs, 50);
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function records(): Promise<{ source: string; records: ImageRecord[] }> {
  const dir = process.env.NIH_DATA_DIR;
  if (dir) return { source: 'real NIH files', records: (await loadDatasetDir(dir)).records };
  const tmp = mkdtempSync(join(tmpdir(), 'labels-bench-'));
  try {
    await writeSyntheticDataset(tmp, { images: 20_000 });
    return { source: 'synthetic', records: (await loadDatasetDir(tmp)).records };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** BulkWriter with stock batching (no batch-size/pending tuning), unthrottled. */
async function stockLoad(
  db: Firestore,
  recs: ImageRecord[],
  docs: (r: ImageRecord) => object,
): Promise<number> {
  const t = performance.now();
  const bw = db.bulkWriter({ throttling: false });
  const col = db.collection('images');
  for (const r of recs) void bw.set(col.doc(r.imageId), docs(r));
  await bw.close();
  return recs.length / ((performance.now() - t) / 1000);
}

type Emulator = Awaited<ReturnType<typeof startFirestoreEmulator>>;

/** Loader throughput: cold and warm JVM, and a reload where nothing changed. */
async function loadFigures(db: Firestore, emu: Emulator, recs: ImageRecord[]): Promise<void> {
  const cold = await loadRecords(db, recs, { throttle: false });
  await emu.reset();
  const warm = await loadRecords(db, recs, { throttle: false });
  console.log(`load, cold JVM:  ${Math.round(cold.docsPerSecond)} docs/s (${cold.seconds.toFixed(1)} s)`);
  console.log(
    `load, warm JVM:  ${Math.round(warm.docsPerSecond)} docs/s (${warm.seconds.toFixed(1)} s, target >= 5,000)`,
  );
  const again = await loadRecords(db, recs, { throttle: false, skipUnchanged: true });
  console.log(`reload with skipUnchanged (nothing changed): ${again.seconds.toFixed(1)} s`);
}

/** Document layout (nested maps vs one JSON field) and BulkWriter tuning, on a subset. */
async function layoutFigures(db: Firestore, emu: Emulator, recs: ImageRecord[]): Promise<void> {
  const subset = recs.slice(0, LAYOUT_DOCS);
  await emu.reset();
  const nested = await stockLoad(db, subset, (r) => canonicalRecord(r));
  await emu.reset();
  const { toImageDoc } = await import('../shared/labels/doc.ts');
  const oneField = await stockLoad(db, subset, (r) => toImageDoc(r));
  console.log(
    `layout, ${subset.length} docs, stock BulkWriter: nested maps ${Math.round(nested)} docs/s, ` +
      `one JSON field ${Math.round(oneField)} docs/s`,
  );
  await emu.reset();
  const tuned = await loadRecords(db, subset, { throttle: false });
  console.log(
    `BulkWriter, ${subset.length} docs, JSON layout: stock (20/batch) ${Math.round(oneField)} docs/s, ` +
      `tuned (100/batch, 2,000 pending) ${Math.round(tuned.docsPerSecond)} docs/s`,
  );
}

/** One batchGet of `ids` against as many sequential gets. */
async function readFigures(repo: LabelRepo, ids: ImageId[]): Promise<void> {
  const batch: number[] = [];
  const single: number[] = [];
  for (let round = 0; round < 3; round++) {
    let t = performance.now();
    const got = await repo.getImages(ids);
    batch.push(performance.now() - t);
    if (got.some((g) => !g)) throw new Error('batchGet missed an image');
    t = performance.now();
    for (const id of ids) await repo.getImage(id);
    single.push(performance.now() - t);
  }
  console.log(
    `batchGet ${ids.length} ids: ${ms(median(batch))}; ${ids.length} sequential gets: ${ms(median(single))}; ` +
      `ratio 1/${(median(single) / median(batch)).toFixed(1)} (target <= 1/10)`,
  );
}

/** The routes over HTTP: latency of one image, and one batchGet. */
async function httpFigures(repo: LabelRepo, ids: ImageId[]): Promise<void> {
  http('labels-bench', createRouter(createLabelsRoutes({ repo }), { logger: createLogger({}, () => {}) }));
  const server = getTestServer('labels-bench');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_REQUESTS + 100; i++) {
      const id = ids[(i * 7) % ids.length]!;
      const t = performance.now();
      const res = await fetch(`${base}/v1/images/${id}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${id}: ${res.status}`);
      if (i >= 100) lat.push(performance.now() - t);
    }
    console.log(
      `GET /v1/images/{id} over HTTP (${LATENCY_REQUESTS} requests after 100 warm-up): ` +
        `p50 ${ms(pct(lat, 50))}, p95 ${ms(pct(lat, 95))}, p99 ${ms(pct(lat, 99))}`,
    );
    const t = performance.now();
    const res = await fetch(`${base}/v1/images:batchGet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imageIds: ids }),
    });
    const size = (await res.arrayBuffer()).byteLength;
    console.log(
      `POST /v1/images:batchGet of ${ids.length} ids over HTTP: ${ms(performance.now() - t)}, ${size} bytes`,
    );
  } finally {
    await new Promise((r) => server.close(r));
  }
}

export default async (): Promise<void> => {
  const { source, records: recs } = await records();
  const emu = await startFirestoreEmulator({ projectId: 'demo-labels-bench' });
  const db = await createFirestore({ projectId: emu.projectId, emulatorHost: emu.host });
  try {
    console.log(`${recs.length} images (${source}), emulator ${emu.host}`);
    if (!process.env.LABELS_BENCH_QUICK) {
      await loadFigures(db, emu, recs);
      await layoutFigures(db, emu, recs);
    }
    await emu.reset();
    await loadRecords(db, recs, { throttle: false });
    const repo = createFirestoreLabelRepo({ firestore: db });
    const step = Math.max(1, Math.floor(recs.length / 1000));
    const ids = recs
      .filter((_, i) => i % step === 0)
      .slice(0, 1000)
      .map((r) => r.imageId);
    await readFigures(repo, ids);
    await httpFigures(repo, ids);
    await warmThroughput({ emulatorHost: emu.host, projectId: emu.projectId, ids });
  } finally {
    await db.terminate();
    await emu.stop();
  }
};
