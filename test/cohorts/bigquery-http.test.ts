/**
 * The production BigQuery transport (shared/cohorts/bigquery-http.ts: REST v2 over HTTP, no client library)
 * end to end: the cohort store opened as the cloud entry opens it (openBigQueryCohortStore, token from a
 * metadata-server stand-in) talks over real HTTP to the ZetaSQL BigQuery stand-in served as the REST API
 * (test/harness/bigquery-http-front.ts); results are checked against the in-memory reference evaluator. Then
 * the transport's own behaviours against a scripted HTTP server: retries as @google-cloud/common's (and
 * only those), the 409 of a retried insert, the call's time limit, no retry of an upload.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { mapBigQueryError } from '../../shared/cohorts/bigquery-errors.ts';
import { BigQueryHttpError, restTransport } from '../../shared/cohorts/bigquery-http.ts';
import { isAlreadyExists } from '../../shared/cohorts/bigquery-jobs.ts';
import { loadCohortsConfig } from '../../shared/cohorts/config.ts';
import { openBigQueryCohortStore } from '../../shared/cohorts/open-bigquery.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { googleAgents } from '../../shared/google/google-env.ts';
import { AppError } from '../../shared/http/errors.ts';
import { createLogger } from '../../shared/log.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { type BigQueryFront, serveBigQuery } from '../harness/bigquery-http-front.ts';
import { type MetadataStandIn, startMetadataStandIn } from '../harness/google-stand-ins.ts';
import { startZetaSqlBigQuery, type ZetaSqlBigQuery } from '../harness/zetasql-bigquery.ts';
import { handRecords } from './hand-records.ts';
import { expectedIds } from './reference.ts';

const PROJECT = 'nih-cxr-test';
const DATASET = 'cohorts';
const quiet = createLogger({}, () => {});

const ids = async (store: CohortStore, sex: 'F' | 'M') =>
  (await store.query({ sex: [sex] }, 1000)).images.map((i) => i.imageId as string);

describe('restTransport over HTTP, against the ZetaSQL BigQuery stand-in (cohort store as the cloud opens it)', () => {
  let bq: ZetaSqlBigQuery;
  let front: BigQueryFront;
  let metadata: MetadataStandIn;
  let store: CohortStore;
  const records: ImageRecord[] = handRecords(40, 11);

  before(async () => {
    bq = await startZetaSqlBigQuery({ project: PROJECT, dataset: DATASET });
    metadata = await startMetadataStandIn({ projectId: PROJECT });
    front = await serveBigQuery(bq.transport, { project: PROJECT, token: metadata.accessToken });
    const config = loadCohortsConfig({
      COHORT_STORE: 'bigquery',
      BQ_DATASET: DATASET,
      PAGE_TOKEN_SECRET: 'x'.repeat(32),
    });
    const google = {
      metadataUrl: `http://${metadata.host}/computeMetadata/v1`,
      proxyEnv: {},
      keyFile: undefined,
    };
    // No BQ_PROJECT nor GOOGLE_CLOUD_PROJECT: the project comes from the metadata server, as on Cloud Run.
    store = await openBigQueryCohortStore(config, quiet, { google, endpoint: front.url });
  });
  after(async () => {
    await front?.stop();
    await metadata?.stop();
    await bq?.stop();
  });

  it('loads rows through two multipart media uploads and counts them', async () => {
    const counts = await store.load(records.map(toCohortRows));
    assert.equal(counts.images, records.length);
    assert.deepEqual(await store.stats(), counts);
    assert.equal(front.uploads.length, 2, 'images and readers');
    for (const u of front.uploads) {
      assert.deepEqual(u.partTypes, ['application/json; charset=UTF-8', 'application/octet-stream']);
      assert.ok(u.chunked, 'the NDJSON is streamed (chunked), not buffered into a Content-Length');
    }
  });

  it('answers a filtered page as the reference evaluator does', async () => {
    assert.deepEqual(await ids(store, 'F'), expectedIds(records, { sex: ['F'] }));
    assert.deepEqual(await ids(store, 'M'), expectedIds(records, { sex: ['M'] }));
  });

  it('upserts changed rows (staging tables, MERGE script, DELETE of the staging tables) over HTTP', async () => {
    const changed: ImageRecord[] = records
      .slice(0, 5)
      .map((r) => ({ ...r, patientSex: r.patientSex === 'F' ? ('M' as const) : ('F' as const) }));
    await store.upsert(changed.map(toCohortRows));
    const now = records.map((r) => changed.find((c) => c.imageId === r.imageId) ?? r);
    assert.deepEqual(await ids(store, 'F'), expectedIds(now, { sex: ['F'] }));
    assert.ok(
      front.requests.some((r) => r.method === 'DELETE'),
      'the staging tables were deleted',
    );
  });

  it('sent every call with the metadata server token, a user agent, and fetched the token once', () => {
    // Opening the store preconnects: one unauthenticated GET / (no token is sent for it); the rest are calls.
    const preconnects = front.requests.filter((r) => r.method === 'GET' && r.path === '/');
    assert.equal(preconnects.length, 1);
    assert.equal(preconnects[0]!.headers.authorization, undefined);
    const calls = front.requests.filter((r) => r !== preconnects[0]);
    assert.ok(calls.length > 5);
    for (const r of calls) {
      assert.equal(r.headers.authorization, `Bearer ${metadata.accessToken}`);
      assert.match(String(r.headers['user-agent']), /^nih-cxr-cohorts/);
    }
    const tokenFetches = metadata.requests.filter((p) => p.endsWith('/service-accounts/default/token'));
    assert.equal(tokenFetches.length, 1);
    assert.ok(metadata.requests.includes('/computeMetadata/v1/project/project-id'));
  });
});

/** A server that answers the n-th request with script[n] (the last one repeats). */
async function scripted(script: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    seen.push(`${req.method} ${req.url}`);
    script[Math.min(seen.length, script.length) - 1]!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { agent } = googleAgents(url, { proxyEnv: {} });
  const transport = restTransport({
    projectId: 'p-1',
    token: async () => 't',
    agent,
    endpoint: url,
    backoffMs: () => 5,
  });
  return {
    seen,
    transport,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
const reply = (status: number, body: unknown) => (_q: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const bqError = (code: number, reason: string) => ({
  error: { code, message: `${reason} happened`, errors: [{ reason, message: 'x' }] },
});

describe('restTransport: retries, errors and limits', () => {
  it('retries a 503 and a dropped connection, then returns the answer; the path and query are as sent', async () => {
    const s = await scripted([
      reply(503, bqError(503, 'backendError')),
      (_q, res) => res.socket?.destroy(),
      reply(200, { jobComplete: true }),
    ]);
    try {
      const out = await s.transport.request({
        method: 'GET',
        path: '/queries/j1',
        query: { location: 'US' },
      });
      assert.deepEqual(out, { jobComplete: true });
      assert.deepEqual(s.seen, Array(3).fill('GET /bigquery/v2/projects/p-1/queries/j1?location=US'));
    } finally {
      await s.stop();
    }
  });

  it('gives up after 3 retries with the last error, which the store maps to a 503', async () => {
    const s = await scripted([reply(500, bqError(500, 'backendError'))]);
    try {
      const err = await s.transport.request({ method: 'POST', path: '/queries', body: {} }).catch((e) => e);
      assert.ok(err instanceof BigQueryHttpError);
      assert.equal(err.code, 500);
      assert.equal(s.seen.length, 4);
      assert.equal((mapBigQueryError(err) as AppError).status, 503);
    } finally {
      await s.stop();
    }
  });

  it('does not retry a 409 (a retried insert: the store fetches the job) nor a 400 (our bug: a 500)', async () => {
    const s = await scripted([
      reply(409, bqError(409, 'duplicate')),
      reply(400, bqError(400, 'invalidQuery')),
    ]);
    try {
      const dup = (await s.transport
        .request({ method: 'POST', path: '/jobs', body: {} })
        .catch((e: unknown) => e)) as BigQueryHttpError;
      assert.ok(isAlreadyExists(dup));
      assert.deepEqual(dup.errors, [{ reason: 'duplicate', message: 'x' }]);
      const bad = (await s.transport
        .request({ method: 'POST', path: '/queries', body: {} })
        .catch((e: unknown) => e)) as BigQueryHttpError;
      assert.equal(bad.code, 400);
      const mapped = mapBigQueryError(bad);
      assert.ok(!(mapped instanceof AppError), 'an invalid request is our bug, not a 4xx/503');
      assert.equal(s.seen.length, 2);
    } finally {
      await s.stop();
    }
  });

  it('keeps a call within its timeoutMs, retries included', async () => {
    const s = await scripted([() => {}]);
    try {
      const t0 = Date.now();
      const err = await s.transport
        .request({ method: 'GET', path: '/jobs/j', timeoutMs: 300 })
        .catch((e: unknown) => e);
      const took = Date.now() - t0;
      assert.ok(err instanceof Error);
      assert.ok(took >= 250 && took < 2000, `gave up after ${took} ms`);
    } finally {
      await s.stop();
    }
  });

  it('never retries an upload (its stream cannot be replayed)', async () => {
    const s = await scripted([
      reply(503, bqError(503, 'backendError')),
      reply(200, { status: { state: 'DONE' } }),
    ]);
    try {
      const err = (await s.transport
        .upload({ jobReference: {} }, Readable.from(['{"a":1}\n']))
        .catch((e: unknown) => e)) as BigQueryHttpError;
      assert.equal(err.code, 503);
      assert.deepEqual(s.seen, ['POST /upload/bigquery/v2/projects/p-1/jobs?uploadType=multipart']);
    } finally {
      await s.stop();
    }
  });
});
