/**
 * `npm run bench -- cohorts`: the DuckDB cohort store over the whole dataset (NIH_DATA_DIR, else a synthetic
 * dataset of the same size, flagged as such).
 * - p50/p95 of POST-:query work (store.query, pageSize 100) over 20 varied filters, and of store.summary;
 *   targets p50 <= 20 ms (query) and <= 50 ms (summary). 2 warm-up + RUNS timed runs per filter.
 * - p50/p95 of store.agreement on the whole expert set (NIH and readers comparisons); target p50 <= 50 ms.
 * - export of every image as CSV with gs:// URLs through the same writer the route uses, into a sink that
 *   honours backpressure: rows/s and peak RSS / heap above the pre-export baseline.
 * - BigQuery bytes a typical query would scan on the declared schema: BigQuery's documented data sizes
 *   (INT64/FLOAT64 8 B, BOOL 1 B, STRING 2 B + UTF-8 bytes, REPEATED = sum of elements, NULL 0 B) summed over
 *   the actual rows for each column the SQL text references; on-demand billing rounds up to 1 MB per table
 *   with a 10 MB minimum per table referenced.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgreementQuery } from '../shared/cohorts/agreement.ts';
import { compileAgreement } from '../shared/cohorts/agreement.ts';
import { IMAGE_COLUMNS, READER_COLUMNS } from '../shared/cohorts/columns.ts';
import { compileQuery, compileSummary } from '../shared/cohorts/compile.ts';
import { compileDatasetExport } from '../shared/cohorts/compile-cohort.ts';
import type { CohortOptions } from '../shared/cohorts/dataset-options.ts';
import { createDuckDbCohortStore } from '../shared/cohorts/duckdb-store.ts';
import { type ExportFormat, exportChunks } from '../shared/cohorts/export-writer.ts';
import { type CohortFilter, CohortFilterSchema } from '../shared/cohorts/filter.ts';
import { createPageTokens } from '../shared/cohorts/page-token.ts';
import { toCohortRow, toCohortRows, toReaderRows } from '../shared/cohorts/rows.ts';
import { bigQueryDialect } from '../shared/cohorts/sql-dialect.ts';
import type { CohortStore } from '../shared/cohorts/store.ts';
import { loadDatasetDir } from '../shared/dataset/index.ts';
import type { ImageRecord } from '../shared/model/index.ts';
import { writeSyntheticDataset } from '../shared/sample/synthetic.ts';

const RUNS = 15;
const FILTERS: unknown[] = [
  {},
  { findings: { all: ['Effusion'] } },
  { findings: { any: ['Mass', 'Nodule'] } },
  { findings: { none: ['Infiltration'] }, sex: ['F'] },
  { noFinding: true },
  { noFinding: false, view: ['AP'] },
  { age: { min: 40, max: 60 } },
  { age: { min: 80 } },
  { sex: ['M'], view: ['PA'], split: ['test'] },
  { patientIds: Array.from({ length: 200 }, (_, i) => i * 37 + 1) },
  { patientIds: [1, 2, 3] },
  { hasBoundingBox: true },
  { expert: { fourFindings: {} } },
  { expert: { fourFindings: { pneumothorax: true, set: ['test'] } } },
  { expert: { allFindings: { abnormal: true } } },
  { expert: { allFindings: { findings: { Effusion: true, Mass: false } } } },
  { findings: { any: ['Pneumothorax'] }, expert: { fourFindings: { pneumothorax: false } } },
  { findings: { all: ['Effusion', 'Atelectasis'], none: ['Hernia'] }, age: { max: 50 } },
  { split: ['train_val'], findings: { any: ['Pneumonia', 'Consolidation', 'Edema'] } },
  {
    findings: { any: ['Effusion', 'Infiltration'] },
    age: { min: 20, max: 80 },
    sex: ['F'],
    view: ['PA', 'AP'],
    hasBoundingBox: false,
  },
];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const mb = (x: number) => `${(x / 1024 ** 2).toFixed(1)} MB`;

async function dataset(): Promise<{ source: string; records: ImageRecord[] }> {
  const dir = process.env.NIH_DATA_DIR;
  if (dir) return { source: `NIH files (${dir})`, records: (await loadDatasetDir(dir)).records };
  const tmp = await mkdtemp(join(tmpdir(), 'cohorts-bench-'));
  try {
    await writeSyntheticDataset(tmp, { images: 112_120, seed: 1 });
    return { source: 'SYNTHETIC dataset (NIH_DATA_DIR unset)', records: (await loadDatasetDir(tmp)).records };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** BigQuery data size of one value of a column (docs: "Data size calculation"). */
