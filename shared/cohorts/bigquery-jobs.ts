import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceUnavailableError } from '../http/errors.ts';
import { mapBigQueryError } from './bigquery-errors.ts';
import {
  type JobReference,
  type JobResource,
  jobsQueryRequest,
  type QueryResultsResponse,
  queryJob,
} from './bigquery-rest.ts';
import type { BigQueryErrorLike, BigQueryTransport } from './bigquery-transport.ts';
import type { SqlParam } from './sql-dialect.ts';

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

/** Seconds a caller should wait after a cancelled job before retrying. */
export const RETRY_AFTER_SECONDS = 30;

export const isAlreadyExists = (err: unknown) => (err as BigQueryErrorLike | null)?.code === 409;

export function bigQueryJobs(o: JobOptions) {
  const t = o.transport;
  const newJobId = o.newJobId ?? ((op: string) => `nihcxr_cohorts_${op}_${randomUUID()}`);
  const newRequestId = o.newRequestId ?? (() => randomUUID());
  const now = o.now ?? Date.now;
  const pollTimeoutMs = o.pollTimeoutMs ?? 10_000;
  const deadlineMs = o.deadlineMs ?? 60_000;
  const loadDeadlineMs = o.loadDeadlineMs ?? 480_000;
  const ref = (jobId: string): JobReference => ({ projectId: o.projectId, jobId, location: o.location });
  const call = async <T>(fn: () => Promise<unknown>): Promise<T> => {
    try {
      return (await fn()) as T;
    } catch (err) {
      throw mapBigQueryError(err);
    }
  };
  const failIfErrored = (job: JobResource) => {
    if (job.status?.errorResult) throw mapBigQueryError({ errors: [job.status.errorResult] });
  };
  const getJob = (jobId: string) =>
    call<JobResource>(() =>
      t.request({
        method: 'GET',
        path: `/jobs/${encodeURIComponent(jobId)}`,
        query: { location: o.location },
      }),
    );

  /**
   * jobs.insert (or a media upload) of a job with our own id. A 409 means an earlier attempt of this very
   * request (the client retries inserts that failed in transit) already created the job: that is success,
   * and the job is fetched instead.
   */
  async function insertJob(jobId: string, send: () => Promise<unknown>): Promise<JobResource> {
    let job: JobResource;
    try {
      job = (await send()) as JobResource;
    } catch (err) {
      if (!isAlreadyExists(err)) throw mapBigQueryError(err);
      job = await getJob(jobId);
    }
    failIfErrored(job);
    return job;
  }

  /** Cancels a job that outlived its deadline (best effort) and answers 503 with Retry-After. */
  async function giveUp(jobId: string | undefined, what: string, ms: number): Promise<never> {
    if (jobId) {
      // jobs.cancel as Job.cancel() sends it, through the transport seam that the tests replay.
      await t
        .request({
          method: 'POST',
          path: `/jobs/${encodeURIComponent(jobId)}/cancel`,
          query: { location: o.location },
          timeoutMs: 10_000,
        })
        .catch(() => {}); // the 503 stands whether or not the cancel got through
    }
    throw new ServiceUnavailableError(
      `The cohort store (BigQuery) did not finish the ${what} within ${Math.round(ms / 1000)} s; it was cancelled, retry shortly.`,
      { retryAfterSeconds: RETRY_AFTER_SECONDS },
    );
  }

  const results = (jobId: string, extra: Record<string, string>, timeoutMs: number) =>
    call<QueryResultsResponse>(() =>
      t.request({
        method: 'GET',
        path: `/queries/${encodeURIComponent(jobId)}`,
        query: { location: o.location, timeoutMs: String(timeoutMs), ...extra },
        timeoutMs: timeoutMs + 10_000,
      }),
    );

  /** Long-polls getQueryResults until the job completes or the deadline passes (then cancels it). */
  async function poll(jobId: string, maxResults: number, what: string, until: number, limit: number) {
    for (;;) {
      const left = until - now();
      if (left <= 0) return giveUp(jobId, what, limit);
      const res = await results(jobId, { maxResults: String(maxResults) }, Math.min(pollTimeoutMs, left));
      if (res.jobComplete) return res;
    }
  }

  /**
   * A short query (page, summary, counts) through jobs.query with JOB_CREATION_OPTIONAL: one round trip
   * and no job when BigQuery answers at once; a job to poll (and cancel) when it does not.
   */
  async function runShort(
    sql: string,
    params: Record<string, SqlParam>,
    operation: string,
    maxResults: number,
  ) {
    const until = now() + deadlineMs;
    const timeoutMs = Math.min(pollTimeoutMs, deadlineMs);
    const body = jobsQueryRequest(sql, params, {
      maximumBytesBilled: o.maximumBytesBilled,
      operation,
      location: o.location,
      maxResults,
      timeoutMs,
      requestId: newRequestId(),
    });
    // Hand-built jobs.query: the library's query() drops the job it created on timeout, so none could be cancelled.
    const res = await call<QueryResultsResponse>(() =>
      t.request({ method: 'POST', path: '/queries', body, timeoutMs: timeoutMs + 10_000 }),
    );
    if (res.jobComplete) return res;
    const jobId = res.jobReference?.jobId;
    if (!jobId) throw mapBigQueryError({ code: 502, message: 'jobs.query answered neither rows nor a job' });
    return poll(jobId, maxResults, operation, until, deadlineMs);
  }

  /** Inserts a query job (export, merge script) and waits for its first page of results. */
  async function run(
    sql: string,
    params: Record<string, SqlParam>,
    operation: string,
    maxResults: number,
    limit = deadlineMs,
  ) {
    const until = now() + limit;
    const jobReference = ref(newJobId(operation));
    const body = queryJob(sql, params, { jobReference, maximumBytesBilled: o.maximumBytesBilled, operation });
    // Hand-built jobs.insert: the library's createJob turns a 409 into an error for a job id we chose.
    await insertJob(jobReference.jobId, () => t.request({ method: 'POST', path: '/jobs', body }));
    const res = await poll(jobReference.jobId, maxResults, operation, until, limit);
    return { jobId: jobReference.jobId, res };
  }

  async function waitForJob(jobId: string, what: string, until: number): Promise<JobResource> {
    for (;;) {
      const job = await getJob(jobId);
      failIfErrored(job);
      if (job.status?.state === 'DONE') return job;
      if (now() >= until) return giveUp(jobId, what, loadDeadlineMs);
      await sleep(o.loadPollMs ?? 1000);
    }
  }

  return {
    call,
    ref,
    newJobId,
    newRequestId,
    now,
    loadDeadlineMs,
    pollTimeoutMs,
    deadlineMs,
    failIfErrored,
    insertJob,
    giveUp,
    results,
    runShort,
    run,
    waitForJob,
  };
}
