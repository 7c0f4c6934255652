/**
 * One attempt at one upload (handle): read it, record a DICOM upload, quarantine a rejected object and write
 * the report, and say what image to register (the caller commits it with the ledger's "done", after the
 * report: processor.ts); and the give-up path once the attempts run out (giveUp).
 */
import type { Readable } from 'node:stream';
import type { recordUploadedDicom } from '../dicom/record.ts';
import { ByteTap } from './bytes.ts';
import type { ReportedOutcome, UploadContext } from './context.ts';
import { isTransient } from './errors.ts';
import type { StorageObject } from './event.ts';
import type { ImageRegistration } from './images.ts';
import {
  failedReport,
  fallbackReportName,
  objectSummary,
  quarantineName,
  reportName,
  type UploadReport,
  type UploadStatus,
} from './report.ts';
import { retried } from './retry.ts';
import { statusOf, type Work, work } from './work.ts';

/** The registration of an image upload (when its content was read whole: a sha256 is known). */
function registration(
  ctx: UploadContext,
  o: StorageObject,
  w: Work,
  sha256: string | undefined,
): ImageRegistration | undefined {
  if (!w.image || !sha256) return undefined;
  return {
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
    registeredAt: new Date(ctx.now()).toISOString(),
  };
}

/** Records a DICOM upload against its image; its modules load with the first DICOM upload (issue 15). */
async function recordDicom(
  ctx: UploadContext,
  o: StorageObject,
  identity: NonNullable<Work['identity']>,
): ReturnType<typeof recordUploadedDicom> {
  const [{ recordUploadedDicom: record }, labels] = await Promise.all([
    import('../dicom/record.ts'),
    ctx.labels(),
  ]);
  return record(o.name, identity, { ...ctx.deps, labels });
}

/** Copies a rejected object to quarantine/; returns the copy's name, or null when there is none. */
async function quarantine(
  ctx: UploadContext,
  o: StorageObject,
  status: UploadStatus,
): Promise<string | null> {
  if (status !== 'rejected') return null;
  const name = quarantineName(o.name);
  await retried(() => ctx.deps.objects.copy(o.bucket, o.name, o.generation, name));
  return name;
}

interface ReportFacts {
  o: StorageObject;
  w: Work;
  sha256: string | undefined;
  status: UploadStatus;
  dicomRecord: Awaited<ReturnType<typeof recordUploadedDicom>> | undefined;
  quarantine: string | null;
  attempt: number;
  started: number;
  finished: number;
}

function buildReport(f: ReportFacts): UploadReport {
  const { w, status } = f;
  return {
    object: objectSummary(f.o, f.sha256),
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
    ...(f.dicomRecord ? { dicomRecord: f.dicomRecord } : {}),
    quarantine: f.quarantine,
    attempt: f.attempt,
    startedAt: new Date(f.started).toISOString(),
    finishedAt: new Date(f.finished).toISOString(),
    durationMs: f.finished - f.started,
  };
}

/** What an attempt did: its outcome (the report written), and the image to register, if any. */
export interface Attempted {
  outcome: ReportedOutcome;
  registration: ImageRegistration | undefined;
}

/**
 * One attempt at object `o` (its bytes from `raw`): everything but the ledger and the image registry. Once
 * `signal` aborts (the attempt ran out of time) it starts no further write: a late attempt must not overwrite
 * the report of the one after it.
 */
export async function handle(
  ctx: UploadContext,
  o: StorageObject,
  attempt: number,
  raw: Readable,
  signal: AbortSignal,
): Promise<Attempted> {
  const started = ctx.now();
  const tap = new ByteTap();
  const w = await work(ctx, o, raw, tap, signal);
  const sha256 = tap.sha256();
  const status = statusOf(w);
  signal.throwIfAborted();
  const dicomRecord = w.identity ? await recordDicom(ctx, o, w.identity) : undefined;
  signal.throwIfAborted();
  const quarantined = await quarantine(ctx, o, status);
  const finished = ctx.now();
  const report = buildReport({
    o,
    w,
    sha256,
    status,
    dicomRecord,
    quarantine: quarantined,
    attempt,
    started,
    finished,
  });
  signal.throwIfAborted();
  const reportObject = await saveReport(ctx, o, report);
  return { outcome: { status, report, reportObject }, registration: registration(ctx, o, w, sha256) };
}

/**
 * Writes `reports/<object>.json` (an overwrite with the same content if repeated), or a bounded name
 * derived from the object's (reportName); if Storage refuses that name for good, the report goes to
 * `reports/_by-hash/<sha256>.json` instead. Returns the name written. Transient errors still throw.
 */
async function saveReport(ctx: UploadContext, o: StorageObject, report: UploadReport): Promise<string> {
  const body = `${JSON.stringify(report, null, 2)}\n`;
  const save = async (name: string) => {
    await retried(() => ctx.deps.objects.save(o.bucket, name, body, 'application/json'));
    return name;
  };
  try {
    return await save(reportName(o.name));
  } catch (err) {
    if (isTransient(err)) throw err;
    ctx.log?.warn('report refused under its derived name; writing it under the name hash', {
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
export async function giveUp(
  ctx: UploadContext,
  o: StorageObject,
  attempt: number,
  err: unknown,
): Promise<ReportedOutcome> {
  const report = failedReport(o, attempt, String((err as Error)?.message ?? err), ctx.now());
  let name: string;
  try {
    name = await saveReport(ctx, o, report);
  } catch (saveErr) {
    name = '';
    ctx.log?.error('the failed report could not be written', { object: o.name, err: saveErr });
  }
  const key = { bucket: o.bucket, name: o.name, generation: o.generation };
  await ctx.ledger.complete(key, attempt, { status: 'failed', report: name || null });
  ctx.log?.error('upload given up after repeated failures', {
    object: o.name,
    generation: o.generation,
    attempts: attempt,
    err,
  });
  return { status: 'failed', report, reportObject: name };
}
