/**
 * Partial updates for upload processing: merge a new label set (or metadata, boxes, split) into existing
 * image documents without touching their other fields. Read-merge-write with optimistic concurrency
 * (update-time precondition), so concurrent patches never lose each other's changes, and idempotent: the
 * same patch applied twice leaves the same document.
 */
import type { CollectionReference, DocumentSnapshot, Firestore, UpdateData } from '@google-cloud/firestore';
import {
  type AllFindingsLabels,
  type BoundingBox,
  type DicomIdentity,
  type FourFindingsLabels,
  type ImageId,
  type ImageMetadata,
  type ImageRecord,
  ImageRecordSchema,
  imageFiles,
  type ReaderLabels,
  type Split,
} from '../model/index.ts';
import {
  fromImageDoc,
  IMAGES_COLLECTION,
  type ImageDoc,
  MAX_BOXES_PER_IMAGE,
  MAX_READERS_PER_IMAGE,
  MAX_RECORD_BYTES,
  toImageDoc,
} from './doc.ts';
import { withDeadline } from './errors.ts';
import { createBulkWriter } from './loader.ts';

export interface RecordPatch {
  imageId: ImageId;
  /** NIH metadata: replaces every metadata field. Needed (with split) to create a missing document. */
  metadata?: ImageMetadata;
  split?: Split;
  /** Replaces all bounding boxes. */
  boundingBoxes?: BoundingBox[];
  /** Adjudicated labels: a value replaces, null removes, absent keeps. */
  fourFindings?: FourFindingsLabels | null;
  allFindings?: AllFindingsLabels | null;
  /** Upserted by (study, readerId): a reader's row replaces that reader's earlier row; others stay. */
  readers?: ReaderLabels[];
  /** DICOM identity read from the image's file header: replaces the stored one. Never creates a document. */
  dicom?: DicomIdentity;
}

export interface PatchRejection {
  imageId: string;
  reason: string;
}

export interface PatchSummary {
  created: number;
  updated: number;
  unchanged: number;
  /**
   * Patches that cannot apply (e.g. labels for an image with no document and no metadata, a record past
   * the document caps) and writes Firestore refused as invalid (INVALID_ARGUMENT): the input's fault.
   */
  rejected: PatchRejection[];
  /** Writes that still failed after the retries (Firestore errors, persistent contention): worth a retry. */
  failed: PatchRejection[];
}

export interface PatchOptions {
  collection?: string;
  /** As in loadRecords; default true (production ramp-up). */
  throttle?: boolean | { initialOpsPerSecond?: number; maxOpsPerSecond?: number };
  /** Rounds of read-merge-write for documents changed concurrently; default 10, with jittered backoff. */
  maxAttempts?: number;
  /** Default MAX_RECORD_BYTES; tests raise it to see what Firestore itself does past its limit. */
  maxRecordBytes?: number;
  /** Deadline of one read of up to 250 documents; default 60 s. */
  readTimeoutMs?: number;
}

