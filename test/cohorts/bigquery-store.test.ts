/**
 * The BigQuery cohort store against RECORDED REST responses (hand-written from the BigQuery REST v2 docs,
 * see test/recordings/bigquery/README.md): no live BigQuery is called. Checks the requests it builds and
 * how it decodes the answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAgreement } from '../../shared/cohorts/agreement.ts';
import { createBigQueryCohortStore } from '../../shared/cohorts/bigquery-store.ts';
import type { BigQueryTransport, RestRequest } from '../../shared/cohorts/bigquery-transport.ts';
import { compileQuery, compileSummary } from '../../shared/cohorts/compile.ts';
import { compileDatasetExport } from '../../shared/cohorts/compile-cohort.ts';
import { upsertScript } from '../../shared/cohorts/compile-dml.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import { bigQueryTableSchema } from '../../shared/cohorts/schema.ts';
import { bigQueryDialect } from '../../shared/cohorts/sql-dialect.ts';
import { AppError } from '../../shared/http/errors.ts';
import { handRecords } from './hand-records.ts';
import { type Replay, replay } from './replay-transport.ts';

const tokens = createPageTokens('test-secret-for-cohort-pages');
const dialect = bigQueryDialect({ project: 'nih-cxr-test', dataset: 'cohorts' });
const CAP = 1_073_741_824;

const T0 = Date.UTC(2026, 3, 17, 9, 0, 0);

function storeFor(
  r: Replay,
  extra: {
    exportPageRows?: number;
    now?: () => number;
    deadlineMs?: number;
    loadDeadlineMs?: number;
    stagingDataset?: string;
  } = {},
) {
  const counters = new Map<string, number>();
  let requests = 0;
  return createBigQueryCohortStore({
    newRequestId: () => `0123456789abcdef0123456789abcde${++requests}`,
    now: () => T0,
    transport: r.transport,
    tokens,
    projectId: 'nih-cxr-test',
    dataset: 'cohorts',
    location: 'US',
    maximumBytesBilled: CAP,
    newJobId: (op) => {
      const n = (counters.get(op) ?? 0) + 1;
      counters.set(op, n);
      return `job_${op}_${n}`;
    },
    loadPollMs: 0,
    ...extra,
  });
}

async function drain<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of rows) out.push(x);
  return out;
}

const filter = CohortFilterSchema.parse({ findings: { any: ['Mass'] }, sex: ['F'], age: { min: 50 } });

describe('BigQuery store (recorded REST responses, not live calls)', () => {
  it('recording query-page: builds a parameterised, capped, labelled, cached query job and decodes a page', async () => {
    const r = replay('query-page.json');
    const page = await storeFor(r).query(filter, 2);
    r.assertDone();
    const insert = r.requests[0]!;
    const q = compileQuery(filter, { after: '', limit: 3 }, dialect);
    assert.equal(insert.path, '/queries', 'a short query goes through jobs.query');
    assert.deepEqual(insert.body, {
      query: q.sql,
      useLegacySql: false,
      parameterMode: 'NAMED',
      queryParameters: [
        { name: 'findingsAny', parameterType: { type: 'INT64' }, parameterValue: { value: '512' } },
        { name: 'ageMin', parameterType: { type: 'INT64' }, parameterValue: { value: '50' } },
        {
          name: 'sex',
          parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } },
          parameterValue: { arrayValues: [{ value: 'F' }] },
        },
        { name: 'afterKey', parameterType: { type: 'INT64' }, parameterValue: { value: '-1' } },
        { name: 'pageLimit', parameterType: { type: 'INT64' }, parameterValue: { value: '3' } },
      ],
      useQueryCache: true,
      maximumBytesBilled: String(CAP),
      labels: { app: 'nih-cxr', component: 'cohorts', operation: 'query' },
      location: 'US',
      maxResults: 3,
      timeoutMs: 10_000,
      requestId: '0123456789abcdef0123456789abcde1',
      jobCreationMode: 'JOB_CREATION_OPTIONAL',
    });
    assert.ok(!q.sql.includes("'F'") && !q.sql.includes('512'), 'values are parameters, not SQL text');
    assert.deepEqual(r.requests[1]!.query, { location: 'US', timeoutMs: '10000', maxResults: '3' });
    assert.equal(page.totalImages, 2139);
    assert.equal(page.totalPatients, 1711);
    assert.deepEqual(page.images, [
      {
        imageId: '00000013_005',
        patientId: 13,
        followUp: 5,
        patientAge: 60,
        patientSex: 'F',
        viewPosition: 'AP',
        split: 'train_val',
        findings: ['Mass', 'Nodule'],
      },
      {
        imageId: '00000032_012',
        patientId: 32,
        followUp: 12,
        patientAge: null,
        patientSex: 'F',
        viewPosition: 'PA',
        split: 'test',
        findings: ['Mass'],
      },
    ]);
    assert.ok(page.nextPageToken);
    assert.equal(tokens.read(filter, page.nextPageToken), '00000032_012');
  });

  it('recording query-empty: jobs.query with JOB_CREATION_OPTIONAL answers at once, no job to poll; zero totals', async () => {
    const r = replay('query-empty.json');
    const page = await storeFor(r).query(filter, 100);
    r.assertDone();
    assert.equal(r.requests.length, 1, 'one round trip: no jobs.insert, no getQueryResults');
    assert.equal(
      (r.requests[0]!.body as { jobCreationMode: string }).jobCreationMode,
      'JOB_CREATION_OPTIONAL',
    );
    assert.deepEqual(page, { totalImages: 0, totalPatients: 0, images: [], nextPageToken: null });
  });

  it('recording summary: decodes 60 string-encoded aggregates into the summary shape', async () => {
    const r = replay('summary.json');
    const s = await storeFor(r).summary({});
    r.assertDone();
    const body = r.requests[0]!.body as { query: string; queryParameters: []; jobCreationMode: string };
    assert.equal(r.requests.length, 1, 'answered without a job');
    assert.equal(body.query, compileSummary({}, dialect).sql);
    assert.deepEqual(body.queryParameters, []);
    assert.equal(body.jobCreationMode, 'JOB_CREATION_OPTIONAL');
    assert.equal(s.totalImages, 112120);
    assert.equal(s.findings.Hernia, 227);
    assert.equal(s.findings['No Finding'], 60361);
    assert.deepEqual(s.patientSex, { M: 63340, F: 48780 });
    assert.deepEqual(s.split, { train_val: 86524, test: 25596 });
    assert.equal(s.age.length, 13);
    assert.deepEqual(s.age[9], { from: 90, to: 99, count: 120 });
    assert.deepEqual(s.expert.fourFindings.hedged, {
      fracture: 0,
      pneumothorax: 152,
      airspaceOpacity: 0,
      noduleOrMass: 241,
    });
    assert.equal(s.expert.allFindings.disputed.Pleural_Thickening, 291);
    assert.equal(
      s.age.reduce((n, b) => n + b.count, 0),
      112120,
    );
  });

  it('recording agreement-readers: one parameterised jobs.query, reader rows and Fleiss counts decoded into the statistics', async () => {
    const r = replay('agreement-readers.json');
    const q = {
      filter: CohortFilterSchema.parse({ sex: ['F'] }),
      finding: 'abnormal',
      reference: 'allFindings',
      compare: 'readers',
    } as const;
    const a = await storeFor(r).agreement(q);
    r.assertDone();
    const body = r.requests[0]!.body as { query: string; queryParameters: unknown[]; labels: unknown };
    assert.equal(body.query, compileAgreement(q, dialect).sql);
    assert.deepEqual(body.queryParameters, [
      {
        name: 'sex',
        parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } },
        parameterValue: { arrayValues: [{ value: 'F' }] },
      },
      { name: 'agreementLabel', parameterType: { type: 'STRING' }, parameterValue: { value: 'abnormal' } },
    ]);
    assert.deepEqual(body.labels, { app: 'nih-cxr', component: 'cohorts', operation: 'agreement' });
    if (a.compare !== 'readers') return assert.fail('a readers answer');
    assert.equal(a.images, 10);
    assert.deepEqual(
      a.readers.map((x) => [x.readerId, x.images, x.hedged, x.matrix]),
      [
        ['4343882583', 10, 0, { tp: 4, fp: 1, fn: 2, tn: 3 }],
        ['4343883996', 10, 0, { tp: 5, fp: 0, fn: 1, tn: 4 }],
      ],
    );
    // By hand: reader 4343882583 po 0.7, pe 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa 0.4; sensitivity 4/6.
    assert.ok(Math.abs(a.readers[0]!.kappa.estimate! - 0.4) < 1e-12);
    assert.ok(Math.abs(a.readers[0]!.sensitivity.estimate! - 4 / 6) < 1e-12);
    // Fleiss: P = 7 / 10, Pe = 0.5^2 + 0.5^2 = 0.5, kappa = (0.7 - 0.5) / 0.5 = 0.4.
    assert.deepEqual(a.fleiss.reads, { YES: 10, NO: 10, HEDGE: 0 });
    assert.ok(Math.abs(a.fleiss.kappa! - 0.4) < 1e-12);
  });

  it('recording export-two-pages: follows pageToken, one page of rows in memory at a time', async () => {
    const r = replay('export-two-pages.json');
    const rows = [];
    for await (const row of storeFor(r, { exportPageRows: 2 }).export(filter)) rows.push(row);
    r.assertDone();
    const body = r.requests[0]!.body as { configuration: { query: { query: string } } };
    assert.equal(body.configuration.query.query, compileDatasetExport(filter, {}, dialect).sql);
    assert.deepEqual(r.requests[1]!.query, { location: 'US', timeoutMs: '10000', maxResults: '2' });
    assert.equal(r.requests[2]!.query?.pageToken, 'BFKJZ2XNAIAQAAASAUIIBAEAAUNAICAKCAFCBMFOCU======');
    assert.deepEqual(
      rows.map((x) => [x.imageId, x.findings, x.hasBoundingBox]),
      [
        ['00000001_000', ['Cardiomegaly'], false],
        ['00000003_001', ['Hernia'], true],
        ['00000005_000', [], false],
      ],
    );
  });

  for (const [file, status, pattern] of [
    ['error-bytes-billed.json', 503, /BQ_MAX_BYTES_BILLED/],
    ['error-backend.json', 503, /unavailable/],
    ['error-job-failed-on-insert.json', 503, /unavailable/],
  ] as const) {
    it(`recording ${file}: becomes a ${status} AppError`, async () => {
      const r = replay(file);
      const store = storeFor(r);
      const call = file.includes('bytes')
        ? store.summary({})
        : file.includes('insert')
          ? drain(store.export({}))
          : store.query({}, 10);
      await assert.rejects(
        call,
        (e: unknown) => e instanceof AppError && e.status === status && pattern.test(e.message),
      );
      r.assertDone();
    });
  }

  it('recording load: streams NDJSON into two WRITE_TRUNCATE load jobs and waits for both', async () => {
    const r = replay('load.json');
    const recs = handRecords(40)
      .filter((x) => x.expert.readers.length > 0)
      .slice(0, 3);
    const rows = recs.map(toCohortRows);
    const counts = await storeFor(r).load(rows);
    r.assertDone();
    assert.deepEqual(counts, { images: 3, readers: rows.reduce((n, x) => n + x.readers.length, 0) });
    const [images, readers] = r.uploads;
    assert.deepEqual(images!.job, {
      jobReference: { projectId: 'nih-cxr-test', jobId: 'job_load_images_1', location: 'US' },
      configuration: {
        labels: { app: 'nih-cxr', component: 'cohorts', operation: 'load' },
        load: {
          destinationTable: { projectId: 'nih-cxr-test', datasetId: 'cohorts', tableId: 'cohort_images' },
          schema: bigQueryTableSchema('cohort_images'),
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          writeDisposition: 'WRITE_TRUNCATE',
          createDisposition: 'CREATE_NEVER',
          ignoreUnknownValues: false,
          maxBadRecords: 0,
        },
      },
    });
    assert.deepEqual(
      images!.lines,
      rows.map((x) => x.image),
    );
    assert.deepEqual(
      readers!.lines,
      rows.flatMap((x) => x.readers),
    );
    assert.equal(
      (readers!.job as { configuration: { load: { destinationTable: { tableId: string } } } }).configuration
        .load.destinationTable.tableId,
      'cohort_readers',
    );
  });

  it('recording upsert: stages rows, merges in one transaction script, drops the staging tables', async () => {
    const r = replay('upsert.json');
    const rows = handRecords(40)
      .filter((x) => x.expert.readers.length > 0)
      .slice(0, 2)
      .map(toCohortRows);
    await storeFor(r).upsert(rows);
    r.assertDone();
    const staging = (
      r.uploads[0]!.job as { configuration: { load: { destinationTable: { tableId: string } } } }
    ).configuration.load.destinationTable.tableId;
    const stagingReaders = staging.replace('staging_images_', 'staging_readers_');
    const created = r.requests.filter((x) => x.path === '/datasets/cohorts/tables');
    assert.deepEqual(
      created.map((x) => x.body),
      [
        [staging, 'cohort_images'],
        [stagingReaders, 'cohort_readers'],
      ].map(([tableId, id]) => ({
        tableReference: { projectId: 'nih-cxr-test', datasetId: 'cohorts', tableId },
        schema: bigQueryTableSchema(id as 'cohort_images'),
        expirationTime: String(T0 + 24 * 3600_000),
        labels: { app: 'nih-cxr', component: 'cohorts', operation: 'upsert_staging' },
      })),
      'both staging tables are created first, each expiring a day later',
    );
    const script = r.requests.find((x) => x.method === 'POST' && x.path === '/jobs')!.body as {
      configuration: { query: { query: string; queryParameters: unknown[] } };
    };
    assert.equal(
      script.configuration.query.query,
      upsertScript(dialect, { images: staging, readers: stagingReaders }),
    );
    assert.deepEqual(
      r.requests.filter((x) => x.method === 'DELETE').map((x) => x.path),
      [`/datasets/cohorts/tables/${staging}`, `/datasets/cohorts/tables/${stagingReaders}`],
    );
    assert.equal(
      (r.uploads[0]!.job as { configuration: { load: { createDisposition: string } } }).configuration.load
        .createDisposition,
      'CREATE_NEVER',
    );
  });

  it('recording upsert-staging-dataset: with BQ_STAGING_DATASET the staging tables live, load and are dropped in that dataset, and the MERGE reads them there', async () => {
    const r = replay('upsert-staging-dataset.json');
    const rows = handRecords(40)
      .filter((x) => x.expert.readers.length > 0)
      .slice(0, 2)
      .map(toCohortRows);
    await storeFor(r, { stagingDataset: 'cohorts_staging' }).upsert(rows);
    r.assertDone();
    const dest = r.uploads.map(
      (u) =>
        (u.job as { configuration: { load: { destinationTable: { datasetId: string } } } }).configuration.load
          .destinationTable.datasetId,
    );
    assert.deepEqual(dest, ['cohorts_staging', 'cohorts_staging'], 'both loads go to the staging dataset');
    const created = r.requests.filter(
      (x) => x.method === 'POST' && x.path === '/datasets/cohorts_staging/tables',
    );
    assert.equal(created.length, 2);
    const script = (
      r.requests.find((x) => x.method === 'POST' && x.path === '/jobs')!.body as {
        configuration: { query: { query: string } };
      }
    ).configuration.query.query;
    // Written out by hand, not through the dialect: the MERGE writes the cohort dataset and reads the staging one.
    assert.match(
      script,
      /MERGE `nih-cxr-test`\.`cohorts`\.`cohort_images` AS T\nUSING `nih-cxr-test`\.`cohorts_staging`\.`staging_images_[0-9a-f]{32}` AS S/,
    );
    assert.match(
      script,
      /INSERT INTO `nih-cxr-test`\.`cohorts`\.`cohort_readers` .* FROM `nih-cxr-test`\.`cohorts_staging`\.`staging_readers_[0-9a-f]{32}`/,
    );
    assert.deepEqual(
      r.requests.filter((x) => x.method === 'DELETE').map((x) => x.path.replace(/_[0-9a-f]{32}$/, '')),
      ['/datasets/cohorts_staging/tables/staging_images', '/datasets/cohorts_staging/tables/staging_readers'],
    );
  });

  it('recording upsert-staging-409: a 409 on a retried staging-table insert means the table exists; the upsert goes on', async () => {
    const r = replay('upsert-staging-409.json');
    const rows = handRecords(40)
      .filter((x) => x.expert.readers.length > 0)
      .slice(0, 2)
      .map(toCohortRows);
    assert.deepEqual(await storeFor(r).upsert(rows), {
      images: 2,
      readers: rows.reduce((n, x) => n + x.readers.length, 0),
    });
    r.assertDone();
    assert.equal(r.uploads.length, 2, 'both staging tables were loaded');
  });

  it('recording insert-409-on-retry: an "already exists" answer to a retried jobs.insert counts as success, then the job is fetched', async () => {
    const r = replay('insert-409-on-retry.json');
    const rows = await drain(storeFor(r, { exportPageRows: 2 }).export(filter));
    r.assertDone();
    assert.deepEqual(
      r.requests.map((x) => `${x.method} ${x.path}`),
      ['POST /jobs', 'GET /jobs/job_export_1', 'GET /queries/job_export_1'],
    );
    assert.deepEqual(r.requests[1]!.query, { location: 'US' });
    assert.deepEqual(
      rows.map((x) => x.imageId),
      ['00000005_000'],
    );
  });

  /** A clock that moves `step` ms each time the store reads it. */
  const ticking = (step: number) => {
    let t = T0;
    return () => {
      t += step;
      return t;
    };
  };

  it('recording query-deadline-cancel: a query past its deadline is cancelled (jobs.cancel) and answered 503 with Retry-After', async () => {
    const r = replay('query-deadline-cancel.json');
    const store = storeFor(r, { now: ticking(400), deadlineMs: 1000 });
    await assert.rejects(
      store.query(filter, 10),
      (e: unknown) =>
        e instanceof AppError &&
        e.status === 503 &&
        e.headers['Retry-After'] === '30' &&
        /cancelled/.test(e.message),
    );
    r.assertDone();
    const polls = r.requests.filter((x) => x.method === 'GET');
    assert.deepEqual(
      polls.map((x) => Number(x.query?.timeoutMs)),
      [600, 200],
      'each long-poll waits at most what is left of the deadline',
    );
    assert.deepEqual(r.requests.at(-1), {
      method: 'POST',
      path: '/jobs/job_RGVhZGxpbmVfY2FuY2Vs/cancel',
      query: { location: 'US' },
      timeoutMs: 10_000,
    });
  });

  it('recording load-deadline-cancel: a load job still running at the load deadline is cancelled and answered 503', async () => {
    const r = replay('load-deadline-cancel.json');
    const rows = handRecords(40)
      .filter((x) => x.expert.readers.length === 0)
      .slice(0, 2)
      .map(toCohortRows);
    const store = storeFor(r, { now: ticking(400), loadDeadlineMs: 1000 });
    await assert.rejects(
      store.load(rows),
      (e: unknown) => e instanceof AppError && e.status === 503 && e.headers['Retry-After'] === '30',
    );
    r.assertDone();
    assert.equal(r.requests.at(-1)!.path, '/jobs/job_load_images_1/cancel');
  });

  it('an upload BigQuery never finishes is given up at the load deadline: the load job is cancelled, 503', async () => {
    const requests: RestRequest[] = [];
    const transport: BigQueryTransport = {
      async request(req) {
        requests.push(req);
        return {};
      },
      upload(_job, data) {
        data.resume();
        return new Promise(() => {}); // the answer never comes
      },
    };
    let clock = T0;
    const store = createBigQueryCohortStore({
      transport,
      tokens,
      projectId: 'nih-cxr-test',
      dataset: 'cohorts',
      location: 'US',
      maximumBytesBilled: CAP,
      newJobId: (op) => `job_${op}_1`,
      now: () => (clock += 100),
      loadDeadlineMs: 300,
    });
    const rows = handRecords(5)
      .map((x) => ({ ...x, expert: { ...x.expert, readers: [] } }))
      .map(toCohortRows);
    await assert.rejects(
      store.load(rows),
      (e: unknown) => e instanceof AppError && e.status === 503 && e.headers['Retry-After'] === '30',
    );
    assert.deepEqual(
      requests.map((x) => `${x.method} ${x.path}`),
      ['POST /jobs/job_load_images_1/cancel'],
    );
  });
});
