/**
 * The cohort export's optional DICOM columns on the embedded DuckDB store: `dicomLinks: true` adds `dicomweb`
 * and `viewer` (csv, ndjson, parquet), filled for images whose identity is recorded and empty for the others;
 * without it the manifest is unchanged; nih-csv refuses it. Expected links are written out by hand here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { parquetReadObjects } from 'hyparquet';
import request from 'supertest';
import { createCohortsRoutes } from '../../functions/cohorts/routes.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CSV_COLUMNS } from '../../shared/cohorts/export-writer.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { imageId, record } from './fixtures.ts';

const BASE =
  'https://healthcare.googleapis.com/v1/projects/p-1234/locations/l/datasets/d/dicomStores/s/dicomWeb';
const dicom = (n: number) => ({
  studyInstanceUid: `1.2.3.${n}`,
  seriesInstanceUid: `1.2.4.${n}`,
  sopInstanceUid: `1.2.5.${n}`,
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  rows: 256,
  columns: 320,
  photometricInterpretation: 'MONOCHROME2',
});
const WITH = imageId('00000021_000');
const WITHOUT = imageId('00000022_000');
const records = [record(WITH, dicom(7)), record(WITHOUT)];
const expected = {
  dicomweb: `${BASE}/studies/1.2.3.7/series/1.2.4.7/instances/1.2.5.7`,
  viewer: 'https://viewer.example/open?study=1.2.3.7&id=00000021_000',
};

let store: CohortStore;
let server: ReturnType<typeof getTestServer>;

before(async () => {
  store = await createDuckDbCohortStore({ tokens: createPageTokens('export-links-test-secret-0123456789') });
  await store.load(records.map(toCohortRows));
  const routes = createCohortsRoutes({
    store,
    dicomLinks: {
      base: BASE,
      viewerUrl: 'https://viewer.example/open?study={studyInstanceUid}&id={imageId}',
    },
  });
  http('cohorts-export-links', createRouter(routes, { logger: createLogger({}, () => {}) }));
  server = getTestServer('cohorts-export-links');
});
after(async () => {
  await store?.close();
});

function exportOf(body: Record<string, unknown>) {
  return request(server)
    .post('/v1/cohorts:export')
    .send({ filter: {}, ...body })
    .buffer(true)
    .parse((res, cb) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => cb(null, Buffer.concat(parts)));
    });
}

describe('cohort export with dicomLinks', () => {
  it('csv: dicomweb and viewer columns after the label columns, empty without an identity', async () => {
    const res = await exportOf({ format: 'csv', dicomLinks: true });
    assert.equal(res.status, 200, res.body.toString());
    const lines: string[] = res.body
      .toString()
      .split('\n')
      .filter((l: string) => l && !l.startsWith('#'));
    const header = lines[0]!.split(',');
    assert.deepEqual(header, [...CSV_COLUMNS, 'dicomweb', 'viewer']);
    const rows = lines
      .slice(1)
      .map(
        (l: string): Record<string, string> => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])),
      );
    const byId = new Map(rows.map((r) => [r.imageId, r]));
    assert.equal(byId.get(WITH)?.dicomweb, expected.dicomweb);
    assert.equal(byId.get(WITH)?.viewer, expected.viewer);
    assert.equal(byId.get(WITHOUT)?.dicomweb, '');
    assert.equal(byId.get(WITHOUT)?.viewer, '');
  });

  it('ndjson: a links object, null without an identity; no links key without dicomLinks', async () => {
    const res = await exportOf({ format: 'ndjson', dicomLinks: true });
    const rows = res.body
      .toString()
      .trim()
      .split('\n')
      .slice(1)
      .map((l: string) => JSON.parse(l));
    assert.deepEqual(rows.find((r: { imageId: string }) => r.imageId === WITH).links, expected);
    assert.equal(rows.find((r: { imageId: string }) => r.imageId === WITHOUT).links, null);
    const plain = await exportOf({ format: 'ndjson' });
    for (const l of plain.body.toString().trim().split('\n').slice(1)) assert.ok(!('links' in JSON.parse(l)));
  });

  it('parquet: optional dicomweb and viewer string columns', async () => {
    const res = await exportOf({ format: 'parquet', dicomLinks: true });
    assert.equal(res.status, 200);
    const buf = res.body as Buffer;
    const rows = (await parquetReadObjects({
      file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer,
    })) as Record<string, unknown>[];
    const w = rows.find((r) => r.imageId === WITH)!;
    assert.deepEqual([w.dicomweb, w.viewer], [expected.dicomweb, expected.viewer]);
    const wo = rows.find((r) => r.imageId === WITHOUT)!;
    assert.deepEqual([wo.dicomweb ?? null, wo.viewer ?? null], [null, null]);
  });

  it('without dicomLinks the csv header is unchanged; nih-csv with dicomLinks is a 400 naming body.dicomLinks', async () => {
    const res = await exportOf({ format: 'csv' });
    const header = res.body
      .toString()
      .split('\n')
      .find((l: string) => l && !l.startsWith('#'));
    assert.equal(header, CSV_COLUMNS.join(','));
    const bad = await exportOf({ format: 'nih-csv', dicomLinks: true });
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body.toString()).errors[0].path, 'body.dicomLinks');
  });
});
