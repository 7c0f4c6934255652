import type { Readable } from 'node:stream';

export interface RestRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Relative to `/bigquery/v2/projects/{projectId}`, e.g. `/jobs` or `/queries/{jobId}`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Client-side limit of this one HTTP call (ms), so that no call outlives the wait it belongs to. */
  timeoutMs?: number;
}

/**
 * The narrow seam between the BigQuery cohort store and the network. Production sends BigQuery REST v2
 * over HTTPS (restTransport in bigquery-http.ts: auth, retries, user agent); tests pass recorded REST
 * responses or the ZetaSQL stand-in.
 */
export interface BigQueryTransport {
  request(req: RestRequest): Promise<unknown>;
  /** jobs.insert with media upload (multipart): `job` is the Job resource, `data` the NDJSON body. */
  upload(job: unknown, data: Readable): Promise<unknown>;
}

/** A REST error as the transport reports it: HTTP status and BigQuery's error reasons. */
export interface BigQueryErrorLike {
  code?: number;
  message?: string;
  errors?: { reason?: string; message?: string }[];
}
