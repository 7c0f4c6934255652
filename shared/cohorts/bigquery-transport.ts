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
 * The narrow seam between the BigQuery cohort store and the network. Production wraps the
 * @google-cloud/bigquery client (auth, retries, user agent); tests pass recorded REST responses.
 */
export interface BigQueryTransport {
  request(req: RestRequest): Promise<unknown>;
  /** jobs.insert with media upload (multipart): `job` is the Job resource, `data` the NDJSON body. */
  upload(job: unknown, data: Readable): Promise<unknown>;
}

/** A REST error as the client reports it: HTTP status and BigQuery's error reasons. */
export interface BigQueryErrorLike {
  code?: number;
  message?: string;
  errors?: { reason?: string; message?: string }[];
}

/** The part of the @google-cloud/bigquery client the transport uses (Service.request of google-cloud/common). */
export interface BigQueryServiceLike {
  apiEndpoint: string;
  request(
    reqOpts: {
      method: string;
      uri: string;
      qs?: Record<string, string>;
      json?: unknown;
      multipart?: unknown[];
      timeout?: number;
      maxRetries?: number;
    },
    callback: (err: Error | null, body?: unknown) => void,
  ): void;
}

/** The production transport: every call goes through the one BigQuery client of this instance. */
export function clientTransport(client: BigQueryServiceLike, projectId: string): BigQueryTransport {
  const call = (opts: Parameters<BigQueryServiceLike['request']>[0]) =>
    new Promise<unknown>((resolve, reject) => {
      client.request(opts, (err, body) => (err ? reject(err) : resolve(body)));
    });
  return {
    request: (r) =>
      call({
        method: r.method,
        uri: r.path,
        ...(r.query ? { qs: r.query } : {}),
        ...(r.body !== undefined ? { json: r.body } : {}),
        ...(r.timeoutMs !== undefined ? { timeout: r.timeoutMs } : {}),
      }),
    upload: (job, data) =>
      call({
        method: 'POST',
        uri: `${client.apiEndpoint}/upload/bigquery/v2/projects/${encodeURIComponent(projectId)}/jobs`,
        qs: { uploadType: 'multipart' },
        multipart: [
          { 'Content-Type': 'application/json', body: JSON.stringify(job) },
          { 'Content-Type': 'application/octet-stream', body: data },
        ],
        // A stream cannot be replayed: no automatic retries, no client-side timeout on a large upload.
        timeout: 0,
        maxRetries: 0,
      }),
  };
}
