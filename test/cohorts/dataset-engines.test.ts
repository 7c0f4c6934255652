/**
 * Same options, same images on both engines, end to end: the real BigQuery cohort store (its SQL, REST
 * parameters, row decoding and part names) against Google's ZetaSQL reference evaluator (the BigQuery REST
 * stand-in of test/harness/zetasql-bigquery.ts), beside the DuckDB store, on the same synthetic rows. Pages
 * with their tokens, summaries, :split answers and every export format, byte for byte, must be equal, and
 * equal to the in-memory reference.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBigQueryCohortStore } from '../../shared/cohorts/bigquery-store.ts';
import { type CohortOptions, type SplitSpec, STRATA } from '../../shared/cohorts/dataset-options.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { type ExportFormat, exportChunks } from '../../shared/cohorts/export-writer.ts';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { startZetaSqlBigQuery, type ZetaSqlBigQuery } from '../harness/zetasql-bigquery.ts';
import { expectedCohort, splitPatients } from './dataset-reference.ts';

const PROJECT = 'nih-cxr-test';
const DATASET = 'cohorts';
const tokens = createPageTokens('dataset-engines-test-secret');
const parse = (f: unknown): CohortFilter => CohortFilterSchema.parse(f);

const CASES: [string, CohortFilter, CohortOptions][] = [
  ['onePerPatient first', parse({}), { onePerPatient: 'firstFollowUp' }],
  [
    'onePerPatient last, Effusion or Infiltration',
    parse({ findings: { any: ['Effusion', 'Infiltration'] } }),
    { onePerPatient: 'lastFollowUp' },
  ],
  ['sample of 60', parse({}), { sample: { size: 60, seed: 'engines' } }],
  [
    'one per patient, sample stratified by every stratum',
    parse({ age: { min: 10 } }),
    { onePerPatient: 'firstFollowUp', sample: { size: 45, seed: 'é 🌱', stratifyBy: [...STRATA] } },
  ],
];
const SPLIT: SplitSpec = {
  seed: 'engines',
  parts: { train: 0.7, val: 0.1, test: 0.2 },
  stratifyBy: ['sex', 'view'],
};

async function walk(store: CohortStore, f: CohortFilter, o: CohortOptions, pageSize: number) {
  const pages = [];
  let token: string | undefined;
  for (;;) {
    const page = await store.query(f, pageSize, token, o);
    pages.push({ ...page, nextPageToken: page.nextPageToken !== null });
    if (!page.nextPageToken) return pages;
    token = page.nextPageToken;
  }
}

async function exportBytes(store: CohortStore, f: CohortFilter, o: CohortOptions, format: ExportFormat) {
  const parts: Buffer[] = [];
  const opts = {
    format,
    urls: 'gs',
    imageFormat: 'png',
    expiresInSeconds: 0,
    part: o.split !== undefined,
  } as const;
  for await (const c of exportChunks(store.export(f, o), opts)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('dataset options end to end: BigQuery store on ZetaSQL against the DuckDB store', () => {
  let bq: ZetaSqlBigQuery;
  let bqStore: CohortStore;
  let duck: CohortStore;
  let records: ImageRecord[];
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dataset-engines-'));
    await writeSyntheticDataset(dir, { images: 240, seed: 11 });
    records = (await loadDatasetDir(dir)).records;
    bq = await startZetaSqlBigQuery({ project: PROJECT, dataset: DATASET });
    bqStore = createBigQueryCohortStore({
      transport: bq.transport,
      tokens,
      projectId: PROJECT,
      dataset: DATASET,
      location: 'US',
      maximumBytesBilled: 1 << 30,
      loadPollMs: 0,
      exportPageRows: 50,
    });
    duck = await createDuckDbCohortStore({ tokens, threads: 1 });
    const rows = records.map(toCohortRows);
    assert.deepEqual(await bqStore.load(rows), await duck.load(rows));
  });
  after(async () => {
    await duck?.close();
    await bq?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [label, f, o] of CASES) {
    it(`${label}: the same pages (tokens across engines), summary and export rows as DuckDB and the reference`, async () => {
      const want = expectedCohort(records, f, o).map((r) => r.imageId as string);
      const bqPages = await walk(bqStore, f, o, 40);
      assert.deepEqual(bqPages, await walk(duck, f, o, 40));
      assert.deepEqual(
        bqPages.flatMap((p) => p.images.map((i) => i.imageId)),
        want,
      );
      // A token from one engine continues on the other: same secret, same binding, same order.
      const first = await bqStore.query(f, 10, undefined, o);
      if (first.nextPageToken) {
        assert.deepEqual(
          await duck.query(f, 10, first.nextPageToken, o),
          await bqStore.query(f, 10, first.nextPageToken, o),
        );
      }
      assert.deepEqual(await bqStore.summary(f, o), await duck.summary(f, o));
      const rowsOf = async (s: CohortStore) => {
        const out = [];
        for await (const r of s.export(f, o)) out.push(r);
        return out;
      };
      assert.deepEqual(await rowsOf(bqStore), await rowsOf(duck));
    });
  }

  it('split: the same :split answer and parts, and every export format byte for byte', async () => {
    const f = parse({});
    const o: CohortOptions = { onePerPatient: 'lastFollowUp', split: SPLIT };
    const answer = await bqStore.split(f, o as CohortOptions & { split: SplitSpec });
    assert.deepEqual(answer, await duck.split(f, o as CohortOptions & { split: SplitSpec }));
    const cohort = expectedCohort(records, f, o);
    const ref = splitPatients(cohort, SPLIT);
    assert.deepEqual(
      answer.parts.map((p) => p.patients),
      Object.keys(SPLIT.parts).map(
        (_, i) => new Set(cohort.filter((r) => ref.get(r.patientId) === i).map((r) => r.patientId)).size,
      ),
    );
    const withSample = { ...o, sample: { size: 80, seed: 'engines' } };
    for (const format of ['csv', 'ndjson', 'nih-csv', 'parquet'] as const) {
      for (const options of [o, withSample]) {
        const a = await exportBytes(bqStore, f, options, format);
        const b = await exportBytes(duck, f, options, format);
        assert.ok(a.length > 100, `${format}: not empty`);
        assert.ok(
          a.equals(b),
          `${format}${options.sample ? ' with a sample' : ''}: BigQuery and DuckDB exports differ`,
        );
      }
    }
  });
});
