/**
 * The dataset-building options over HTTP (functions-framework getTestServer + supertest, DuckDB store of
 * hand-built records): POST /v1/cohorts:split, onePerPatient/sample on :query and :summary with page tokens
 * bound to them, nih-csv and Parquet exports with their headers, and a 400 problem+json naming the field for
 * every kind of malformed option.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsRoutes } from '../../functions/cohorts/routes.ts';
import { SplitResponseSchema } from '../../functions/cohorts/schemas.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { attribution } from '../../shared/model/index.ts';
import { expectedCohort, splitPatients } from './dataset-reference.ts';
import { handRecords } from './hand-records.ts';

const quiet = createLogger({}, () => {});
const records = handRecords(600, 23);
const tokens = createPageTokens('dataset-routes-test-secret');
let store: CohortStore;

http(
  'cohorts-dataset',
  createRouter(createCohortsRoutes({ store: async () => store, logger: quiet, nihCsvLayout: 'v2020' }), {
    logger: quiet,
  }),
);
http(
  'cohorts-dataset-2017',
  createRouter(createCohortsRoutes({ store: async () => store, logger: quiet, nihCsvLayout: '2017' }), {
    logger: quiet,
  }),
);
const post = (path: string, body: unknown, name = 'cohorts-dataset') =>
  request(getTestServer(name)).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

/** Binary body as a Buffer (supertest buffers text only). */
const binary = (res: request.Test) =>
  res.buffer(true).parse((r, cb) => {
    const parts: Buffer[] = [];
    r.on('data', (c: Buffer) => parts.push(c));
    r.on('end', () => cb(null, Buffer.concat(parts)));
  });

