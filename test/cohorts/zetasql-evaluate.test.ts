/**
 * Every SQL text the BigQuery cohort store sends, EXECUTED by Google's ZetaSQL reference evaluator (through
 * the BigQuery REST stand-in of test/harness/zetasql-bigquery.ts), on a slice of the data: every
 * expert-labelled image plus a seeded sample of the others (NIH_DATA_DIR when set, else the synthetic
 * dataset). Pages with their totals and keyset continuation, summaries and exports must equal DuckDB's and
 * the in-memory reference's, for the hand-picked filters and random ones; the staged upsert (MERGE script)
 * must leave exactly the tables DuckDB's upsert leaves.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { createBigQueryCohortStore } from '../../shared/cohorts/bigquery-store.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import { IMAGES_TABLE, READERS_TABLE } from '../../shared/cohorts/schema.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { FINDINGS, type ImageRecord } from '../../shared/model/index.ts';
import { startZetaSqlBigQuery, type ZetaSqlBigQuery } from '../harness/zetasql-bigquery.ts';
import { loadTestDataset } from './dataset.ts';
import { expertSlice } from './expert-slice.ts';
import { filterArb, HAND_PICKED } from './filters.ts';
import { expectedIds, expectedSummary } from './reference.ts';

const PROJECT = 'nih-cxr-test';
const DATASET = 'cohorts';
/** Images without expert labels added to the slice (seeded), beside every expert-labelled one. */
const SAMPLE = 300;
const RANDOM_RUNS = 8;
/**
 * Images of the second, small slice for the reader-level filters: the reference evaluator runs their
 * `image_id IN (SELECT ... FROM cohort_readers ... GROUP BY ... HAVING ...)` once per image row (about
 * 17 ms per row at 14k reader rows), so on the main slice one such filter takes minutes.
 */
const READER_SLICE = 40;
/**
 * Most individual reads kept in the main slice: the ZetaSQL server takes gRPC messages of at most 4 MiB,
 * and a catalog carries its tables' contents in one message (about 80 bytes per reader row). The images
 * are all kept; past the cap, images keep their adjudicated labels but lose their individual reads.
 */
const MAX_READS = 10_000;

function capReads(records: ImageRecord[], max: number): ImageRecord[] {
  let reads = 0;
  return records.map((r) => {
    const n = r.expert.readers.reduce((k, x) => k + Object.keys(x.labels).length, 0);
    if (reads + n <= max) {
      reads += n;
      return r;
    }
    return { ...r, expert: { ...r.expert, readers: [] } };
  });
}
const READER_RANDOM_RUNS = 6;

/** Filters with a part on the individual reads (cohort_readers). */
function hasReaderPart(f: CohortFilter): boolean {
  const e = f.expert;
  return !!(e?.fourFindings?.disputed || e?.fourFindings?.hedged || e?.allFindings?.disputed || e?.reader);
}
const tokens = createPageTokens('test-secret-for-cohort-pages');

async function exportedIds(store: CohortStore, f: CohortFilter): Promise<string[]> {
  const ids: string[] = [];
  for await (const r of store.export(f)) ids.push(r.imageId);
  return ids;
}

/** Every page of a filter: the pages themselves (tokens aside) and the ids in order. */
async function walk(store: CohortStore, f: CohortFilter, pageSize: number) {
  const pages = [];
  let token: string | undefined;
  for (;;) {
    const page = await store.query(f, pageSize, token);
    pages.push({ ...page, nextPageToken: page.nextPageToken !== null });
    if (page.nextPageToken === null) break;
    token = page.nextPageToken;
  }
  return { pages, ids: pages.flatMap((p) => p.images.map((i) => i.imageId)) };
}

/** The keys of `want` picked from `got`: the reference summary covers the NIH and age parts. */
function picked<T extends object>(got: T, want: T): Partial<T> {
  return Object.fromEntries(Object.keys(want).map((k) => [k, got[k as keyof T]])) as Partial<T>;
}

interface SuiteOptions {
  /** The records of the slice, from the whole dataset. */
  pick: (all: ImageRecord[]) => ImageRecord[];
  /** Which hand-picked and random filters run on it. */
  accept: (f: CohortFilter) => boolean;
  randomRuns: number;
  merge: boolean;
  /** Ends with a bulk load without reader rows (the TRUNCATE path), which replaces the slice. */
  truncate: boolean;
}

/** Shared by both suites: the tallies the report line prints at the end. */
const report = { texts: new Set<string>(), queries: 0, statements: 0, filters: 0, comparisons: 0, merge: '' };

