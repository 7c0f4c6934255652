/**
 * The cohorts function as its entry builds it (app.ts; the cloud entry itself is tested sealed, in
 * test/bundles/), its configuration, the store
 * factory. The production BigQuery transport (REST over HTTP) is tested in bigquery-http.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsApp, loadCohortsAppConfig } from '../../functions/cohorts/app.ts';
import { CohortsConfigSchema } from '../../shared/cohorts/config.ts';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { DEV_PAGE_TOKEN_SECRET } from '../../shared/cohorts/page-token.ts';
import { loadConfig } from '../../shared/config.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { createLogger } from '../../shared/log.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';

const quiet = createLogger({}, () => {});

describe('cohorts configuration', () => {
  it('defaults to DuckDB in memory with the development page-token secret', () => {
    const c = loadConfig(CohortsConfigSchema, {});
    assert.equal(c.store, 'duckdb');
    assert.equal(c.duckdb.path, ':memory:');
    assert.equal(c.pageTokenSecret, DEV_PAGE_TOKEN_SECRET);
    assert.equal(c.bigQuery.maximumBytesBilled, 1024 ** 3);
  });
  it('BigQuery needs BQ_DATASET and a real PAGE_TOKEN_SECRET', () => {
    assert.throws(
      () => loadConfig(CohortsConfigSchema, { COHORT_STORE: 'bigquery' }),
      /BQ_DATASET[\s\S]*PAGE_TOKEN_SECRET/,
    );
    const c = loadConfig(CohortsConfigSchema, {
      COHORT_STORE: 'bigquery',
      BQ_DATASET: 'nih_cxr',
      GOOGLE_CLOUD_PROJECT: 'my-project-1',
      PAGE_TOKEN_SECRET: 'x'.repeat(32),
      BQ_MAX_BYTES_BILLED: '104857600',
    });
    assert.deepEqual(c.bigQuery, {
      projectId: 'my-project-1',
      dataset: 'nih_cxr',
      location: 'US',
      maximumBytesBilled: 104_857_600,
      stagingDataset: undefined,
    });
    const staged = loadConfig(CohortsConfigSchema, {
      COHORT_STORE: 'bigquery',
      BQ_DATASET: 'nih_cxr',
      BQ_STAGING_DATASET: 'nih_cxr_staging',
      PAGE_TOKEN_SECRET: 'x'.repeat(32),
    });
    assert.equal(staged.bigQuery.stagingDataset, 'nih_cxr_staging');
  });
  it('a deployed DuckDB (K_SERVICE set) also refuses the development secret', () => {
    assert.throws(() => loadConfig(CohortsConfigSchema, { K_SERVICE: 'cohorts' }), /PAGE_TOKEN_SECRET/);
  });
  it('rejects a bytes cap below BigQuery minimum billing and an unknown store', () => {
    assert.throws(
      () => loadConfig(CohortsConfigSchema, { BQ_MAX_BYTES_BILLED: '1000' }),
      /BQ_MAX_BYTES_BILLED/,
    );
    assert.throws(() => loadConfig(CohortsConfigSchema, { COHORT_STORE: 'sqlite' }), /COHORT_STORE/);
  });
});

describe('createCohortStore (DuckDB)', () => {
  it('loads the files of NIH_DATA_DIR when the database is empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cohorts-entry-'));
    try {
      await writeSyntheticDataset(dir, { images: 300, seed: 5 });
      const want = (await loadDatasetDir(dir)).records.length;
      const store = await createCohortStore(loadConfig(CohortsConfigSchema, { NIH_DATA_DIR: dir }), quiet);
      assert.equal((await store.stats()).images, want);
      assert.equal((await store.query({}, 1)).totalImages, want);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("entry point 'cohorts'", () => {
  it('registers the cohorts function: answers a query and turns a bad filter into 400 problem+json', async () => {
    delete process.env.NIH_DATA_DIR; // keep the entry's own DuckDB empty and fast
    delete process.env.COHORT_STORE;
    // The cloud entry opens BigQuery only (below); this is its app with the DuckDB store factory.
    http(
      'cohorts',
      createCohortsApp({ config: loadCohortsAppConfig(), openStore: createCohortStore }).handler,
    );
    const server = getTestServer('cohorts');
    const ok = await request(server)
      .post('/v1/cohorts:query')
      .set('Content-Type', 'application/json')
      .send('{}');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { totalImages: 0, totalPatients: 0, images: [], nextPageToken: null });
    const bad = await request(server)
      .post('/v1/cohorts:summary')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ filter: { findings: { all: ['Fracture'] } } }));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].path, 'body.filter.findings.all[0]');
  });
});

describe('createCohortsApp', () => {
  it('signs exports under the configured limits: a lifetime past SIGNED_URL_MAX_SECONDS is a 400', async () => {
    const config = loadCohortsAppConfig({
      BILLING_PROJECT: 'cohorts-app-billing',
      HMAC_ACCESS_ID: 'GOOG1COHORTSAPPTEST',
      HMAC_SECRET: 'cohorts-app-test-secret',
      SIGNED_URL_MAX_SECONDS: '60',
    });
    const app = createCohortsApp({ config, openStore: createCohortStore, logger: quiet });
    http('cohorts-app-limits', app.handler);
    const server = getTestServer('cohorts-app-limits');
    const body = { filter: {}, format: 'ndjson', urls: 'signed' };
    const tooLong = await request(server)
      .post('/v1/cohorts:export')
      .send({ ...body, expiresInSeconds: 61 });
    assert.equal(tooLong.status, 400, tooLong.text);
    assert.equal(tooLong.body.errors[0].path, 'body.expiresInSeconds');
    const ok = await request(server)
      .post('/v1/cohorts:export')
      .send({ ...body, expiresInSeconds: 60 });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /attribution/);
    await (await app.store()).close();
  });
});
