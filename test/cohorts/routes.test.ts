/**
 * The cohorts HTTP routes in-process (functions-framework getTestServer + supertest) over a DuckDB store
 * loaded with hand-built records: results, streamed exports with the attribution, and 400 problem+json for
 * every kind of malformed request.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsRoutes } from '../../functions/cohorts/routes.ts';
import { QueryResponseSchema, SummaryResponseSchema } from '../../functions/cohorts/schemas.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CSV_COLUMNS } from '../../shared/cohorts/export-writer.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { imageKey, toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { attribution, attributionLines } from '../../shared/model/index.ts';
import type { UrlSigner } from '../../shared/signing/url-signer.ts';
import { handRecords } from './hand-records.ts';
import { expectedIds, expectedSummary } from './reference.ts';

const quiet = createLogger({}, () => {});
const records = handRecords(700, 11);
const tokens = createPageTokens('routes-test-secret-0123456789');
let store: CohortStore;
const signer: UrlSigner = {
  billingProject: 'billing-project',
  signMany: async (ids, format, ttl) =>
    ids.map((imageId) => ({
      imageId,
      url: `https://storage.example/${format}/${imageId}?ttl=${ttl}`,
      expiresAt: '2030-01-01T00:00:00.000Z',
    })),
};

http(
  'cohorts-test',
  createRouter(createCohortsRoutes({ store: async () => store, signer, logger: quiet }), { logger: quiet }),
);
http(
  'cohorts-test-nosigner',
  createRouter(createCohortsRoutes({ store: async () => store, logger: quiet }), { logger: quiet }),
);
http(
  'cohorts-test-down',
  createRouter(
    createCohortsRoutes({
      store: async () => {
        throw new Error('BigQuery client could not start');
      },
      logger: quiet,
    }),
    { logger: quiet },
  ),
);
const server = getTestServer('cohorts-test');

const post = (path: string, body: unknown, name = 'cohorts-test') =>
  request(name === 'cohorts-test' ? server : getTestServer(name))
    .post(path)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(body));

describe('cohorts routes', () => {
  before(async () => {
    store = await createDuckDbCohortStore({ tokens });
    await store.load(records.map(toCohortRows));
  });
  after(() => store.close());

  it('POST /v1/cohorts:query pages through the cohort with nextPageToken', async () => {
    const filter = { findings: { none: ['Infiltration'] }, view: ['PA'] };
    const want = expectedIds(records, CohortFilterSchema.parse(filter));
    const got: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await post('/v1/cohorts:query', {
        filter,
        pageSize: 40,
        ...(pageToken ? { pageToken } : {}),
      });
      assert.equal(res.status, 200);
      const page = QueryResponseSchema.parse(res.body);
      assert.equal(page.totalImages, want.length);
      got.push(...page.images.map((i) => i.imageId));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    assert.deepEqual(got, want);
  });

  it('POST /v1/cohorts:query defaults to the empty filter and 100 images', async () => {
    const res = await post('/v1/cohorts:query', {});
    assert.equal(res.status, 200);
    assert.equal(res.body.totalImages, records.length);
    assert.equal(res.body.images.length, 100);
  });

  it('POST /v1/cohorts:summary counts like the in-memory evaluation', async () => {
    const filter = { sex: ['F'], age: { min: 30, max: 69 } };
    const res = await post('/v1/cohorts:summary', { filter });
    assert.equal(res.status, 200);
    assert.deepEqual(
      SummaryResponseSchema.parse(res.body),
      expectedSummary(records, CohortFilterSchema.parse(filter)),
    );
  });

  it('POST /v1/cohorts:export csv streams # attribution lines, a header and one line per image', async () => {
    const filter = { findings: { any: ['Mass', 'Nodule'] } };
    const res = await post('/v1/cohorts:export', { filter, format: 'csv' });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/csv/);
    const lines = res.text.trimEnd().split('\n');
    const notes = attributionLines('# ');
    assert.deepEqual(lines.slice(0, notes.length), notes);
    assert.equal(lines[notes.length], CSV_COLUMNS.join(','));
    const body = lines.slice(notes.length + 1).map((l) => l.split(','));
    assert.deepEqual(
      body.map((c) => c[0]),
      expectedIds(records, CohortFilterSchema.parse(filter)),
    );
    assert.match(body[0]![9]!, /^gs:\/\/gcs-public-data--healthcare-nih-chest-xray\/png\/\d{8}_\d{3}\.png$/);
  });

  it('POST /v1/cohorts:export ndjson with signed dicom URLs: attribution line first, then images', async () => {
    const filter = { expert: { fourFindings: { pneumothorax: true } } };
    const res = await post('/v1/cohorts:export', {
      filter,
      format: 'ndjson',
      urls: 'signed',
      imageFormat: 'dicom',
      expiresInSeconds: 600,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/x-ndjson/);
    const [head, ...rows] = res.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(head, { attribution: attribution() });
    assert.deepEqual(
      rows.map((r) => r.imageId),
      expectedIds(records, CohortFilterSchema.parse(filter)),
    );
    assert.equal(rows[0].url, `https://storage.example/dicom/${rows[0].imageId}?ttl=600`);
    assert.equal(rows[0].urlExpiresAt, '2030-01-01T00:00:00.000Z');
  });

  it('signed export without a signer is 503 problem+json; gs export still works', async () => {
    const res = await post('/v1/cohorts:export', { format: 'csv', urls: 'signed' }, 'cohorts-test-nosigner');
    assert.equal(res.status, 503);
    assert.match(res.headers['content-type'] ?? '', /application\/problem\+json/);
    assert.match(res.body.detail, /Signed URLs are not configured/);
    const ok = await post('/v1/cohorts:export', { format: 'csv' }, 'cohorts-test-nosigner');
    assert.equal(ok.status, 200);
  });

  it('a store that cannot start answers 503 problem+json with Retry-After, not 500', async () => {
    const res = await post('/v1/cohorts:summary', {}, 'cohorts-test-down');
    assert.equal(res.status, 503);
    assert.ok(res.headers['retry-after']);
    assert.doesNotMatch(res.text, /BigQuery client could not start/);
  });

  const tooMany = Array.from({ length: 1001 }, (_, i) => i + 1);
  const bad: [string, string, unknown, string][] = [
    [
      'unknown finding',
      '/v1/cohorts:query',
      { filter: { findings: { all: ['Pneumonitis'] } } },
      'body.filter.findings.all[0]',
    ],
    ['min > max', '/v1/cohorts:query', { filter: { age: { min: 60, max: 40 } } }, 'body.filter.age.min'],
    ['age without bounds', '/v1/cohorts:summary', { filter: { age: {} } }, 'body.filter.age'],
    ['sex as a string', '/v1/cohorts:query', { filter: { sex: 'M' } }, 'body.filter.sex'],
    ['empty sex list', '/v1/cohorts:summary', { filter: { sex: [] } }, 'body.filter.sex'],
    [
      'empty findings.any',
      '/v1/cohorts:query',
      { filter: { findings: { any: [] } } },
      'body.filter.findings.any',
    ],
    [
      'too many patientIds',
      '/v1/cohorts:query',
      { filter: { patientIds: tooMany } },
      'body.filter.patientIds',
    ],
    [
      'patientId as a string',
      '/v1/cohorts:query',
      { filter: { patientIds: ['1'] } },
      'body.filter.patientIds[0]',
    ],
    [
      'negative patientId',
      '/v1/cohorts:query',
      { filter: { patientIds: [-3] } },
      'body.filter.patientIds[0]',
    ],
    [
      'noFinding as a string',
      '/v1/cohorts:summary',
      { filter: { noFinding: 'yes' } },
      'body.filter.noFinding',
    ],
    ['unknown filter key', '/v1/cohorts:query', { filter: { gender: ['M'] } }, 'body.filter'],
    [
      'unknown all-findings finding',
      '/v1/cohorts:query',
      { filter: { expert: { allFindings: { findings: { Pneumonitis: true } } } } },
      'body.filter.expert.allFindings.findings',
    ],
    [
      'unknown four-findings set',
      '/v1/cohorts:query',
      { filter: { expert: { fourFindings: { set: ['train'] } } } },
      'body.filter.expert.fourFindings.set[0]',
    ],
    ['null filter', '/v1/cohorts:query', { filter: null }, 'body.filter'],
    ['pageSize 0', '/v1/cohorts:query', { pageSize: 0 }, 'body.pageSize'],
    ['pageSize 1001', '/v1/cohorts:query', { pageSize: 1001 }, 'body.pageSize'],
    ['fractional pageSize', '/v1/cohorts:query', { pageSize: 2.5 }, 'body.pageSize'],
    ['forged pageToken', '/v1/cohorts:query', { pageToken: 'eyJ2IjoxfQ.AAAA' }, 'body.pageToken'],
    ['unknown top-level key', '/v1/cohorts:summary', { filter: {}, limit: 5 }, 'body'],
    ['export without format', '/v1/cohorts:export', { filter: {} }, 'body.format'],
    ['export format xml', '/v1/cohorts:export', { format: 'xml' }, 'body.format'],
    ['export urls s3', '/v1/cohorts:export', { format: 'csv', urls: 's3' }, 'body.urls'],
    [
      'export ttl too long',
      '/v1/cohorts:export',
      { format: 'csv', expiresInSeconds: 604_801 },
      'body.expiresInSeconds',
    ],
  ];
  for (const [label, path, body, field] of bad) {
    it(`${label}: 400 problem+json naming ${field}`, async () => {
      const res = await post(path, body);
      assert.equal(res.status, 400, res.text);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
      assert.ok(paths.includes(field), `${field} not in ${paths.join(', ')}`);
    });
  }

  it('a page token issued for another filter is 400 naming body.pageToken', async () => {
    const first = await post('/v1/cohorts:query', { filter: { sex: ['M'] }, pageSize: 1 });
    const res = await post('/v1/cohorts:query', {
      filter: { sex: ['F'] },
      pageToken: first.body.nextPageToken,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].path, 'body.pageToken');
  });

  it('a body that is not JSON is 415 or 400 problem+json, never 500', async () => {
    const text = await request(server).post('/v1/cohorts:query').set('Content-Type', 'text/plain').send('{}');
    assert.equal(text.status, 415);
    const broken = await request(server)
      .post('/v1/cohorts:query')
      .set('Content-Type', 'application/json')
      .send('{"filter": {');
    assert.equal(broken.status, 400);
    assert.match(broken.headers['content-type'] ?? '', /problem\+json/);
  });

  it('a client that goes away mid-export stops the export; the store keeps answering', async () => {
    // 30 copies of the 700 records under other patient-id prefixes: 21,000 images, cheaply.
    const big = Array.from({ length: 30 }, (_, k) =>
      records.map((r) => {
        const rows = toCohortRows(r);
        const id = `${k + 10}${r.imageId.slice(2)}`;
        return { image: { ...rows.image, image_id: id, image_key: imageKey(id) }, readers: [] };
      }),
    ).flat();
    const bigStore = await createDuckDbCohortStore({ tokens });
    await bigStore.load(big);
    let pulled = 0;
    const counting: CohortStore = {
      ...bigStore,
      export: (f) => ({
        async *[Symbol.asyncIterator]() {
          for await (const row of bigStore.export(f)) {
            pulled++;
            yield row;
          }
        },
      }),
    };
    http(
      'cohorts-test-abort',
      createRouter(createCohortsRoutes({ store: counting, logger: quiet }), { logger: quiet }),
    );
    const srv = getTestServer('cohorts-test-abort');
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const { port } = srv.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          {
            port,
            host: '127.0.0.1',
            method: 'POST',
            path: '/v1/cohorts:export',
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.once('data', () => {
              req.destroy(); // the client leaves after the first chunk
              resolve();
            });
          },
        );
        req.on('error', () => {});
        req.once('error', reject);
        req.end(JSON.stringify({ format: 'ndjson' }));
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(pulled > 0 && pulled < big.length, `pulled ${pulled} of ${big.length} rows`);
      assert.equal((await bigStore.query({}, 5)).totalImages, big.length);
    } finally {
      await new Promise((r) => srv.close(r));
      await bigStore.close();
    }
  });

  it('GET on a cohorts route is 405 with Allow: POST', async () => {
    const res = await request(server).get('/v1/cohorts:query');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
  });
});
