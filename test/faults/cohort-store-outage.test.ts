/**
 * The cohort store fails, for real, under the cohorts function as its entry builds it (app.ts, with the DuckDB store factory):
 * DUCKDB_PATH names a file that is not a DuckDB database, so the store cannot open. Every route answers 503
 * problem+json with Retry-After (never a 500, nothing internal in the body); once a valid database file is
 * put in its place the next request opens it and the answers are right, without a restart. A store that dies
 * after it opened (closed under the function built by app.ts) is the second case: 503 too, and the store is
 * dropped and reopened by the next request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsApp, loadCohortsAppConfig } from '../../functions/cohorts/app.ts';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { createLogger } from '../../shared/log.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { expectedIds } from '../cohorts/reference.ts';

const SECRET = 'cohort-outage-test-page-token-secret';
let dir: string;
let dbPath: string;
let records: ImageRecord[];

const CALLS: [string, object][] = [
  ['/v1/cohorts:query', { filter: { sex: ['F'] }, pageSize: 10 }],
  ['/v1/cohorts:summary', { filter: { view: ['PA'] } }],
  ['/v1/cohorts:export', { filter: { split: ['test'] }, format: 'csv' }],
];

function assert503(res: request.Response): void {
  assert.equal(res.status, 503, res.text.slice(0, 300));
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.match(res.headers['retry-after'] ?? '', /^\d+$/);
  assert.equal(JSON.parse(res.text).status, 503);
  assert.doesNotMatch(res.text, /duckdb|\.duckdb|Catalog|IO Error|\/tmp\//i);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nih-cxr-cohort-outage-'));
  await writeSyntheticDataset(join(dir, 'data'), { images: 200, seed: 8 });
  records = (await loadDatasetDir(join(dir, 'data'))).records;
  dbPath = join(dir, 'cohorts.duckdb');
  await writeFile(dbPath, Buffer.alloc(64 * 1024, 0x5a));
  for (const k of ['NIH_DATA_DIR', 'K_SERVICE', 'COHORT_STORE', 'HMAC_SECRET', 'HMAC_ACCESS_ID'])
    delete process.env[k];
  Object.assign(process.env, { DUCKDB_PATH: dbPath, PAGE_TOKEN_SECRET: SECRET, DUCKDB_THREADS: '1' });
  // The cloud entry opens BigQuery only; this is the same app with the DuckDB store factory.
  http('cohorts', createCohortsApp({ config: loadCohortsAppConfig(), openStore: createCohortStore }).handler);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('cohort store that cannot open, under the real entry', () => {
  it('every route answers 503 problem+json with Retry-After, request after request', async () => {
    const server = getTestServer('cohorts');
    for (let round = 0; round < 2; round++) {
      for (const [path, body] of CALLS) assert503(await request(server).post(path).send(body));
    }
  });

  it('recovers on the next request once a valid database is in place, with the right answers', async () => {
    const staged = join(dir, 'staged.duckdb');
    const store = await createDuckDbCohortStore({
      tokens: createPageTokens(SECRET),
      path: staged,
      threads: 1,
    });
    await store.load(records.map(toCohortRows));
    await store.close();
    await rename(staged, dbPath);

    const server = getTestServer('cohorts');
    const q = await request(server).post(CALLS[0]![0]).send(CALLS[0]![1]);
    assert.equal(q.status, 200, q.text);
    const women = expectedIds(records, { sex: ['F'] });
    assert.equal(q.body.totalImages, women.length);
    assert.deepEqual(
      q.body.images.map((x: { imageId: string }) => x.imageId),
      women.slice(0, 10),
    );
    const s = await request(server).post(CALLS[1]![0]).send(CALLS[1]![1]);
    assert.equal(s.status, 200);
    assert.equal(s.body.totalImages, expectedIds(records, { view: ['PA'] }).length);
    const e = await request(server).post(CALLS[2]![0]).send(CALLS[2]![1]);
    assert.equal(e.status, 200);
    const rows = e.text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(rows.length - 1, expectedIds(records, { split: ['test'] }).length);
  });
});

describe('cohort store that dies after it opened', () => {
  it('a closed DuckDB store answers 503 problem+json with Retry-After', async () => {
    const store = await createDuckDbCohortStore({ tokens: createPageTokens(SECRET), threads: 1 });
    await store.load(records.map(toCohortRows));
    const quiet = createLogger({}, () => {});
    let opened = 0;
    const app = createCohortsApp({
      config: loadCohortsAppConfig({ PAGE_TOKEN_SECRET: SECRET }),
      openStore: async () => {
        opened++;
        return store;
      },
      logger: quiet,
    });
    http('cohorts-dies', app.handler);
    const server = getTestServer('cohorts-dies');
    assert.equal((await request(server).post(CALLS[1]![0]).send(CALLS[1]![1])).status, 200);
    await store.close();
    for (const [path, body] of CALLS) assert503(await request(server).post(path).send(body));
    // Each failure dropped the store, so each later request opened it again (here: the same, closed one).
    assert.equal(opened, 1 + (CALLS.length - 1));
  });
});