function valueBytes(type: string, v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + valueBytes(type, x), 0);
  if (type === 'STRING') return 2 + Buffer.byteLength(String(v));
  return type === 'BOOLEAN' ? 1 : 8;
}

/** The agreement requests timed on the whole expert set (filter {}): both references, both comparisons. */
const AGREEMENT: Omit<AgreementQuery, 'filter'>[] = [
  { finding: 'pneumothorax', reference: 'fourFindings', compare: 'nih' },
  { finding: 'noduleOrMass', reference: 'fourFindings', compare: 'readers' },
  { finding: 'pneumothorax', reference: 'fourFindings', compare: 'readers' },
  { finding: 'abnormal', reference: 'allFindings', compare: 'nih' },
  { finding: 'abnormal', reference: 'allFindings', compare: 'readers' },
  { finding: 'Effusion', reference: 'allFindings', compare: 'nih' },
];

/** p50/p95 of store.agreement over the whole expert set; target p50 <= 50 ms. */
async function agreementBench(store: CohortStore): Promise<void> {
  const times: number[] = [];
  for (const q of AGREEMENT) {
    for (let i = 0; i < 2; i++) await store.agreement({ ...q, filter: {} });
    for (let i = 0; i < RUNS; i++) times.push(await timed(() => store.agreement({ ...q, filter: {} })));
  }
  const p50 = pct(times, 50);
  console.log(
    `agreement (whole expert set, ${AGREEMENT.length} requests: NIH and readers, four and all findings): p50 ${ms(p50)}, p95 ${ms(pct(times, 95))} over ${RUNS} runs each (target p50 <= 50 ms: ${p50 <= 50 ? 'met' : 'NOT met'})`,
  );
}

/**
 * p50/p95 of store.query (pageSize 100) over the same filters with onePerPatient, and with a sample of 1,000
 * (seeded, then stratified by sex and view), beside the plain query of the same run.
 */
async function shapingBench(store: CohortStore, filters: CohortFilter[]): Promise<void> {
  const shapes: [string, CohortOptions][] = [
    ['onePerPatient: firstFollowUp', { onePerPatient: 'firstFollowUp' }],
    ['sample 1,000', { sample: { size: 1000, seed: 'bench' } }],
    [
      'sample 1,000 stratified by sex, view',
      { sample: { size: 1000, seed: 'bench', stratifyBy: ['sex', 'view'] } },
    ],
  ];
  for (const [name, o] of shapes) {
    const times: number[] = [];
    for (const f of filters) {
      await store.query(f, 100, undefined, o);
      for (let i = 0; i < 5; i++) times.push(await timed(() => store.query(f, 100, undefined, o)));
    }
    console.log(
      `query (pageSize 100) with ${name}: p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))} over ${filters.length} filters x 5 runs`,
    );
  }
}

/** One export through the route's writer into a sink slower than memory, with its peak memory. */
async function exportRun(
  store: CohortStore,
  label: string,
  f: CohortFilter,
  format: ExportFormat = 'csv',
): Promise<void> {
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 10);
  let bytes = 0;
  let rows = 0;
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      setImmediate(cb); // a consumer slower than memory: the writer must wait for it
    },
  });
  async function* counted() {
    for await (const r of store.export(f)) {
      rows++;
      yield r;
    }
  }
  const t0 = performance.now();
  const opts = { format, urls: 'gs', imageFormat: 'png', expiresInSeconds: 3600 } as const;
  await pipeline(Readable.from(exportChunks(counted(), opts)), sink);
  const took = performance.now() - t0;
  clearInterval(sampler);
  console.log(
    `export ${label} (${format}, gs:// URLs): ${rows} rows in ${ms(took)}, ${Math.round(rows / (took / 1000))} rows/s, ${mb(bytes)} written; peak RSS +${mb(peakRss - base.rss)}, peak heap +${mb(peakHeap - base.heapUsed)} over the pre-export baseline`,
  );
}

