/**
 * The use case behind the `processUpload` CloudEvent function (and the local server): one finalized object
 * in, at most one load and one report out, whatever the number of deliveries. This file holds the event
 * handling and the lease/attempt ledger path; one attempt is in handle.ts, reading the object in work.ts.
 *
 * A fresh image upload takes 3 sequential round trips (issue 15): the ledger claim and the object read at
 * once, the report, then the image registry and the ledger's "done" in one Firestore commit. The report goes
 * before that commit so that a crash between the two leaves the ledger unfinished: the redelivery does the
 * work again and overwrites the report. Label files keep their order (the load, the report, then "done"):
 * their writes are many SDK batches, nothing one commit could join.
 */
import type { Readable } from 'node:stream';
import { lazy } from '../lazy.ts';
import { MAX_CONTENT_BYTES, MAX_UPLOAD_ROWS } from './bytes.ts';
import type { ReportedOutcome, UploadContext, UploadOutcome, UploadProcessorDeps } from './context.ts';
import { withinAttemptTime } from './deadline.ts';
import { FINALIZED, StorageEventSchema, type StorageObject, StorageObjectSchema } from './event.ts';
import { giveUp, handle } from './handle.ts';
import { createImageRegistry, type ImageRegistration } from './images.ts';
import { createFirestoreLedger } from './ledger.ts';
import { isOwnObject } from './report.ts';
import { sleep } from './retry.ts';

export type { UploadLimits, UploadOutcome, UploadProcessorDeps } from './context.ts';

export interface UploadProcessor {
  /** Handles one CloudEvent (unchecked input). Throws only for errors a redelivery can fix. */
  process(event: unknown): Promise<UploadOutcome>;
}

const RELEASE_WAIT_MS = 3000;

/** The finalized upload an event is about, or why the event is ignored. */
function objectOf(ctx: UploadContext, event: unknown): StorageObject | UploadOutcome {
  const envelope = StorageEventSchema.safeParse(event);
  if (!envelope.success) return { status: 'ignored', reason: 'not a CloudEvent' };
  if (envelope.data.type !== FINALIZED) {
    return { status: 'ignored', reason: `event type ${envelope.data.type}` };
  }
  const parsed = StorageObjectSchema.safeParse(envelope.data.data);
  if (!parsed.success) {
    // A malformed event cannot get better by redelivery: log it and acknowledge.
    ctx.log?.error('invalid storage event data', { issues: parsed.error.issues, eventId: envelope.data.id });
    return { status: 'ignored', reason: 'invalid event data' };
  }
  const o = parsed.data;
  if (o.bucket !== ctx.deps.uploadsBucket) return { status: 'ignored', reason: `bucket ${o.bucket}` };
  if (isOwnObject(o.name)) return { status: 'ignored', reason: 'an object this function wrote' };
  return o;
}

/**
 * Marks a finished attempt done in the ledger, with what its report says; an image's registration goes in
 * the same commit.
 */
async function completed(
  ctx: UploadContext,
  o: StorageObject,
  attempt: number,
  outcome: ReportedOutcome,
  registration: ImageRegistration | undefined,
) {
  const key = { bucket: o.bucket, name: o.name, generation: o.generation };
  const { report } = outcome;
  const summary = {
    status: report.status,
    kind: report.kind,
    report: outcome.reportObject,
    rowsLoaded: report.rows?.loaded ?? null,
  };
  if (registration) await ctx.registry.register(registration, [ctx.ledger.completion(key, attempt, summary)]);
  else await ctx.ledger.complete(key, attempt, summary);
  ctx.log?.info('upload processed', {
    object: o.name,
    generation: o.generation,
    status: report.status,
    kind: report.kind,
    rows: report.rows,
    durationMs: report.durationMs,
  });
}

