/**
 * Writes whole image records to Firestore with a BulkWriter. Idempotent: every document is written with
 * set() from the record alone, so loading twice leaves identical documents; resumable: after a crash a rerun
 * converges, and with skipUnchanged it only writes documents whose content hash differs.
 */
import type { BulkWriter, BulkWriterOptions, CollectionReference, Firestore } from '@google-cloud/firestore';
import type { ImageRecord } from '../model/index.ts';
import { IMAGES_COLLECTION, type ImageDoc, toImageDoc } from './doc.ts';

export interface LoadProgress {
  /** Records expected, when the caller knows (opts.total or an array input). */
  total: number | undefined;
  written: number;
  skipped: number;
  failed: number;
}

export interface LoadOptions {
  collection?: string;
  /**
   * Production: true (the default) = Firestore's ramp-up, 500 ops/s growing by 50% every 5 minutes, which
   * BulkWriter's throttling implements; an object sets the start and the cap. The emulator: false.
   */
  throttle?: boolean | { initialOpsPerSecond?: number; maxOpsPerSecond?: number };
  /** Read the stored content hashes first (one getAll per chunk) and write only what differs. */
  skipUnchanged?: boolean;
  /** Records per chunk (skip test, progress step); default 500. */
  chunkSize?: number;
  total?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Stops enqueueing; what was enqueued is still written. */
  signal?: AbortSignal;
}

export interface LoadFailure {
  imageId: string;
  message: string;
  code?: number;
}

export interface LoadSummary extends LoadProgress {
  failures: LoadFailure[];
  seconds: number;
  docsPerSecond: number;
  aborted: boolean;
}

/** Unthrottled (emulator) tuning: larger BatchWrite requests and more in flight than BulkWriter's 20 / 500. */
const UNTHROTTLED_BATCH_SIZE = 100;
const UNTHROTTLED_PENDING_OPS = 2000;
const MAX_CHUNKS_IN_FLIGHT = 8;
const MAX_FAILURES_KEPT = 100;

interface BulkWriterTuning {
  _setMaxBatchSize?: (n: number) => void;
  _setMaxPendingOpCount?: (n: number) => void;
}

/** A BulkWriter configured for the target: throttled for production, tuned for raw speed otherwise. */
export function createBulkWriter(db: Firestore, throttle: LoadOptions['throttle'] = true): BulkWriter {
  const custom = typeof throttle === 'object' ? throttle : {};
  const max = custom.maxOpsPerSecond;
  const throttling: BulkWriterOptions['throttling'] =
    throttle === false
      ? false
      : {
          // Firestore's 500/50/5 rule: start at 500 ops/s (or the cap, if lower); BulkWriter adds 50% every 5 min.
          initialOpsPerSecond: custom.initialOpsPerSecond ?? Math.min(500, max ?? 500),
          ...(max === undefined ? {} : { maxOpsPerSecond: max }),
        };
  const bw = db.bulkWriter({ throttling });
  if (throttle === false) {
    // Internal knobs of @google-cloud/firestore 9 (used by its own tests); skipped if they ever disappear.
    const t = bw as unknown as BulkWriterTuning;
    t._setMaxBatchSize?.(UNTHROTTLED_BATCH_SIZE);
    t._setMaxPendingOpCount?.(UNTHROTTLED_PENDING_OPS);
  }
  return bw;
}

async function* chunks<T>(items: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

async function unchangedIds(col: CollectionReference, docs: [string, ImageDoc][]): Promise<Set<string>> {
  const refs = docs.map(([id]) => col.doc(id));
  const snaps = await col.firestore.getAll(...refs, { fieldMask: ['contentHash'] });
  const same = new Set<string>();
  snaps.forEach((s, i) => {
    if (s.exists && s.get('contentHash') === docs[i]![1].contentHash) same.add(s.id);
  });
  return same;
}

/** Loads records into `collection` (default `images`) and resolves with the counts once all are written. */
export async function loadRecords(
  db: Firestore,
  records: Iterable<ImageRecord> | AsyncIterable<ImageRecord>,
  opts: LoadOptions = {},
): Promise<LoadSummary> {
  const started = performance.now();
  const col = db.collection(opts.collection ?? IMAGES_COLLECTION);
  const progress: LoadProgress = {
    total: opts.total ?? (Array.isArray(records) ? records.length : undefined),
    written: 0,
    skipped: 0,
    failed: 0,
  };
  const failures: LoadFailure[] = [];
  const report = () => opts.onProgress?.({ ...progress });
  const bw = createBulkWriter(db, opts.throttle ?? true);
  const inFlight: Promise<void>[] = [];
  let aborted = false;

  try {
    for await (const chunk of chunks(records, opts.chunkSize ?? 500)) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      const docs = chunk.map((r): [string, ImageDoc] => [r.imageId, toImageDoc(r)]);
      const skip = opts.skipUnchanged ? await unchangedIds(col, docs) : new Set<string>();
      const writes = docs
        .filter(([id]) => !skip.has(id))
        .map(([id, doc]) =>
          bw.set(col.doc(id), doc).then(
            () => {
              progress.written++;
            },
            (err: { code?: number; message?: string }) => {
              progress.failed++;
              if (failures.length < MAX_FAILURES_KEPT) {
                failures.push({
                  imageId: id,
                  message: String(err?.message ?? err),
                  ...(typeof err?.code === 'number' ? { code: err.code } : {}),
                });
              }
            },
          ),
        );
      progress.skipped += skip.size;
      inFlight.push(Promise.all(writes).then(report));
      if (skip.size) report();
      // Bounded memory: wait for the oldest chunk before reading far ahead. flush() sends a partly filled
      // batch, which BulkWriter would otherwise hold back until more writes arrive.
      if (inFlight.length >= MAX_CHUNKS_IN_FLIGHT) {
        void bw.flush();
        await inFlight.shift();
      }
    }
  } finally {
    // close() sends the last, partly filled batch and waits for every write; only then can the chunks settle.
    await bw.close();
  }
  await Promise.all(inFlight);
  report();
  const seconds = (performance.now() - started) / 1000;
  return {
    ...progress,
    failures,
    seconds,
    docsPerSecond: seconds > 0 ? progress.written / seconds : 0,
    aborted,
  };
}