/** BigQuery bytes of the cohort table on the declared schema, and of three typical queries. */
function bigQueryEstimate(records: readonly ImageRecord[]): void {
  // BigQuery bytes estimate on the declared schema.
  const colBytes = new Map<string, number>(IMAGE_COLUMNS.map((c) => [c.name, 0]));
  for (const r of records) {
    const row = toCohortRow(r) as Record<string, unknown>;
    for (const c of IMAGE_COLUMNS)
      colBytes.set(c.name, colBytes.get(c.name)! + valueBytes(c.type, row[c.name]));
  }
  const tableBytes = [...colBytes.values()].reduce((a, b) => a + b, 0);
  console.log(`BigQuery cohort_images estimate: ${mb(tableBytes)} in total for ${records.length} rows`);
  const bq = bigQueryDialect({ project: 'nih-cxr-bench', dataset: 'cohorts' });
  const typical = CohortFilterSchema.parse({
    findings: { any: ['Mass', 'Nodule'] },
    sex: ['F'],
    age: { min: 40 },
  });
  for (const [name, sql] of [
    ['query page', compileQuery(typical, { after: '', limit: 101 }, bq).sql],
    ['summary', compileSummary(typical, bq).sql],
    ['export', compileDatasetExport(typical, {}, bq).sql],
  ] as const) {
    const used = IMAGE_COLUMNS.filter((c) => new RegExp(`\\b${c.name}\\b`).test(sql)).map((c) => c.name);
    const scanned = used.reduce((n, c) => n + colBytes.get(c)!, 0);
    const billed = Math.max(10 * 1024 ** 2, Math.ceil(scanned / 1024 ** 2) * 1024 ** 2);
    console.log(
      `BigQuery ${name} (any Mass/Nodule, F, age >= 40): columns ${used.join(', ')} -> ${mb(scanned)} scanned, ${mb(billed)} billed on demand (10 MB minimum)`,
    );
  }
}

/** BigQuery bytes the reader-level statements read from cohort_readers (the summary's counts, agreement). */
function readerBytesEstimate(records: readonly ImageRecord[]): void {
  const colBytes = new Map<string, number>(READER_COLUMNS.map((c) => [c.name, 0]));
  for (const r of records) {
    for (const row of toReaderRows(r) as Record<string, unknown>[]) {
      for (const c of READER_COLUMNS)
        colBytes.set(c.name, colBytes.get(c.name)! + valueBytes(c.type, row[c.name]));
    }
  }
  const bq = bigQueryDialect({ project: 'nih-cxr-bench', dataset: 'cohorts' });
  /** The part of the statement that reads cohort_readers (the summary's `readers` CTE, agreement's `label_reads`). */
  const readersPart = (sql: string) =>
    sql.slice(Math.max(sql.indexOf('readers AS ('), sql.indexOf('label_reads AS (')));
  for (const [name, sql] of [
    ['summary', readersPart(compileSummary({}, bq).sql)],
    [
      'agreement (readers)',
      readersPart(
        compileAgreement(
          { filter: {}, finding: 'abnormal', reference: 'allFindings', compare: 'readers' },
          bq,
        ).sql,
      ),
    ],
  ] as const) {
    const used = READER_COLUMNS.filter((c) => new RegExp(`\\b${c.name}\\b`).test(sql)).map((c) => c.name);
    const scanned = used.reduce((n, c) => n + colBytes.get(c)!, 0);
    console.log(
      `BigQuery ${name} also reads cohort_readers: columns ${used.join(', ')} -> ${mb(scanned)} scanned, one more table at the 10 MB minimum`,
    );
  }
}

export default async function cohortsBench(): Promise<void> {
  const { source, records } = await dataset();
  console.log(`data: ${source}, ${records.length} images`);
  const store = await createDuckDbCohortStore({ tokens: createPageTokens('bench-secret-0123456789') });
  const loadMs = await timed(() => store.load(records.map(toCohortRows)));
  console.log(
    `DuckDB bulk load (appender): ${ms(loadMs)} (${Math.round(records.length / (loadMs / 1000))} rows/s)`,
  );

  const filters: CohortFilter[] = FILTERS.map((f) => CohortFilterSchema.parse(f));
  const query: number[] = [];
  const summary: number[] = [];
  for (const f of filters) {
    for (let i = 0; i < 2; i++) {
      await store.query(f, 100);
      await store.summary(f);
    }
    for (let i = 0; i < RUNS; i++) {
      query.push(await timed(() => store.query(f, 100)));
      summary.push(await timed(() => store.summary(f)));
    }
  }
  const line = (name: string, xs: number[], target: number) =>
    console.log(
      `${name}: p50 ${ms(pct(xs, 50))}, p95 ${ms(pct(xs, 95))} over ${filters.length} filters x ${RUNS} runs (target p50 <= ${target} ms: ${pct(xs, 50) <= target ? 'met' : 'NOT met'})`,
    );
  line('query (pageSize 100)', query, 20);
  line('summary', summary, 50);
  await shapingBench(store, filters);
  await agreementBench(store);

  // Exports through the route's writer into a backpressured sink: a small cohort, then every image.
  await exportRun(store, 'of the test split', CohortFilterSchema.parse({ split: ['test'] }));
  await exportRun(store, 'of the whole dataset', {});
  await exportRun(store, 'of the whole dataset', {}, 'nih-csv');
  await exportRun(store, 'of the whole dataset', {}, 'parquet');
  await store.close();
  bigQueryEstimate(records);
  readerBytesEstimate(records);
}