/** A failed attempt: the object gone, the last attempt given up, or the lease released and `err` rethrown. */
async function failed(
  ctx: UploadContext,
  o: StorageObject,
  attempt: number,
  err: unknown,
): Promise<UploadOutcome> {
  const key = { bucket: o.bucket, name: o.name, generation: o.generation };
  if ((err as { code?: unknown })?.code === 404) {
    // Deleted (or overwritten) before we read it: no redelivery can bring this generation back.
    await ctx.ledger.complete(key, attempt, { status: 'gone' });
    return { status: 'ignored', reason: 'the object generation no longer exists' };
  }
  // Rows a failed attempt wrote stay (every write is an idempotent upsert); the report says what to do.
  if (attempt >= ctx.maxAttempts) return await giveUp(ctx, o, attempt, err);
  ctx.log?.warn('upload processing failed; the event will be retried', { object: o.name, error: err });
  const release = ctx.ledger.release(key, attempt, String((err as Error)?.message ?? err));
  // Best effort: with Firestore down the lease simply runs out.
  await Promise.race([release.catch(() => {}), sleep(RELEASE_WAIT_MS)]);
  throw err;
}

/**
 * The ledger path: claims object `o`, runs one attempt at it, and records how that ended. The object's read
 * starts with the claim (it has no side effect; its stream buffers one chunk until read) and is dropped,
 * its request with it, unless the claim is ours.
 */
async function processObject(ctx: UploadContext, o: StorageObject): Promise<UploadOutcome> {
  const raw = ctx.deps.objects.read(o.bucket, o.name, o.generation);
  // An error before the attempt reads (the object gone) is thrown again to the reader; none if unclaimed.
  raw.on('error', () => {});
  raw.read(0);
  try {
    return await claimed(ctx, o, raw);
  } finally {
    raw.destroy();
  }
}

async function claimed(ctx: UploadContext, o: StorageObject, raw: Readable): Promise<UploadOutcome> {
  const key = { bucket: o.bucket, name: o.name, generation: o.generation };
  const claim = await ctx.ledger.claim(key);
  if (claim.status === 'done') {
    ctx.log?.info('duplicate delivery ignored', { object: o.name, generation: o.generation });
    return { status: 'duplicate', object: o.name, generation: o.generation };
  }
  if (claim.attempt > ctx.maxAttempts) {
    // The attempts so far ended without a word (a crash, a timeout, running out of memory): stop here.
    const crashed = new Error(
      `the previous ${claim.attempt - 1} attempts did not finish (crashed or timed out)`,
    );
    return giveUp(ctx, o, claim.attempt - 1, crashed);
  }
  try {
    const { outcome, registration } = await withinAttemptTime(
      ctx.attemptMs,
      `attempt ${claim.attempt}`,
      (signal) => handle(ctx, o, claim.attempt, raw, signal),
    );
    await completed(ctx, o, claim.attempt, outcome, registration);
    return outcome;
  } catch (err) {
    return await failed(ctx, o, claim.attempt, err);
  }
}

export function createUploadProcessor(deps: UploadProcessorDeps): UploadProcessor {
  const now = deps.now ?? Date.now;
  const ctx: UploadContext = {
    deps,
    now,
    ledger: deps.ledger ?? createFirestoreLedger(deps.documents, { leaseMs: deps.leaseMs, now }),
    registry: deps.registry ?? createImageRegistry(deps.documents),
    labels: lazy(async () => {
      if (deps.labels) return deps.labels;
      const { createFirestoreLabelRepo } = await import('../labels/firestore-repo.ts');
      return createFirestoreLabelRepo({
        firestore: deps.firestore,
        ...(deps.labelsCollection ? { collection: deps.labelsCollection } : {}),
      });
    }),
    log: deps.logger,
    maxAttempts: deps.maxAttempts ?? Number.POSITIVE_INFINITY,
    limits: {
      maxContentBytes: deps.limits?.maxContentBytes ?? MAX_CONTENT_BYTES,
      maxRows: deps.limits?.maxRows ?? MAX_UPLOAD_ROWS,
    },
    attemptMs: deps.attemptMs ?? deps.leaseMs,
  };
  return {
    async process(event) {
      const o = objectOf(ctx, event);
      return 'status' in o ? o : processObject(ctx, o);
    },
  };
}