describe('dataset options over HTTP', () => {
  before(async () => {
    store = await createDuckDbCohortStore({ tokens });
    await store.load(records.map(toCohortRows));
  });
  after(() => store.close());

  it('POST /v1/cohorts:split answers each part in request order, disjoint and complete', async () => {
    const body = {
      filter: { view: ['PA'] },
      onePerPatient: 'lastFollowUp',
      seed: 'http',
      parts: { train: 0.6, val: 0.2, test: 0.2 },
      stratifyBy: ['sex'],
    };
    const res = await post('/v1/cohorts:split', body);
    assert.equal(res.status, 200, res.text);
    const out = SplitResponseSchema.parse(res.body);
    const cohort = expectedCohort(records, CohortFilterSchema.parse(body.filter), {
      onePerPatient: 'lastFollowUp',
    });
    const ref = splitPatients(cohort, { seed: 'http', parts: body.parts, stratifyBy: ['sex'] });
    assert.deepEqual(
      out.parts.map((p) => [p.name, p.fraction, p.images, p.patients]),
      Object.entries(body.parts).map(([name, fraction], i) => {
        const mine = cohort.filter((r) => ref.get(r.patientId) === i);
        return [name, fraction, mine.length, new Set(mine.map((r) => r.patientId)).size];
      }),
    );
    assert.equal(out.totalPatients, new Set(cohort.map((r) => r.patientId)).size);
  });

  it(':query and :summary count what onePerPatient and sample keep; tokens are bound to them', async () => {
    const body = {
      filter: {},
      onePerPatient: 'firstFollowUp',
      sample: { size: 40, seed: 'q' },
      pageSize: 25,
    };
    const want = expectedCohort(
      records,
      {},
      { onePerPatient: 'firstFollowUp', sample: { size: 40, seed: 'q' } },
    );
    const first = await post('/v1/cohorts:query', body);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.totalImages, 40);
    const second = await post('/v1/cohorts:query', { ...body, pageToken: first.body.nextPageToken });
    assert.deepEqual(
      [...first.body.images, ...second.body.images].map((i: { imageId: string }) => i.imageId),
      want.map((r) => r.imageId),
    );
    const other = await post('/v1/cohorts:query', {
      ...body,
      sample: { size: 40, seed: 'other' },
      pageToken: first.body.nextPageToken,
    });
    assert.equal(other.status, 400);
    assert.equal(other.body.errors[0].path, 'body.pageToken');
    const summary = await post('/v1/cohorts:summary', {
      filter: {},
      onePerPatient: 'firstFollowUp',
      sample: { size: 40, seed: 'q' },
    });
    assert.equal(summary.status, 200);
    assert.equal(summary.body.totalImages, 40);
  });

  it('export nih-csv: the NIH header, no comment line, attribution in Link and X-Attribution', async () => {
    const res = await post('/v1/cohorts:export', { filter: { sex: ['F'] }, format: 'nih-csv' });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'] ?? '', /^text\/csv/);
    assert.match(res.headers['content-disposition'] ?? '', /filename="nih-cxr-cohort\.csv"/);
    assert.match(res.headers.link ?? '', /nihcc\.app\.box\.com/);
    assert.ok((res.headers['x-attribution'] ?? '').includes(attribution().notice));
    const lines = res.text.split('\n');
    assert.equal(
      lines[0],
      'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]',
    );
    assert.equal(lines.length - 2, records.filter((r) => r.patientSex === 'F').length);
    assert.ok(!lines.some((l) => l.startsWith('#')));
    const layout2017 = await post(
      '/v1/cohorts:export',
      { filter: { sex: ['F'] }, format: 'nih-csv' },
      'cohorts-dataset-2017',
    );
    assert.ok(layout2017.text.startsWith(`${lines[0]},\r\n`), 'the 2017 header and line ending');
  });

  it('export parquet: a Parquet file DuckDB reads back, with the split part column', async () => {
    const split = { seed: 'pq', parts: { a: 0.5, b: 0.5 } };
    const res = await binary(post('/v1/cohorts:export', { filter: {}, format: 'parquet', split }));
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.apache.parquet');
    const bytes = res.body as Buffer;
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
    assert.equal(bytes.subarray(-4).toString(), 'PAR1');
    const dir = await mkdtemp(join(tmpdir(), 'dataset-routes-'));
    try {
      await writeFile(join(dir, 'x.parquet'), bytes);
      const inst = await DuckDBInstance.create(':memory:');
      const c = await inst.connect();
      const rows = (
        await c.runAndReadAll(`SELECT imageId, part FROM read_parquet('${join(dir, 'x.parquet')}')`)
      ).getRowObjectsJS();
      c.closeSync();
      inst.closeSync();
      const ref = splitPatients(records, split);
      const byId = new Map(records.map((r) => [r.imageId as string, r]));
      assert.equal(rows.length, records.length);
      for (const r of rows)
        assert.equal(r.part, ['a', 'b'][ref.get(byId.get(String(r.imageId))!.patientId)!]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const bad: [string, string, unknown, string][] = [
    [
      'fractions not summing to 1',
      '/v1/cohorts:split',
      { seed: 's', parts: { a: 0.5, b: 0.4 } },
      'body.parts',
    ],
    ['a single part', '/v1/cohorts:split', { seed: 's', parts: { a: 1 } }, 'body.parts'],
    [
      'eleven parts',
      '/v1/cohorts:split',
      { seed: 's', parts: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, 1 / 11])) },
      'body.parts',
    ],
    [
      'a part name with a space',
      '/v1/cohorts:split',
      { seed: 's', parts: { 'a b': 0.5, c: 0.5 } },
      'body.parts.a b',
    ],
    ['a zero fraction', '/v1/cohorts:split', { seed: 's', parts: { a: 0, b: 1 } }, 'body.parts.a'],
    ['no seed', '/v1/cohorts:split', { parts: { a: 0.5, b: 0.5 } }, 'body.seed'],
    ['an empty seed', '/v1/cohorts:split', { seed: '', parts: { a: 0.5, b: 0.5 } }, 'body.seed'],
    [
      'an unknown stratum',
      '/v1/cohorts:split',
      { seed: 's', parts: { a: 0.5, b: 0.5 }, stratifyBy: ['age'] },
      'body.stratifyBy[0]',
    ],
    [
      'a repeated stratum',
      '/v1/cohorts:split',
      { seed: 's', parts: { a: 0.5, b: 0.5 }, stratifyBy: ['sex', 'sex'] },
      'body.stratifyBy',
    ],
    ['onePerPatient not a mode', '/v1/cohorts:query', { onePerPatient: 'first' }, 'body.onePerPatient'],
    ['a sample of zero', '/v1/cohorts:query', { sample: { size: 0, seed: 'x' } }, 'body.sample.size'],
    [
      'a fractional sample size',
      '/v1/cohorts:summary',
      { sample: { size: 1.5, seed: 'x' } },
      'body.sample.size',
    ],
    ['a sample without seed', '/v1/cohorts:summary', { sample: { size: 5 } }, 'body.sample.seed'],
    [
      'an unknown sample key',
      '/v1/cohorts:query',
      { sample: { size: 5, seed: 'x', random: true } },
      'body.sample',
    ],
    ['split on :query', '/v1/cohorts:query', { split: { seed: 's', parts: { a: 0.5, b: 0.5 } } }, 'body'],
    ['nih-csv with signed URLs', '/v1/cohorts:export', { format: 'nih-csv', urls: 'signed' }, 'body.urls'],
    [
      'an export split summing over 1',
      '/v1/cohorts:export',
      { format: 'csv', split: { seed: 's', parts: { a: 0.7, b: 0.7 } } },
      'body.split.parts',
    ],
    ['an unknown format', '/v1/cohorts:export', { format: 'xlsx' }, 'body.format'],
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
});