function suite(name: string, opts: SuiteOptions) {
  describe(name, () => {
    let bq: ZetaSqlBigQuery;
    let bqStore: CohortStore;
    let duck: CohortStore;
    let duckPath: string;
    let tmp: string;
    let records: ImageRecord[];
    let byId: Map<string, ImageRecord>;
    const tally = report;
    const started = Date.now();

    before(async () => {
      const data = await loadTestDataset();
      records = opts.pick(data.records);
      byId = new Map(records.map((r) => [r.imageId, r]));
      bq = await startZetaSqlBigQuery({ project: PROJECT, dataset: DATASET });
      bqStore = createBigQueryCohortStore({
        transport: bq.transport,
        tokens,
        projectId: PROJECT,
        dataset: DATASET,
        location: 'US',
        maximumBytesBilled: 1 << 30,
        loadPollMs: 0,
      });
      tmp = await mkdtemp(join(tmpdir(), 'zetasql-evaluate-'));
      duckPath = join(tmp, 'cohorts.duckdb');
      duck = await createDuckDbCohortStore({ tokens, path: duckPath, threads: 1 });
      const rows = records.map(toCohortRows);
      assert.deepEqual(await bqStore.load(rows), await duck.load(rows));
      console.log(
        `${name}: ${records.length} images, ${rows.reduce((n, r) => n + r.readers.length, 0)} reader rows from ${data.source}`,
      );
    });

    after(async () => {
      for (const t of bq?.evaluated.texts ?? []) report.texts.add(t);
      report.queries += bq?.evaluated.queries ?? 0;
      report.statements += bq?.evaluated.statements ?? 0;
      console.log(
        `${name}: ${bq?.evaluated.queries} queries and ${bq?.evaluated.statements} DML statements evaluated; emulated: ${JSON.stringify(Object.fromEntries(bq?.emulated ?? []))}; ${((Date.now() - started) / 1000).toFixed(1)} s; stand-in ms per operation: ${JSON.stringify(Object.fromEntries([...(bq?.time ?? [])].map(([k, v]) => [k, Math.round(v)])))}`,
      );
      await duck?.close();
      await bq?.stop();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    /** One filter through both stores against the reference: export, summary and every page of a walk. */
    async function compare(f: CohortFilter, pageSize: number) {
      const want = expectedIds(records, f);
      const [bqIds, duckIds] = [await exportedIds(bqStore, f), await exportedIds(duck, f)];
      assert.deepEqual(bqIds, want, 'ZetaSQL export = reference');
      assert.deepEqual(duckIds, want, 'DuckDB export = reference');
      const [bqSum, duckSum] = [await bqStore.summary(f), await duck.summary(f)];
      assert.deepEqual(bqSum, duckSum, 'ZetaSQL summary = DuckDB summary');
      const ref = expectedSummary(records, f);
      assert.deepEqual(picked(bqSum, ref), ref, 'ZetaSQL summary = reference');
      const [bqWalk, duckWalk] = [await walk(bqStore, f, pageSize), await walk(duck, f, pageSize)];
      assert.deepEqual(bqWalk.pages, duckWalk.pages, 'ZetaSQL pages = DuckDB pages');
      assert.deepEqual(bqWalk.ids, want, 'ZetaSQL keyset walk = reference');
      const first = bqWalk.pages[0]!;
      assert.equal(first.totalImages, want.length);
      assert.equal(first.totalPatients, new Set(want.map((id) => byId.get(id)!.patientId)).size);
      assert.deepEqual(
        first.images.slice(0, 3).map((i) => i.findings),
        want.slice(0, 3).map((id) => FINDINGS.filter((n) => byId.get(id)!.findings.includes(n))),
      );
      tally.filters++;
      tally.comparisons += 6 + bqWalk.pages.length;
    }

    it('loads the slice: same row counts in both stores', async () => {
      assert.deepEqual(await bqStore.stats(), await duck.stats());
      assert.equal((await bqStore.stats()).images, records.length);
    });

    for (const [label, f] of HAND_PICKED.filter(([, x]) => opts.accept(x))) {
      it(`${label}: exports, summaries and every page (keyset continuation) agree`, async () => {
        const n = expectedIds(records, f).length;
        await compare(f, Math.max(5, Math.ceil(n / 2)));
      });
    }

    it(`random filters (${opts.randomRuns} runs): exports, summaries and every page agree`, async () => {
      const patientIds = [...new Set(records.map((r) => r.patientId))];
      await fc.assert(
        fc.asyncProperty(
          filterArb(patientIds).filter(opts.accept),
          fc.integer({ min: 1, max: 400 }),
          async (f, size) => {
            const n = expectedIds(records, f).length;
            await compare(f, Math.max(size, Math.ceil(n / 2)));
          },
        ),
        { numRuns: opts.randomRuns, seed: 20261201 },
      );
    });

    if (opts.truncate)
      it('a bulk load without reader rows (TRUNCATE of cohort_readers) leaves what DuckDB leaves', async () => {
        const bare = records.slice(0, 10).map((r) => ({ ...r, expert: { ...r.expert, readers: [] } }));
        const rows = bare.map(toCohortRows);
        assert.deepEqual(await bqStore.load(rows), await duck.load(rows));
        assert.deepEqual(await bqStore.stats(), { images: 10, readers: 0 });
        assert.deepEqual(await duck.stats(), { images: 10, readers: 0 });
        assert.deepEqual(await exportedIds(bqStore, {}), expectedIds(bare, {}));
        assert.ok(bq.emulated.get('TRUNCATE'), 'the TRUNCATE went through the stand-in');
      });

    if (opts.merge)
      it('the staged upsert (MERGE script) leaves the same tables as DuckDB upsert', async () => {
        const withReaders = records.filter((r) => r.expert.readers.length > 1);
        const changed: ImageRecord[] = withReaders.slice(0, 5).map((r, i) => ({
          ...r,
          findings: i % 2 ? ['Hernia'] : [],
          patientAge: i === 0 ? null : r.patientAge,
          expert: { ...r.expert, readers: r.expert.readers.slice(0, 1) },
        }));
        const fresh: ImageRecord[] = records.slice(0, 3).map((r, i) => ({
          ...r,
          imageId: `9999999${i}_000` as never,
          patientId: (99_999_990 + i) as never,
        }));
        const batch = [...changed, ...fresh].map(toCohortRows);
        assert.deepEqual(await bqStore.upsert(batch), await duck.upsert(batch));
        assert.ok(bq.emulated.get('MERGE'), 'the MERGE went through the stand-in');

        // DuckDB's tables, read straight from its file.
        await duck.close();
        const db = await DuckDBInstance.create(duckPath);
        const c = await db.connect();
        const read = async (table: string, order: string) =>
          (await c.runAndReadAll(`SELECT * FROM ${table} ORDER BY ${order}`)).getRowObjectsJS();
        const plain = (v: unknown): unknown =>
          typeof v === 'bigint' ? Number(v) : Array.isArray(v) ? v.map(plain) : v === undefined ? null : v;
        const norm = (rows: Record<string, unknown>[]) =>
          rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
        const duckImages = norm(await read(IMAGES_TABLE, 'image_id'));
        const duckReaders = norm(await read(READERS_TABLE, 'image_id, study, reader_id, label'));
        c.closeSync();
        duck = await createDuckDbCohortStore({ tokens, path: duckPath, threads: 1 });

        const key = (r: Record<string, unknown>) =>
          [r.image_id, r.study, r.reader_id, r.label].join('\u0000');
        const bqImages = bq
          .rows(IMAGES_TABLE)
          .sort((a, b) => (String(a.image_id) < String(b.image_id) ? -1 : 1));
        const bqReaders = bq.rows(READERS_TABLE).sort((a, b) => (key(a) < key(b) ? -1 : 1));
        /** Row counts, then the first differing row: a short message instead of a diff of thousands of rows. */
        const same = (x: Record<string, unknown>[], y: Record<string, unknown>[], what: string) => {
          assert.equal(x.length, y.length, `${what}: row count`);
          const i = x.findIndex((r, k) => JSON.stringify(r) !== JSON.stringify(y[k]));
          assert.equal(
            i,
            -1,
            `${what}: row ${i} differs: ${JSON.stringify(x[i])} vs ${JSON.stringify(y[i])}`,
          );
        };
        same(bqImages, duckImages, 'cohort_images after the MERGE, ZetaSQL vs DuckDB');
        same(bqReaders, duckReaders, 'cohort_readers after the upsert, ZetaSQL vs DuckDB');

        // And both equal the reference: the records with the batch applied.
        const after = [
          ...records.filter((r) => !changed.some((x) => x.imageId === r.imageId)),
          ...changed,
          ...fresh,
        ];
        assert.equal(bqImages.length, after.length);
        assert.equal(
          bqReaders.length,
          after.reduce((n, r) => n + toCohortRows(r).readers.length, 0),
        );
        for (const f of [{}, { findings: { all: ['Hernia'] } }, { noFinding: true }] as CohortFilter[]) {
          assert.deepEqual(await exportedIds(bqStore, f), expectedIds(after, f));
        }
        report.merge = `${bqImages.length} image rows and ${bqReaders.length} reader rows`;
        console.log(
          `MERGE compared: ${bqImages.length} image rows and ${bqReaders.length} reader rows equal to DuckDB's upsert (${changed.length} updated, ${fresh.length} inserted)`,
        );
      });
  });
}

suite('BigQuery SQL executed by ZetaSQL (reference evaluator) = DuckDB = in-memory reference', {
  pick: (all) => capReads(expertSlice(all, SAMPLE), MAX_READS),
  accept: (f) => !hasReaderPart(f),
  randomRuns: RANDOM_RUNS,
  merge: true,
  truncate: false,
});

suite('Reader-level filters executed by ZetaSQL = DuckDB = in-memory reference (small slice)', {
  pick: (all) => {
    const labelled = all.filter((r) => r.expert.readers.length > 0);
    const step = Math.max(1, Math.floor(labelled.length / READER_SLICE));
    return labelled.filter((_, i) => i % step === 0).slice(0, READER_SLICE);
  },
  accept: hasReaderPart,
  randomRuns: READER_RANDOM_RUNS,
  merge: false,
  truncate: true,
});

after(() => {
  console.log(
    `ZetaSQL evaluated ${report.texts.size} distinct BigQuery SQL texts (${report.queries} queries, ${report.statements} DML statements); ` +
      `${report.filters} filters compared with DuckDB and the in-memory reference (${report.comparisons} results), 0 differences; MERGE: ${report.merge || 'not run'}`,
  );
});
