import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceUnavailableError } from '../http/errors.ts';
import { mapBigQueryError } from './bigquery-errors.ts';
import type { JobReference, JobResource } from './bigquery-rest.ts';
import type { BigQueryErrorLike, BigQueryTransport } from './bigquery-transport.ts';

/**
 * BigQuery jobs for the cohort store, each wait with a deadline: short queries through jobs.query
 * (JOB_CREATION_OPTIONAL), other queries and scripts through jobs.insert with our own job id (a 409 on a
 * retried insert is success), long-polls capped by what is left of the deadline, and past it jobs.cancel
 * and a 503 with Retry-After.
 */
export interface JobOptions {
  transport: BigQueryTransport;
  projectId: string;
  location: string;
  maximumBytesBilled: number;
  newJobId?: ((operation: string) => string) | undefined;
  newRequestId?: (() => string) | undefined;
  pollTimeoutMs?: number | undefined;
  deadlineMs?: number | undefined;
  loadDeadlineMs?: number | undefined;
  loadPollMs?: number | undefined;
  now?: (() => number) | undefined;
}

/** The job options with their defaults filled in: the explicit context every job helper takes first. */
export interface JobContext {
  transport: BigQueryTransport;
  projectId: string;
  location: string;
  maximumBytesBilled: number;
  newJobId: (operation: string) => string;
  newRequestId: () => string;
  now: () => number;
  /** Long-poll of one jobs.query / getQueryResults call. */
  pollTimeoutMs: number;
  /** Deadline of a query. */
  deadlineMs: number;
  /** Deadline of a load or upsert. */
  loadDeadlineMs: number;
  /** Pause between jobs.get polls of a load job. */
  loadPollMs: number;
}

export function jobContext(o: JobOptions): JobContext {
  return {
    transport: o.transport,
    projectId: o.projectId,
    location: o.location,
    maximumBytesBilled: o.maximumBytesBilled,
    newJobId: o.newJobId ?? ((op: string) => `nihcxr_cohorts_${op}_${randomUUID()}`),
    newRequestId: o.newRequestId ?? (() => randomUUID()),
    now: o.now ?? Date.now,
    pollTimeoutMs: o.pollTimeoutMs ?? 10_000,
    deadlineMs: o.deadlineMs ?? 60_000,
    loadDeadlineMs: o.loadDeadlineMs ?? 480_000,
    loadPollMs: o.loadPollMs ?? 1000,
  };
}

/** Seconds a caller should wait after a cancelled job before retrying. */
export const RETRY_AFTER_SECONDS = 30;

export const isAlreadyExists = (err: unknown) => (err as BigQueryErrorLike | null)?.code === 409;

export const jobRef = (c: JobContext, jobId: string): JobReference => ({
  projectId: c.projectId,
  jobId,
  location: c.location,
});

/** Runs one REST call, turning its failure into the store's errors (mapBigQueryError). */
export async function callBigQuery<T>(fn: () => Promise<unknown>): Promise<T> {
  try {
    return (await fn()) as T;
  } catch (err) {
    throw mapBigQueryError(err);
  }
}

export function failIfErrored(job: JobResource): void {
  if (job.status?.errorResult) throw mapBigQueryError({ errors: [job.status.errorResult] });
}

function getJob(c: JobContext, jobId: string): Promise<JobResource> {
  return callBigQuery<JobResource>(() =>
    c.transport.request({
      method: 'GET',
      path: `/jobs/${encodeURIComponent(jobId)}`,
      query: { location: c.location },
    }),
  );
}

/**
 * jobs.insert (or a media upload) of a job with our own id. A 409 means an earlier attempt of this very
 * request (the client retries inserts that failed in transit) already created the job: that is success,
 * and the job is fetched instead.
 */
export async function insertJob(
  c: JobContext,
  jobId: string,
  send: () => Promise<unknown>,
): Promise<JobResource> {
  let job: JobResource;
  try {
    job = (await send()) as JobResource;
  } catch (err) {
    if (!isAlreadyExists(err)) throw mapBigQueryError(err);
    job = await getJob(c, jobId);
  }
  failIfErrored(job);
  return job;
}

/** Cancels a job that outlived its deadline (best effort) and answers 503 with Retry-After. */
export async function giveUp(
  c: JobContext,
  jobId: string | undefined,
  what: string,
  ms: number,
): Promise<never> {
  if (jobId) {
    // jobs.cancel as Job.cancel() sends it, through the transport seam that the tests replay.
    await c.transport
      .request({
        method: 'POST',
        path: `/jobs/${encodeURIComponent(jobId)}/cancel`,
        query: { location: c.location },
        timeoutMs: 10_000,
      })
      .catch(() => {}); // the 503 stands whether or not the cancel got through
  }
  throw new ServiceUnavailableError(
    `The cohort store (BigQuery) did not finish the ${what} within ${Math.round(ms / 1000)} s; it was cancelled, retry shortly.`,
    { retryAfterSeconds: RETRY_AFTER_SECONDS },
  );
}

/** Polls jobs.get until a (load) job is done; past `until` gives it up against the load deadline. */
export async function waitForJob(
  c: JobContext,
  jobId: string,
  what: string,
  until: number,
): Promise<JobResource> {
  for (;;) {
    const job = await getJob(c, jobId);
    failIfErrored(job);
    if (job.status?.state === 'DONE') return job;
    if (c.now() >= until) return giveUp(c, jobId, what, c.loadDeadlineMs);
    await sleep(c.loadPollMs);
  }
}
