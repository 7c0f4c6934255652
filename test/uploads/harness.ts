/**
 * One upload-processing rig per test file: the Firestore emulator and the Storage emulator (both started
 * here, on free ports), a DuckDB cohort store in a temporary file, and the processor wired to the Storage
 * emulator's finalized CloudEvents. Every delivery and its outcome is recorded.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Firestore } from '@google-cloud/firestore';
import { Storage } from '@google-cloud/storage';
import {
  type StorageCloudEvent,
  type StorageEmulator,
  startStorageEmulator,
} from '../../scripts/emulators/storage.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { createPageTokens, DEV_PAGE_TOKEN_SECRET } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import { IMAGES_TABLE, READERS_TABLE } from '../../shared/cohorts/schema.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { createFirestoreWriter, type FirestoreWriter } from '../../shared/google/firestore-rest-tx.ts';
import { createRestStorage, type ObjectStore } from '../../shared/google/storage-rest.ts';
import { fromImageDoc, IMAGES_COLLECTION, toImageDoc } from '../../shared/labels/doc.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import {
  createUploadProcessor,
  type UploadOutcome,
  type UploadProcessor,
  type UploadProcessorDeps,
} from '../../shared/uploads/processor.ts';
import { startTestFirestore, type TestFirestore } from '../harness/firestore.ts';

export const BUCKET = 'test-uploads';

export interface Delivery {
  event: StorageCloudEvent;
  outcome?: UploadOutcome;
  error?: unknown;
}

export interface UploadRig {
  fs: TestFirestore;
  db: Firestore;
  storage: Storage;
  /** The processor's own clients: Storage's JSON API and Firestore's REST API, on the emulators. */
  objects: ObjectStore;
  documents: FirestoreWriter;
  emulator: StorageEmulator;
  processor: UploadProcessor;
  deliveries: Delivery[];
  /** The DuckDB file of the cohort store (opened per call, so tests can read it in between). */
  cohortPath: string;
  /** Deliveries of objects other than the function's own (reports/, quarantine/). */
  userDeliveries(): Delivery[];
  /** Uploads and waits until the resulting event has been handled. */
  upload(name: string, data: Buffer | string, metadata?: Record<string, string>): Promise<Delivery>;
  stop(): Promise<void>;
}

const tokens = createPageTokens(DEV_PAGE_TOKEN_SECRET);

/** A CohortStore over a DuckDB file that is opened for each call and closed after it. */
export function fileCohortStore(path: string): CohortStore {
  const withStore = async <T>(fn: (s: CohortStore) => Promise<T>): Promise<T> => {
    const s = await createDuckDbCohortStore({ tokens, path, threads: 1 });
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };
  return {
    kind: 'duckdb',
    query: (f, n, t) => withStore((s) => s.query(f, n, t)),
    summary: (f) => withStore((s) => s.summary(f)),
    split: (f, o) => withStore((s) => s.split(f, o)),
    agreement: (q) => withStore((s) => s.agreement(q)),
    export: () => {
      throw new Error('not used by upload processing');
    },
    load: (rows) => withStore((s) => s.load(rows)),
    upsert: (rows) => withStore((s) => s.upsert(rows)),
    stats: () => withStore((s) => s.stats()),
    close: async () => {},
  };
}

