import { mapBigQueryError } from './bigquery-errors.ts';
import { callBigQuery, giveUp, insertJob, type JobContext, jobRef } from './bigquery-jobs.ts';
import { jobsQueryRequest, type QueryResultsResponse, queryJob } from './bigquery-rest.ts';
import type { SqlParam } from './sql-dialect.ts';

/** One getQueryResults call of a job, held open by BigQuery for at most `timeoutMs`. */
export function queryResults(
  c: JobContext,
  jobId: string,
  extra: Record<string, string>,
  timeoutMs: number,
): Promise<QueryResultsResponse> {
  return callBigQuery<QueryResultsResponse>(() =>
    c.transport.request({
      method: 'GET',
      path: `/queries/${encodeURIComponent(jobId)}`,
      query: { location: c.location, timeoutMs: String(timeoutMs), ...extra },
      timeoutMs: timeoutMs + 10_000,
    }),
  );
}

/** Long-polls getQueryResults until the job completes or the deadline passes (then cancels it). */
async function poll(
  c: JobContext,
  jobId: string,
  maxResults: number,
  what: string,
  until: number,
  limit: number,
): Promise<QueryResultsResponse> {
  for (;;) {
    const left = until - c.now();
    if (left <= 0) return giveUp(c, jobId, what, limit);
    const timeoutMs = Math.min(c.pollTimeoutMs, left);
    const res = await queryResults(c, jobId, { maxResults: String(maxResults) }, timeoutMs);
    if (res.jobComplete) return res;
  }
}

/**
 * A short query (page, summary, counts) through jobs.query with JOB_CREATION_OPTIONAL: one round trip
 * and no job when BigQuery answers at once; a job to poll (and cancel) when it does not.
 */
export async function runShort(
  c: JobContext,
  sql: string,
  params: Record<string, SqlParam>,
  operation: string,
  maxResults: number,
): Promise<QueryResultsResponse> {
  const until = c.now() + c.deadlineMs;
  const timeoutMs = Math.min(c.pollTimeoutMs, c.deadlineMs);
  const body = jobsQueryRequest(sql, params, {
    maximumBytesBilled: c.maximumBytesBilled,
    operation,
    location: c.location,
    maxResults,
    timeoutMs,
    requestId: c.newRequestId(),
  });
  // Hand-built jobs.query: the library's query() drops the job it created on timeout, so none could be cancelled.
  const res = await callBigQuery<QueryResultsResponse>(() =>
    c.transport.request({ method: 'POST', path: '/queries', body, timeoutMs: timeoutMs + 10_000 }),
  );
  if (res.jobComplete) return res;
  const jobId = res.jobReference?.jobId;
  if (!jobId) throw mapBigQueryError({ code: 502, message: 'jobs.query answered neither rows nor a job' });
  return poll(c, jobId, maxResults, operation, until, c.deadlineMs);
}

/** Inserts a query job (export, merge script) and waits for its first page of results. */
export async function runQueryJob(
  c: JobContext,
  sql: string,
  params: Record<string, SqlParam>,
  operation: string,
  maxResults: number,
  limit = c.deadlineMs,
): Promise<{ jobId: string; res: QueryResultsResponse }> {
  const until = c.now() + limit;
  const jobReference = jobRef(c, c.newJobId(operation));
  const body = queryJob(sql, params, { jobReference, maximumBytesBilled: c.maximumBytesBilled, operation });
  // Hand-built jobs.insert: the library's createJob turns a 409 into an error for a job id we chose.
  await insertJob(c, jobReference.jobId, () => c.transport.request({ method: 'POST', path: '/jobs', body }));
  const res = await poll(c, jobReference.jobId, maxResults, operation, until, limit);
  return { jobId: jobReference.jobId, res };
}