/** Applies patches to a record (undefined = no document yet). Pure; returns a reason when it cannot. */
export function applyRecordPatches(
  current: ImageRecord | undefined,
  patches: readonly RecordPatch[],
): ImageRecord | { reason: string } {
  let rec = current;
  for (const p of patches) {
    if (p.metadata && p.metadata.imageId !== p.imageId) {
      return { reason: `metadata is for ${p.metadata.imageId}, not ${p.imageId}` };
    }
    if (!rec) {
      if (!p.metadata || !p.split) {
        return { reason: 'no such image: a new image needs its NIH metadata and split' };
      }
      rec = {
        ...p.metadata,
        split: p.split,
        boundingBoxes: [],
        expert: { fourFindings: null, allFindings: null, readers: [] },
        files: imageFiles(p.imageId),
      };
    } else if (p.metadata) {
      rec = { ...rec, ...p.metadata };
    }
    const expert = { ...rec.expert };
    if (p.fourFindings !== undefined) expert.fourFindings = p.fourFindings;
    if (p.allFindings !== undefined) expert.allFindings = p.allFindings;
    if (p.readers?.length) {
      const key = (r: ReaderLabels) => `${r.study}/${r.readerId}`;
      const byKey = new Map(expert.readers.map((r) => [key(r), r]));
      for (const r of p.readers) byKey.set(key(r), r);
      expert.readers = [...byKey.values()];
    }
    rec = {
      ...rec,
      ...(p.split ? { split: p.split } : {}),
      ...(p.boundingBoxes ? { boundingBoxes: p.boundingBoxes } : {}),
      ...(p.dicom ? { dicom: p.dicom } : {}),
      expert,
    };
  }
  if (!rec) return { reason: 'empty patch for an image with no document' };
  if (rec.boundingBoxes.length > MAX_BOXES_PER_IMAGE) {
    return {
      reason: `${rec.boundingBoxes.length} bounding boxes, more than ${MAX_BOXES_PER_IMAGE} per image`,
    };
  }
  if (rec.expert.readers.length > MAX_READERS_PER_IMAGE) {
    return {
      reason: `${rec.expert.readers.length} reader rows, more than ${MAX_READERS_PER_IMAGE} per image`,
    };
  }
  const checked = ImageRecordSchema.safeParse(rec);
  if (!checked.success) {
    const i = checked.error.issues[0];
    return { reason: `patched record is invalid at ${i?.path.join('.') ?? '?'}: ${i?.message ?? ''}` };
  }
  return checked.data;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CONFLICT_CODES = new Set([5 /* NOT_FOUND */, 6 /* ALREADY_EXISTS */, 9 /* FAILED_PRECONDITION */]);
/** gRPC INVALID_ARGUMENT: Firestore refused the document itself (too large, bad value); no retry helps. */
const INVALID_ARGUMENT = 3;
const READ_CHUNK = 250;
const READ_TIMEOUT_MS = 60_000;
/** Chunks whose writes may be pending at once: memory stays bounded whatever the number of patches. */
const CHUNKS_IN_FLIGHT = 4;

/** The document to write, or why not: over MAX_RECORD_BYTES it would come close to Firestore's 1 MiB. */
export function checkedImageDoc(r: ImageRecord, max = MAX_RECORD_BYTES): ImageDoc | { reason: string } {
  const doc = toImageDoc(r);
  const bytes = Buffer.byteLength(doc.record, 'utf8');
  if (bytes > max) {
    return { reason: `the record would take ${bytes} bytes, more than ${max} per document` };
  }
  return doc;
}

/** The patches of each image, in the order given. */
function groupByImage(patches: readonly RecordPatch[]): Map<string, RecordPatch[]> {
  const byId = new Map<string, RecordPatch[]>();
  for (const p of patches) {
    const list = byId.get(p.imageId);
    if (list) list.push(p);
    else byId.set(p.imageId, [p]);
  }
  return byId;
}

/** What one attempt shares while it writes: where outcomes go, and the writer. */
interface AttemptState {
  col: CollectionReference;
  bw: ReturnType<typeof createBulkWriter>;
  summary: PatchSummary;
  /** Images to try again (lost a race with another writer). */
  retry: string[];
  /** Writes that failed for another reason than contention or the document itself. */
  lastErrors: Map<string, string>;
}

/** Applies one stored document's patches and queues its write; undefined when nothing is written. */
function patchOne(
  snap: DocumentSnapshot,
  patches: readonly RecordPatch[],
  st: AttemptState,
  opts: PatchOptions,
): Promise<void> | undefined {
  const { summary } = st;
  const current = snap.exists ? fromImageDoc(snap.id, snap.data()) : undefined;
  const next = applyRecordPatches(current?.record, patches);
  if ('reason' in next) {
    summary.rejected.push({ imageId: snap.id, reason: next.reason });
    return undefined;
  }
  const doc = checkedImageDoc(next, opts.maxRecordBytes);
  if ('reason' in doc) {
    summary.rejected.push({ imageId: snap.id, reason: doc.reason });
    return undefined;
  }
  if (current?.version === doc.contentHash) {
    summary.unchanged++;
    return undefined;
  }
  const ref = st.col.doc(snap.id);
  const op = snap.exists
    ? st.bw.update(ref, doc as unknown as UpdateData<ImageDoc>, { lastUpdateTime: snap.updateTime! })
    : st.bw.create(ref, doc);
  return op.then(
    () => {
      if (snap.exists) summary.updated++;
      else summary.created++;
    },
    (err: { code?: number; message?: string }) => {
      if (typeof err.code === 'number' && CONFLICT_CODES.has(err.code)) st.retry.push(snap.id);
      else if (err.code === INVALID_ARGUMENT) {
        summary.rejected.push({
          imageId: snap.id,
          reason: `Firestore refused the document: ${String(err.message ?? err)}`,
        });
      } else st.lastErrors.set(snap.id, String(err.message ?? err));
    },
  );
}

/** One pass over `pending`: reads in chunks, writes with at most CHUNKS_IN_FLIGHT chunks pending. */
async function patchAttempt(
  db: Firestore,
  pending: readonly string[],
  byId: ReadonlyMap<string, RecordPatch[]>,
  summary: PatchSummary,
  opts: PatchOptions,
): Promise<string[]> {
  const col = db.collection(opts.collection ?? IMAGES_COLLECTION);
  const st: AttemptState = {
    col,
    bw: createBulkWriter(db, opts.throttle ?? true),
    summary,
    retry: [],
    lastErrors: new Map(),
  };
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < pending.length; i += READ_CHUNK) {
    const ids = pending.slice(i, i + READ_CHUNK);
    // A read on a connection that died can wait for ever: past the deadline it is an outage (retried).
    const snaps: DocumentSnapshot[] = await withDeadline(
      db.getAll(...ids.map((id) => col.doc(id))),
      opts.readTimeoutMs ?? READ_TIMEOUT_MS,
      'reading the documents to patch',
    );
    const writes: Promise<void>[] = [];
    for (const snap of snaps) {
      const w = patchOne(snap, byId.get(snap.id)!, st, opts);
      if (w) writes.push(w);
    }
    inFlight.push(Promise.all(writes));
    if (inFlight.length >= CHUNKS_IN_FLIGHT) {
      // flush() sends a partly filled batch, which BulkWriter would otherwise hold back.
      void st.bw.flush();
      await inFlight.shift();
      // Writes failing for another reason than contention: stop reading, the whole upload is retried.
      if (st.lastErrors.size > 0) break;
    }
  }
  await st.bw.close();
  await Promise.all(inFlight);
  for (const [imageId, reason] of st.lastErrors) summary.failed.push({ imageId, reason });
  return st.retry;
}

/** Merges patches into the stored documents; see RecordPatch for the semantics of each part. */
export async function patchRecords(
  db: Firestore,
  patches: readonly RecordPatch[],
  opts: PatchOptions = {},
): Promise<PatchSummary> {
  const byId = groupByImage(patches);
  const summary: PatchSummary = { created: 0, updated: 0, unchanged: 0, rejected: [], failed: [] };
  let pending = [...byId.keys()];
  const maxAttempts = opts.maxAttempts ?? 10;
  for (let attempt = 1; pending.length && attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await sleep(Math.random() * Math.min(2000, 25 * 2 ** attempt));
    pending = await patchAttempt(db, pending, byId, summary, opts);
  }
  for (const imageId of pending) summary.failed.push({ imageId, reason: 'changed concurrently; gave up' });
  return summary;
}
