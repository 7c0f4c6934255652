/**
 * The use case behind the `processUpload` CloudEvent function (and the local server): one finalized object
 * in, at most one load and one report out, whatever the number of deliveries.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Storage } from '@google-cloud/storage';
import type { CohortStore } from '../cohorts/store.ts';
import { splitFromFileName } from '../dataset/load-dir.ts';
import { identityFromInfo } from '../dicom/identity.ts';
import { recordUploadedDicom } from '../dicom/record.ts';
import type { LabelRepo } from '../labels/repo.ts';
import type { Logger } from '../log.ts';
import type { DicomIdentity, Split } from '../model/index.ts';
import { ByteTap, capped, MAX_CONTENT_BYTES } from './bytes.ts';
import { contentFault, isInputError, isTransient, UploadRejection } from './errors.ts';
import { FINALIZED, StorageEventSchema, type StorageObject, StorageObjectSchema } from './event.ts';
import { createImageRegistry, type ImageInspection, type ImageRegistry, inspectImage } from './images.ts';
import { type LabelLoadResult, loadLabelFile, MAX_UPLOAD_ROWS } from './label-load.ts';
import { createFirestoreLedger, type Ledger } from './ledger.ts';
import {
  failedReport,
  fallbackReportName,
  isOwnObject,
  objectSummary,
  quarantineName,
  reportName,
  type UploadReport,
  type UploadStatus,
} from './report.ts';
import { type Sniffed, sniffContent } from './sniff.ts';
import { createSplitTable, type SplitTable } from './splits.ts';

export interface UploadProcessorDeps {
  storage: Storage;
  firestore: () => Firestore;
  labels: LabelRepo;
  /** Created on first use: image uploads never open the cohort store. */
  cohorts: () => CohortStore | Promise<CohortStore>;
  uploadsBucket: string;
  /** Firestore ramp-up throttling for label writes: true in production, false on the emulator. */
  throttle: boolean;
  /** How long an attempt owns an object before a redelivery may take over (> the function timeout). */
  leaseMs: number;
  /** The attempt that fails with this number gives up: a `failed` report, and the event is acknowledged. */
  maxAttempts?: number;
  labelsCollection?: string;
  now?: () => number;
  logger?: Logger;
  ledger?: Ledger;
  registry?: ImageRegistry;
  splits?: SplitTable;
  limits?: Partial<UploadLimits>;
}

/** Per-upload limits; past either one the upload is rejected as a whole. */
export interface UploadLimits {
  /** Bytes of a label file's content, or of any gzip upload's content, after decompression. */
  maxContentBytes: number;
  /** Data rows of a label file. */
  maxRows: number;
}

type ReportedOutcome = { status: UploadStatus; report: UploadReport; reportObject: string };
export type UploadOutcome =
  | { status: 'ignored'; reason: string }
  | { status: 'duplicate'; object: string; generation: string }
  | ReportedOutcome;

export interface UploadProcessor {
  /** Handles one CloudEvent (unchecked input). Throws only for errors a redelivery can fix. */
  process(event: unknown): Promise<UploadOutcome>;
}

const RELEASE_WAIT_MS = 3000;

/**
 * Retries a Cloud Storage write a few times on a connection reset or a 429/5xx: both writes here (the
 * quarantine copy, the report) overwrite with identical content, so repeating them is safe.
 */
async function retried<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || i >= attempts) throw err;
      await sleep(100 * i);
    }
  }
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

interface Work {
  sniffed: Sniffed | undefined;
  labels: LabelLoadResult | undefined;
  image: ImageInspection | undefined;
  /** The DICOM identity of a DICOM upload (its UIDs checked as UI strings). */
  identity: DicomIdentity | undefined;
  rejection: UploadRejection | undefined;
}

/** An image list's split: object metadata `split`, else its file name as the bulk loader reads it. */
function listSplit(o: StorageObject): Split {
  const m = o.metadata?.split;
  if (m === 'train_val' || m === 'test') return m;
  const s = splitFromFileName(o.name);
  if (s) return s;
  throw new UploadRejection(
    'an image list needs its split: name it train_val_list*.txt or test_list*.txt, or set object metadata split=train_val|test',
  );
}

