import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { giveUp, insertJob, type JobContext, jobRef, waitForJob } from './bigquery-jobs.ts';
import { type JobResource, loadJob, type TableRef } from './bigquery-rest.ts';
import type { CohortRows } from './rows.ts';
import { bigQueryTableSchema, type CohortTableId, IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import type { LoadCounts } from './store.ts';

export type StageRows = Iterable<CohortRows> | AsyncIterable<CohortRows>;

/** One stage: where its rows go, its operation, and the one deadline of the whole load. */
interface StageRun {
  c: JobContext;
  dest: Record<CohortTableId, TableRef>;
  operation: string;
  create: boolean;
  until: number;
}

/** One table's load job: the NDJSON stream it is fed by and the answer of its upload. */
interface Upload {
  stream: PassThrough;
  done: Promise<JobResource>;
  jobId: string;
}

/** Resolves `p`, or gives the job up (cancel, 503) when the deadline passes first. */
async function beforeDeadline<T>(s: StageRun, p: Promise<T>, jobId: string, what: string): Promise<T> {
  const timer = new AbortController();
  const late = Symbol('late');
  try {
    const r = await Promise.race([
      p,
      sleep(Math.max(0, s.until - s.c.now()), late, { ref: false, signal: timer.signal }).catch(() => p),
    ]);
    return r === late ? giveUp(s.c, jobId, what, s.c.loadDeadlineMs) : (r as T);
  } finally {
    timer.abort();
  }
}

/** Starts the load job of one table as a media upload of the stream it returns. */
function startUpload(s: StageRun, id: CohortTableId): Upload {
  const stream = new PassThrough();
  const table = id === IMAGES_TABLE ? 'images' : 'readers';
  const jobReference = jobRef(s.c, s.c.newJobId(`${s.operation}_${table}`));
  const job = loadJob(s.dest[id], bigQueryTableSchema(id), {
    jobReference,
    operation: s.operation,
    create: s.create,
  });
  const done = insertJob(s.c, jobReference.jobId, () => s.c.transport.upload(job, stream));
  // Rejections surface where the upload is awaited (writeLine, stageRows); never unhandled.
  done.catch(() => {});
  return { stream, done, jobId: jobReference.jobId };
}

/** Writes one NDJSON line, waiting (within the deadline) for the stream to drain when it is full. */
async function writeLine(s: StageRun, u: Upload, value: unknown): Promise<void> {
  if (!u.stream.write(`${JSON.stringify(value)}\n`)) {
    const drained = Promise.race([once(u.stream, 'drain'), u.done.then(() => {})]);
    await beforeDeadline(s, drained, u.jobId, `${s.operation} upload`);
  }
}

/**
 * Streams image rows and reader rows as NDJSON into two load jobs at once, with backpressure. The reader
 * upload starts at the first reader row, so `readers` is false when there were none.
 */
export async function stageRows(
  c: JobContext,
  rows: StageRows,
  dest: Record<CohortTableId, TableRef>,
  operation: string,
  create: boolean,
): Promise<{ counts: LoadCounts; readers: boolean }> {
  const seen = new Set<string>();
  const counts: LoadCounts = { images: 0, readers: 0 };
  // One deadline for the whole load: streaming the rows, the uploads and the load jobs.
  const s: StageRun = { c, dest, operation, create, until: c.now() + c.loadDeadlineMs };
  const images = startUpload(s, IMAGES_TABLE);
  let readers: Upload | null = null;
  try {
    for await (const r of rows) {
      if (seen.has(r.image.image_id)) {
        throw new Error(
          `image ${r.image.image_id} appears more than once in one load; each image once please`,
        );
      }
      seen.add(r.image.image_id);
      await writeLine(s, images, r.image);
      counts.images++;
      for (const rr of r.readers) {
        readers ??= startUpload(s, READERS_TABLE);
        await writeLine(s, readers, rr);
        counts.readers++;
      }
    }
  } catch (err) {
    images.stream.destroy(err as Error);
    readers?.stream.destroy(err as Error);
    throw err;
  }
  images.stream.end();
  readers?.stream.end();
  const uploads = [images, ...(readers ? [readers] : [])];
  for (const u of uploads) await beforeDeadline(s, u.done, u.jobId, `${operation} upload`);
  for (const u of uploads) await waitForJob(c, u.jobId, operation, s.until);
  return { counts, readers: readers !== null };
}
