/**
 * The production BigQuery transport: BigQuery REST v2 over node:https with the instance's access token, no
 * @google-cloud/bigquery. Why not the SDK: the store already hand-builds every request body (bigquery-rest.ts)
 * and used the client only for auth, retries and the request plumbing, yet loading it and its auth stack
 * was most of a cold instance's first query (timed in a fresh process against the bench's stand-ins: import
 * 61-74 ms, first token 39-42 ms through gaxios, first call 23-26 ms; node:https alone loads in ~8 ms, its
 * first call through the same proxy takes ~19 ms, and the metadata server's token a few ms). The SDK has no lighter transport to
 * switch to (it speaks this same REST API), and loading only a part of it would still load its auth stack;
 * so none of it is loaded, and the token fetch starts at instance start (open-bigquery.ts, the cloud entry).
 * What the client did is kept here:
 * - auth: a Bearer token from the metadata server (Application Default Credentials off Google Cloud);
 * - retries as @google-cloud/common's: 408, 429, 500, 502, 503, 504, rateLimitExceeded and a request that
 *   never got an answer, at most 3 times with backoff, never past the call's own timeoutMs. A retried
 *   jobs.insert may meet a 409 (the store then fetches the job), jobs.query carries a requestId;
 * - errors with the HTTP status as `code` and BigQuery's `errors[].reason`, as the store maps them;
 * - media upload (multipart/related, streamed, never retried: a stream cannot be replayed).
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GoogleRestError,
  nodeHttp,
  nodeHttps,
  send,
  type TokenSource,
  UNAVAILABLE,
} from '../google/rest-http.ts';
import type { BigQueryErrorLike, BigQueryTransport, RestRequest } from './bigquery-transport.ts';

export const BIGQUERY_ENDPOINT = 'https://bigquery.googleapis.com';
const USER_AGENT = 'nih-cxr-cohorts (BigQuery REST v2; no client library)';
const MAX_RESPONSE_BYTES = 128 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_RETRIES = 3;
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

/** A BigQuery error answer: `code` is the HTTP status, `errors` BigQuery's reasons (what mapBigQueryError reads). */
export class BigQueryHttpError extends Error implements BigQueryErrorLike {
  override readonly name = 'BigQueryHttpError';
  readonly code: number;
  readonly errors: { reason?: string; message?: string }[];
  constructor(code: number, message: string, errors: { reason?: string; message?: string }[]) {
    super(message);
    this.code = code;
    this.errors = errors;
  }
}

/** Decodes an error answer `{error: {code, message, errors}}`; a body that is not one keeps the status. */
export function httpError(status: number, body: string): BigQueryHttpError {
  try {
    const e = (JSON.parse(body) as { error?: BigQueryErrorLike }).error;
    if (e) return new BigQueryHttpError(status, e.message ?? `HTTP ${status}`, e.errors ?? []);
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  return new BigQueryHttpError(status, `BigQuery answered HTTP ${status}`, []);
}

/** Whether @google-cloud/common would retry this failure; a request with no answer at all is retried too. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof GoogleRestError) return err.code === UNAVAILABLE || err.code === 4;
  if (!(err instanceof BigQueryHttpError)) return false;
  return RETRY_STATUS.has(err.code) || err.errors.some((e) => RETRY_REASONS.has(e.reason ?? ''));
}

export interface RestTransportOptions {
  projectId: string;
  token: TokenSource;
  agent: () => HttpAgent;
  /** https://bigquery.googleapis.com unless a test serves the API itself. */
  endpoint?: string;
  /** Backoff before retry n (0-based); injectable so tests need not wait. */
  backoffMs?: (n: number) => number;
}

const backoff = (n: number) => 2 ** n * 250 + Math.random() * 250;

/** BigQuery REST v2 over HTTP(S): one instance per function instance (it keeps its connections). */
export function restTransport(o: RestTransportOptions): BigQueryTransport {
  const base = (o.endpoint ?? BIGQUERY_ENDPOINT).replace(/\/$/, '');
  const project = `/projects/${encodeURIComponent(o.projectId)}`;
  const wait = o.backoffMs ?? backoff;
  const headers = async (): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await o.token()}`,
    'user-agent': USER_AGENT,
    'x-goog-api-client': `gl-node/${process.versions.node}`,
  });

  const attempt = async (r: RestRequest, url: URL, timeoutMs: number): Promise<unknown> => {
    const h = await headers();
    const json = r.body === undefined ? undefined : JSON.stringify(r.body);
    if (json !== undefined) h['content-type'] = 'application/json; charset=utf-8';
    if (r.method !== 'GET') h['content-length'] = String(json === undefined ? 0 : Buffer.byteLength(json));
    const res = await send(url, r.method, h, json, o.agent, MAX_RESPONSE_BYTES, timeoutMs);
    if (res.status < 200 || res.status >= 300) throw httpError(res.status, res.body);
    return res.body === '' ? {} : JSON.parse(res.body);
  };

  return {
    async request(r) {
      const url = new URL(`${base}/bigquery/v2${project}${r.path}`);
      for (const [k, v] of Object.entries(r.query ?? {})) url.searchParams.set(k, v);
      const limit = r.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const until = Date.now() + limit;
      for (let n = 0; ; n++) {
        try {
          return await attempt(r, url, Math.max(1, until - Date.now()));
        } catch (err) {
          const pause = wait(n);
          if (n >= MAX_RETRIES || !isRetryable(err) || Date.now() + pause >= until) throw err;
          await sleep(pause);
        }
      }
    },
    async upload(job, data) {
      const url = new URL(`${base}/upload/bigquery/v2${project}/jobs?uploadType=multipart`);
      return streamMultipart(url, await headers(), job, data, o.agent);
    },
  };
}

/** jobs.insert as a media upload: multipart/related, the Job resource then the NDJSON stream, no timeout. */
function streamMultipart(
  url: URL,
  headers: Record<string, string>,
  job: unknown,
  data: Readable,
  agent: () => HttpAgent,
): Promise<unknown> {
  const boundary = `nih-cxr-${crypto.randomUUID()}`;
  const request = url.protocol === 'https:' ? nodeHttps().request : nodeHttp().request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: agent(),
        headers: { ...headers, 'content-type': `multipart/related; boundary=${boundary}` },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) reject(httpError(status, body));
          else resolve(body === '' ? {} : JSON.parse(body));
        });
      },
    );
    req.on('error', (err: Error) =>
      reject(new GoogleRestError(`${url.host} upload failed: ${err.message}`, UNAVAILABLE, undefined, err)),
    );
    data.on('error', (err) => req.destroy(err));
    req.write(
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(job)}\r\n` +
        `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    data.on('end', () => req.end(`\r\n--${boundary}--\r\n`));
    data.pipe(req, { end: false });
  });
}