export function createUploadProcessor(deps: UploadProcessorDeps): UploadProcessor {
  const now = deps.now ?? Date.now;
  const ledger = deps.ledger ?? createFirestoreLedger(deps.firestore, { leaseMs: deps.leaseMs, now });
  const registry = deps.registry ?? createImageRegistry(deps.firestore);
  const splits = deps.splits ?? createSplitTable(deps.firestore);
  const log = deps.logger;
  const maxAttempts = deps.maxAttempts ?? Number.POSITIVE_INFINITY;
  const limits: UploadLimits = {
    maxContentBytes: deps.limits?.maxContentBytes ?? MAX_CONTENT_BYTES,
    maxRows: deps.limits?.maxRows ?? MAX_UPLOAD_ROWS,
  };

  async function work(o: StorageObject, tap: ByteTap): Promise<Work> {
    const w: Work = {
      sniffed: undefined,
      labels: undefined,
      image: undefined,
      identity: undefined,
      rejection: undefined,
    };
    const file = deps.storage.bucket(o.bucket).file(o.name, { generation: Number(o.generation) });
    const raw = file.createReadStream();
    // Until the label loader takes over, every error but a transport fault is the content's doing.
    let reading = true;
    try {
      const { sniffed, content: whole } = await sniffContent(tap.wrap(raw));
      w.sniffed = sniffed;
      const what = sniffed.gzip ? 'the decompressed content' : 'the object';
      const content =
        sniffed.kind === 'labels' || sniffed.gzip ? capped(whole, limits.maxContentBytes, what) : whole;
      if (sniffed.kind === 'labels') {
        const split = sniffed.fileKind === 'image_list' ? listSplit(o) : undefined;
        reading = false;
        const cohorts = await deps.cohorts();
        w.labels = await loadLabelFile(
          content,
          { split, maxRows: limits.maxRows },
          {
            firestore: deps.firestore,
            labels: deps.labels,
            cohorts,
            splits,
            throttle: deps.throttle,
            ...(deps.labelsCollection ? { collection: deps.labelsCollection } : {}),
          },
        );
      } else {
        w.image = await inspectImage(sniffed.kind, content);
        if (w.image.dicom) {
          const id = identityFromInfo(w.image.dicom);
          if ('reason' in id) throw new UploadRejection(`invalid DICOM: ${id.reason}`);
          w.identity = id;
        }
      }
    } catch (caught) {
      const err = reading ? contentFault(caught) : caught;
      if (!isInputError(err)) throw err;
      w.rejection =
        err instanceof UploadRejection ? err : new UploadRejection(err.message, undefined, { cause: err });
    } finally {
      raw.destroy();
    }
    return w;
  }

  function statusOf(w: Work): UploadStatus {
    if (w.rejection) return 'rejected';
    if (w.image) return 'registered';
    // A label file none of whose rows could be loaded is rejected as a whole.
    if (w.labels && w.labels.rows.loaded === 0 && w.labels.rows.rejected > 0) return 'rejected';
    return 'loaded';
  }

  async function handle(o: StorageObject, attempt: number): Promise<UploadOutcome> {
    const started = now();
    const tap = new ByteTap();
    const w = await work(o, tap);
    const sha256 = tap.sha256();
    const status = statusOf(w);
    if (w.image && sha256) {
      await registry.register({
        ...w.image,
        bucket: o.bucket,
        name: o.name,
        generation: o.generation,
        size: o.size,
        gzip: w.sniffed?.gzip ?? false,
        contentType: o.contentType ?? null,
        md5Hash: o.md5Hash ?? null,
        crc32c: o.crc32c ?? null,
        sha256,
        registeredAt: new Date(now()).toISOString(),
      });
    }
    const dicomRecord = w.identity ? await recordUploadedDicom(o.name, w.identity, deps) : undefined;
    const bucket = deps.storage.bucket(o.bucket);
    let quarantine: string | null = null;
    if (status === 'rejected') {
      quarantine = quarantineName(o.name);
      const source = bucket.file(o.name, { generation: Number(o.generation) });
      const target = bucket.file(quarantine);
      await retried(() => source.copy(target));
    }
    const finished = now();
    const report: UploadReport = {
      object: objectSummary(o, sha256),
      status,
      kind: w.sniffed ? (w.sniffed.kind === 'labels' ? w.sniffed.fileKind : w.sniffed.kind) : null,
      gzip: w.sniffed?.gzip ?? false,
      reason: w.rejection?.message ?? (status === 'rejected' ? 'no row of the file could be loaded' : null),
      offset: w.rejection?.offset ?? null,
      lines: w.labels?.lines ?? null,
      rows: w.labels?.rows ?? null,
      images: w.labels?.images ?? null,
      cohortRows: w.labels?.cohortRows ?? null,
      rejected: w.labels?.rejected.list ?? [],
      rejectedTotal: w.labels?.rejected.count ?? 0,
      warnings: w.labels?.warnings.list ?? [],
      warningsTotal: w.labels?.warnings.count ?? 0,
      image: w.image ?? null,
      ...(dicomRecord ? { dicomRecord } : {}),
      quarantine,
      attempt,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
    };
    return { status, report, reportObject: await saveReport(o, report) };
  }

  /**
   * Writes `reports/<object>.json` (an overwrite with the same content if repeated), or a bounded name
   * derived from the object's (reportName); if Storage refuses that name for good, the report goes to
   * `reports/_by-hash/<sha256>.json` instead. Returns the name written. Transient errors still throw.
   */
  async function saveReport(o: StorageObject, report: UploadReport): Promise<string> {
    const body = `${JSON.stringify(report, null, 2)}\n`;
    const save = async (name: string) => {
      const file = deps.storage.bucket(o.bucket).file(name);
      await retried(() => file.save(body, { resumable: false, contentType: 'application/json' }));
      return name;
    };
    try {
      return await save(reportName(o.name));
    } catch (err) {
      if (isTransient(err)) throw err;
      log?.warn('report refused under its derived name; writing it under the name hash', {
        object: o.name,
        err,
      });
      return save(fallbackReportName(o.name));
    }
  }

  /**
   * Gives the upload up after maxAttempts: a `failed` report, the ledger marked done, the event acknowledged.
   * A report that cannot be written at all does not stop it: giving up must not fail the way the attempts did.
   */
  async function giveUp(o: StorageObject, attempt: number, err: unknown): Promise<ReportedOutcome> {
    const report = failedReport(o, attempt, String((err as Error)?.message ?? err), now());
    let name: string;
    try {
      name = await saveReport(o, report);
    } catch (saveErr) {
      name = '';
      log?.error('the failed report could not be written', { object: o.name, err: saveErr });
    }
    const key = { bucket: o.bucket, name: o.name, generation: o.generation };
    await ledger.complete(key, attempt, { status: 'failed', report: name || null });
    log?.error('upload given up after repeated failures', {
      object: o.name,
      generation: o.generation,
      attempts: attempt,
      err,
    });
    return { status: 'failed', report, reportObject: name };
  }

  return {
    async process(event) {
      const envelope = StorageEventSchema.safeParse(event);
      if (!envelope.success) return { status: 'ignored', reason: 'not a CloudEvent' };
      if (envelope.data.type !== FINALIZED) {
        return { status: 'ignored', reason: `event type ${envelope.data.type}` };
      }
      const parsed = StorageObjectSchema.safeParse(envelope.data.data);
      if (!parsed.success) {
        // A malformed event cannot get better by redelivery: log it and acknowledge.
        log?.error('invalid storage event data', { issues: parsed.error.issues, eventId: envelope.data.id });
        return { status: 'ignored', reason: 'invalid event data' };
      }
      const o = parsed.data;
      if (o.bucket !== deps.uploadsBucket) return { status: 'ignored', reason: `bucket ${o.bucket}` };
      if (isOwnObject(o.name)) return { status: 'ignored', reason: 'an object this function wrote' };

      const key = { bucket: o.bucket, name: o.name, generation: o.generation };
      const claim = await ledger.claim(key);
      if (claim.status === 'done') {
        log?.info('duplicate delivery ignored', { object: o.name, generation: o.generation });
        return { status: 'duplicate', object: o.name, generation: o.generation };
      }
      if (claim.attempt > maxAttempts) {
        // The attempts so far ended without a word (a crash, a timeout, running out of memory): stop here.
        const crashed = new Error(
          `the previous ${claim.attempt - 1} attempts did not finish (crashed or timed out)`,
        );
        return giveUp(o, claim.attempt - 1, crashed);
      }
      try {
        const outcome = await handle(o, claim.attempt);
        if ('report' in outcome) {
          const { report } = outcome;
          await ledger.complete(key, claim.attempt, {
            status: report.status,
            kind: report.kind,
            report: outcome.reportObject,
            rowsLoaded: report.rows?.loaded ?? null,
          });
          log?.info('upload processed', {
            object: o.name,
            generation: o.generation,
            status: report.status,
            kind: report.kind,
            rows: report.rows,
            durationMs: report.durationMs,
          });
        }
        return outcome;
      } catch (err) {
        if ((err as { code?: unknown })?.code === 404) {
          // Deleted (or overwritten) before we read it: no redelivery can bring this generation back.
          await ledger.complete(key, claim.attempt, { status: 'gone' });
          return { status: 'ignored', reason: 'the object generation no longer exists' };
        }
        // Rows a failed attempt wrote stay (every write is an idempotent upsert); the report says what to do.
        if (claim.attempt >= maxAttempts) return await giveUp(o, claim.attempt, err);
        log?.warn('upload processing failed; the event will be retried', { object: o.name, error: err });
        const release = ledger.release(key, claim.attempt, String((err as Error)?.message ?? err));
        // Best effort: with Firestore down the lease simply runs out.
        await Promise.race([release.catch(() => {}), sleep(RELEASE_WAIT_MS)]);
        throw err;
      }
    },
  };
}