/** Both cohort tables, every column, ordered: what "the same cohort rows" is checked on. */
export async function readCohortTables(path: string): Promise<{ images: unknown[]; readers: unknown[] }> {
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  try {
    const read = async (t: string, order: string) =>
      (await c.runAndReadAll(`SELECT * FROM "${t}" ORDER BY ${order}`)).getRowObjectsJson();
    return {
      images: await read(IMAGES_TABLE, 'image_id'),
      readers: await read(READERS_TABLE, 'ALL'),
    };
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

/** The cohort tables the bulk load of `records` produces. */
export async function bulkCohortTables(records: ImageRecord[], dir: string) {
  const path = join(dir, `bulk-${Date.now()}-${Math.random().toString(36).slice(2)}.duckdb`);
  await fileCohortStore(path).load(records.map(toCohortRows));
  return readCohortTables(path);
}

/** Every image document, by id. */
export async function readImageDocs(db: Firestore): Promise<Map<string, unknown>> {
  const snap = await db.collection(IMAGES_COLLECTION).get();
  return new Map(snap.docs.map((d) => [d.id, d.data()]));
}

/** The documents the bulk loader writes for `records` (loadRecords sets exactly toImageDoc(record)). */
export function bulkImageDocs(records: ImageRecord[]): Map<string, unknown> {
  return new Map(records.map((r) => [r.imageId, { ...toImageDoc(r) }]));
}

export interface RigOptions {
  /** Hand finalized events to the processor as they come (default true); false only records them. */
  autoProcess?: boolean;
  /** Processor dependencies to replace (e.g. a Firestore client through a proxy, a clock). */
  deps?: (fs: TestFirestore) => Partial<UploadProcessorDeps>;
}

export async function startUploadRig(opts: RigOptions = {}): Promise<UploadRig & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nih-uploads-test-'));
  const cohortPath = join(dir, 'cohorts.duckdb');
  const fs = await startTestFirestore();
  const deliveries: Delivery[] = [];
  let processor: UploadProcessor | undefined;
  const emulator = await startStorageEmulator({
    projectId: fs.emulator.projectId,
    onFinalize: async (event) => {
      const d: Delivery = { event };
      deliveries.push(d);
      if (opts.autoProcess === false) return;
      try {
        d.outcome = await processor!.process(event);
      } catch (err) {
        d.error = err;
        throw err;
      }
    },
  });
  const storage = new Storage({ apiEndpoint: emulator.host, projectId: fs.emulator.projectId });
  await storage.createBucket(BUCKET).catch(() => {});
  const objects = createRestStorage({ emulatorHost: emulator.host });
  const documents = createFirestoreWriter({
    projectId: fs.emulator.projectId,
    emulatorHost: fs.emulator.host,
  });
  processor = createUploadProcessor({
    objects,
    documents,
    firestore: () => fs.db,
    labels: createFirestoreLabelRepo({ firestore: fs.db }),
    cohorts: () => fileCohortStore(cohortPath),
    uploadsBucket: BUCKET,
    throttle: false,
    leaseMs: 60_000,
    ...opts.deps?.(fs),
  });
  const own = (d: Delivery) => {
    const data = d.event.data as { name: string };
    return data.name.startsWith('reports/') || data.name.startsWith('quarantine/');
  };
  return {
    dir,
    fs,
    db: fs.db,
    storage,
    objects,
    documents,
    emulator,
    processor,
    deliveries,
    cohortPath,
    userDeliveries: () => deliveries.filter((d) => !own(d)),
    async upload(name, data, metadata) {
      await storage
        .bucket(BUCKET)
        .file(name)
        .save(data, { resumable: false, ...(metadata ? { metadata: { metadata } } : {}) });
      await emulator.settled();
      const mine = deliveries.filter((d) => (d.event.data as { name: string }).name === name);
      return mine[mine.length - 1]!;
    },
    async stop() {
      documents.close();
      await emulator.stop();
      await fs.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function readJson(storage: Storage, name: string): Promise<Record<string, unknown>> {
  const [buf] = await storage.bucket(BUCKET).file(name).download();
  return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
}

export async function exists(storage: Storage, name: string): Promise<boolean> {
  const [e] = await storage.bucket(BUCKET).file(name).exists();
  return e;
}

export interface MemoryFigures {
  seconds: number;
  /** Peak growth of heap + Buffer memory over the start, each sample taken after a forced collection. */
  liveGrowthMb: number;
  rssGrowthMb: number;
}

/**
 * Runs `work` while sampling this process's memory every `everyMs` (after a forced GC, so that garbage
 * awaiting collection does not count) and returns its result with the peak growth and the time it took.
 */
export async function measured<T>(work: () => Promise<T>, everyMs = 200): Promise<[T, MemoryFigures]> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const sample = () => {
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, live: m.heapUsed + m.external };
  };
  const base = sample();
  let peakLive = base.live;
  let peakRss = base.rss;
  const timer = setInterval(() => {
    const m = sample();
    peakLive = Math.max(peakLive, m.live);
    peakRss = Math.max(peakRss, m.rss);
  }, everyMs);
  const started = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    const end = sample();
    peakLive = Math.max(peakLive, end.live);
    peakRss = Math.max(peakRss, end.rss);
    return [
      result,
      {
        seconds,
        liveGrowthMb: (peakLive - base.live) / 2 ** 20,
        rssGrowthMb: (peakRss - base.rss) / 2 ** 20,
      },
    ];
  } finally {
    clearInterval(timer);
  }
}

/** Firestore and the cohort store agree: the cohort tables are what a bulk load of the stored records gives. */
export async function assertStoresAgree(rig: UploadRig & { dir: string }): Promise<number> {
  const docs = await readImageDocs(rig.db);
  const records = [...docs].map(([id, d]) => fromImageDoc(id, d as Record<string, unknown>).record);
  deepStrictEqual(await readCohortTables(rig.cohortPath), await bulkCohortTables(records, rig.dir));
  return records.length;
}
