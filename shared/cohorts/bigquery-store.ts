import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapBigQueryError } from './bigquery-errors.ts';
import {
  decodeRows,
  type JobReference,
  type JobResource,
  loadJob,
  type QueryResultsResponse,
  queryJob,
  type TableRef,
} from './bigquery-rest.ts';
import type { BigQueryTransport } from './bigquery-transport.ts';
import { compileExport, compileQuery, compileSummary } from './compile.ts';
import { countRowsSql, truncateReaders, upsertScript } from './compile-dml.ts';
import type { PageTokens } from './page-token.ts';
import { type CohortExportRow, decodeExportRow, decodeSummary } from './results.ts';
import type { CohortRows } from './rows.ts';
import { bigQueryTableSchema, type CohortTableId, IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import { bigQueryDialect, type SqlParam } from './sql-dialect.ts';
import { type CohortStore, type LoadCounts, pageStart, toPage } from './store.ts';

export interface BigQueryStoreOptions {
  transport: BigQueryTransport;
  tokens: PageTokens;
  projectId: string;
  dataset: string;
  location: string;
  /** Cap per query job; a job that would bill more fails instead (BQ_MAX_BYTES_BILLED). */
  maximumBytesBilled: number;
  /** Job ids; injectable so that tests can match recordings. */
  newJobId?: (operation: string) => string;
  /** Long-poll of one getQueryResults call. */
  pollTimeoutMs?: number;
  /** Give up on a query after this long (503). */
  deadlineMs?: number;
  /** Rows per getQueryResults page while exporting: the memory bound of an export. */
  exportPageRows?: number;
  /** Pause between jobs.get polls of a load job. */
  loadPollMs?: number;
}

type Rows = Iterable<CohortRows> | AsyncIterable<CohortRows>;

/** The cloud cohort store: parameterised query jobs and NDJSON load jobs, never streaming inserts. */
export function createBigQueryCohortStore(o: BigQueryStoreOptions): CohortStore {
  const t = o.transport;
  const dialect = bigQueryDialect({ project: o.projectId, dataset: o.dataset });
  const newJobId = o.newJobId ?? ((op: string) => `nihcxr_cohorts_${op}_${randomUUID()}`);
  const pollTimeoutMs = o.pollTimeoutMs ?? 10_000;
  const deadlineMs = o.deadlineMs ?? 60_000;
  const ref = (jobId: string): JobReference => ({ projectId: o.projectId, jobId, location: o.location });
  const table = (tableId: string): TableRef => ({ projectId: o.projectId, datasetId: o.dataset, tableId });
  const call = async <T>(fn: () => Promise<unknown>): Promise<T> => {
    try {
      return (await fn()) as T;
    } catch (err) {
      throw mapBigQueryError(err);
    }
  };
  const failIfErrored = (job: JobResource) => {
    if (job.status?.errorResult) throw mapBigQueryError({ errors: [job.status.errorResult] });
  };

  const results = (jobId: string, extra: Record<string, string>) =>
    call<QueryResultsResponse>(() =>
      t.request({
        method: 'GET',
        path: `/queries/${encodeURIComponent(jobId)}`,
        query: { location: o.location, timeoutMs: String(pollTimeoutMs), ...extra },
      }),
    );

  /** Inserts a query job and waits for its first page of results. */
  async function run(sql: string, params: Record<string, SqlParam>, operation: string, maxResults: number) {
    const jobReference = ref(newJobId(operation));
    const body = queryJob(sql, params, { jobReference, maximumBytesBilled: o.maximumBytesBilled, operation });
    failIfErrored(await call<JobResource>(() => t.request({ method: 'POST', path: '/jobs', body })));
    const started = Date.now();
    for (;;) {
      const res = await results(jobReference.jobId, { maxResults: String(maxResults) });
      if (res.jobComplete) return { jobId: jobReference.jobId, res };
      if (Date.now() - started > deadlineMs) {
        throw mapBigQueryError({ code: 504, message: `query job ${jobReference.jobId} still running` });
      }
    }
  }

  async function waitForJob(jobId: string): Promise<JobResource> {
    for (;;) {
      const job = await call<JobResource>(() =>
        t.request({
          method: 'GET',
          path: `/jobs/${encodeURIComponent(jobId)}`,
          query: { location: o.location },
        }),
      );
      failIfErrored(job);
      if (job.status?.state === 'DONE') return job;
      await sleep(o.loadPollMs ?? 1000);
    }
  }

  /**
   * Streams image rows and reader rows as NDJSON into two load jobs at once, with backpressure. The reader
   * upload starts at the first reader row, so `readers` is null when there were none.
   */
  async function stage(
    rows: Rows,
    dest: Record<CohortTableId, TableRef>,
    operation: string,
    create: boolean,
  ) {
    const seen = new Set<string>();
    const counts: LoadCounts = { images: 0, readers: 0 };
    const start = (id: CohortTableId) => {
      const stream = new PassThrough();
      const jobReference = ref(newJobId(`${operation}_${id === IMAGES_TABLE ? 'images' : 'readers'}`));
      const job = loadJob(dest[id], bigQueryTableSchema(id), { jobReference, operation, create });
      const done = call<JobResource>(() => t.upload(job, stream));
      // Rejections surface at the await below or through `failed`; never unhandled.
      done.catch(() => {});
      return { stream, done, jobId: jobReference.jobId };
    };
    const images = start(IMAGES_TABLE);
    let readers: ReturnType<typeof start> | null = null;
    const write = async (u: ReturnType<typeof start>, value: unknown) => {
      if (!u.stream.write(`${JSON.stringify(value)}\n`)) {
        await Promise.race([once(u.stream, 'drain'), u.done.then(() => {})]);
      }
    };
    try {
      for await (const r of rows) {
        if (seen.has(r.image.image_id)) {
          throw new Error(
            `image ${r.image.image_id} appears more than once in one load; each image once please`,
          );
        }
        seen.add(r.image.image_id);
        await write(images, r.image);
        counts.images++;
        for (const rr of r.readers) {
          readers ??= start(READERS_TABLE);
          await write(readers, rr);
          counts.readers++;
        }
      }
    } catch (err) {
      images.stream.destroy(err as Error);
      readers?.stream.destroy(err as Error);
      throw err;
    }
    images.stream.end();
    readers?.stream.end();
    const jobs = [images, ...(readers ? [readers] : [])];
    for (const j of jobs) failIfErrored(await j.done);
    for (const j of jobs) await waitForJob(j.jobId);
    return { counts, readers: readers !== null };
  }

  const runScript = async (sql: string, operation: string) => {
    await run(sql, {}, operation, 1);
  };

  return {
    kind: 'bigquery',
    async query(filter, pageSize, pageToken) {
      const after = pageStart(filter, o.tokens, pageToken);
      const q = compileQuery(filter, { after, limit: pageSize + 1 }, dialect);
      const { res } = await run(q.sql, q.params, 'query', pageSize + 1);
      return toPage(decodeRows(res), filter, pageSize, o.tokens);
    },
    async summary(filter) {
      const q = compileSummary(filter, dialect);
      const { res } = await run(q.sql, q.params, 'summary', 1);
      return decodeSummary(decodeRows(res)[0] ?? {});
    },
    export(filter): AsyncIterable<CohortExportRow> {
      const q = compileExport(filter, dialect);
      const pageRows = o.exportPageRows ?? 10_000;
      return {
        async *[Symbol.asyncIterator]() {
          const first = await run(q.sql, q.params, 'export', pageRows);
          let res: QueryResultsResponse = first.res;
          for (;;) {
            for (const row of decodeRows(res)) yield decodeExportRow(row);
            if (!res.pageToken) return;
            res = await results(first.jobId, { maxResults: String(pageRows), pageToken: res.pageToken });
          }
        },
      };
    },
    async load(rows) {
      const dest = { [IMAGES_TABLE]: table(IMAGES_TABLE), [READERS_TABLE]: table(READERS_TABLE) };
      const staged = await stage(rows, dest, 'load', false);
      if (!staged.readers) await runScript(truncateReaders(dialect), 'load');
      return staged.counts;
    },
    async upsert(rows) {
      const suffix = randomUUID().replaceAll('-', '');
      const names = { images: `staging_images_${suffix}`, readers: `staging_readers_${suffix}` };
      const dest = { [IMAGES_TABLE]: table(names.images), [READERS_TABLE]: table(names.readers) };
      try {
        const staged = await stage(rows, dest, 'upsert', true);
        const script = upsertScript(dialect, {
          images: names.images,
          readers: staged.readers ? names.readers : null,
        });
        await runScript(script, 'upsert');
        return staged.counts;
      } finally {
        for (const name of [names.images, names.readers]) {
          await t
            .request({ method: 'DELETE', path: `/datasets/${o.dataset}/tables/${name}` })
            .catch(() => {}); // best effort: a missing staging table is fine
        }
      }
    },
    async stats() {
      const { res } = await run(countRowsSql(dialect), {}, 'stats', 1);
      const [row] = decodeRows(res);
      return { images: Number(row?.images ?? 0), readers: Number(row?.readers ?? 0) };
    },
    async close() {},
  };
}
