import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { compileAgreement, decodeAgreement } from './agreement.ts';
import { mapBigQueryError } from './bigquery-errors.ts';
import { bigQueryJobs, isAlreadyExists } from './bigquery-jobs.ts';
import {
  decodeRows,
  loadJob,
  type QueryResultsResponse,
  stagingTable,
  type TableRef,
} from './bigquery-rest.ts';
import type { BigQueryTransport } from './bigquery-transport.ts';
import { compileQuery, compileSummary } from './compile.ts';
import { compileDatasetExport, compileSplit, withCohortOptions } from './compile-cohort.ts';
import { countRowsSql, truncateReaders, upsertScript } from './compile-dml.ts';
import type { PageTokens } from './page-token.ts';
import { type CohortExportRow, decodeExportRow, decodeSummary } from './results.ts';
import type { CohortRows } from './rows.ts';
import { bigQueryTableSchema, type CohortTableId, IMAGES_TABLE, READERS_TABLE } from './schema.ts';
import { decodeSplit } from './split-result.ts';
import { bigQueryDialect } from './sql-dialect.ts';
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
  /** jobs.query request ids and staging-table suffixes; injectable for the same reason. */
  newRequestId?: () => string;
  /** Long-poll of one jobs.query / getQueryResults call (capped by what is left of the deadline). */
  pollTimeoutMs?: number;
  /** Deadline of a query (page, summary, export's first page): past it the job is cancelled and a 503 answered. */
  deadlineMs?: number;
  /** Deadline of a load or upsert: uploads, load jobs and the merge script, each wait on its own. */
  loadDeadlineMs?: number;
  /** Staging tables expire this long after they were created, whatever becomes of the upsert. */
  stagingTtlMs?: number;
  /**
   * Dataset of the upsert's staging tables (BQ_STAGING_DATASET; default `dataset`). Terraform gives it a
   * default table expiration, which the cohort tables' own dataset must not have.
   */
  stagingDataset?: string;
  /** Rows per getQueryResults page while exporting: the memory bound of an export. */
  exportPageRows?: number;
  /** Pause between jobs.get polls of a load job. */
  loadPollMs?: number;
  /** The clock of deadlines and expiration times. */
  now?: () => number;
}

type Rows = Iterable<CohortRows> | AsyncIterable<CohortRows>;

/** The cloud cohort store: parameterised query jobs and NDJSON load jobs, never streaming inserts. */
export function createBigQueryCohortStore(o: BigQueryStoreOptions): CohortStore {
  const t = o.transport;
  const dialect = bigQueryDialect({ project: o.projectId, dataset: o.dataset });
  const stagingTtlMs = o.stagingTtlMs ?? 24 * 3600_000;
  const table = (tableId: string): TableRef => ({ projectId: o.projectId, datasetId: o.dataset, tableId });
  const stagingDataset = o.stagingDataset ?? o.dataset;
  const stagingRef = (tableId: string): TableRef => ({
    projectId: o.projectId,
    datasetId: stagingDataset,
    tableId,
  });
  const stagingDialect = bigQueryDialect({ project: o.projectId, dataset: stagingDataset });
  const jobs = bigQueryJobs(o);
  const { ref, newJobId, newRequestId, now, loadDeadlineMs, insertJob, giveUp } = jobs;
  const { results, runShort, run, waitForJob, pollTimeoutMs, deadlineMs } = jobs;

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
    // One deadline for the whole load: streaming the rows, the uploads and the load jobs.
    const until = now() + loadDeadlineMs;
    /** Resolves `p`, or gives the job up (cancel, 503) when the deadline passes first. */
    const beforeDeadline = async <T>(p: Promise<T>, jobId: string, what: string): Promise<T> => {
      const timer = new AbortController();
      const late = Symbol('late');
      try {
        const r = await Promise.race([
          p,
          sleep(Math.max(0, until - now()), late, { ref: false, signal: timer.signal }).catch(() => p),
        ]);
        return r === late ? giveUp(jobId, what, loadDeadlineMs) : (r as T);
      } finally {
        timer.abort();
      }
    };
    const start = (id: CohortTableId) => {
      const stream = new PassThrough();
      const jobReference = ref(newJobId(`${operation}_${id === IMAGES_TABLE ? 'images' : 'readers'}`));
      const job = loadJob(dest[id], bigQueryTableSchema(id), { jobReference, operation, create });
      const done = insertJob(jobReference.jobId, () => t.upload(job, stream));
      // Rejections surface at the await below or through `failed`; never unhandled.
      done.catch(() => {});
      return { stream, done, jobId: jobReference.jobId };
    };
    const images = start(IMAGES_TABLE);
    let readers: ReturnType<typeof start> | null = null;
    const write = async (u: ReturnType<typeof start>, value: unknown) => {
      if (!u.stream.write(`${JSON.stringify(value)}\n`)) {
        const drained = Promise.race([once(u.stream, 'drain'), u.done.then(() => {})]);
        await beforeDeadline(drained, u.jobId, `${operation} upload`);
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
    for (const j of jobs) await beforeDeadline(j.done, j.jobId, `${operation} upload`);
    for (const j of jobs) await waitForJob(j.jobId, operation, until);
    return { counts, readers: readers !== null };
  }

  const runScript = async (sql: string, operation: string) => {
    await run(sql, {}, operation, 1, loadDeadlineMs);
  };

  /** Creates an empty staging table with an expiration; a 409 (a retried insert) means it exists already. */
  async function createStaging(id: CohortTableId, tableId: string) {
    const body = stagingTable(stagingRef(tableId), bigQueryTableSchema(id), now() + stagingTtlMs);
    // tables.insert as Dataset.createTable sends it, through the transport seam that the tests replay.
    try {
      await t.request({
        method: 'POST',
        path: `/datasets/${stagingDataset}/tables`,
        body,
        timeoutMs: 60_000,
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw mapBigQueryError(err);
    }
  }

  return {
    kind: 'bigquery',
    async query(filter, pageSize, pageToken, options = {}) {
      const after = pageStart(filter, o.tokens, pageToken, options);
      const page = compileQuery(filter, { after, limit: pageSize + 1 }, dialect);
      const q = withCohortOptions(page, filter, options, dialect);
      const res = await runShort(q.sql, q.params, 'query', pageSize + 1);
      return toPage(decodeRows(res), filter, pageSize, o.tokens, options);
    },
    async split(filter, options) {
      const q = compileSplit(filter, options, dialect);
      const res = await runShort(q.sql, q.params, 'split', 11);
      return decodeSplit(decodeRows(res), options.split);
    },
    async agreement(a) {
      // One row per reader (a few dozen at most); the counting happens in BigQuery.
      const q = compileAgreement(a, dialect);
      return decodeAgreement(a, decodeRows(await runShort(q.sql, q.params, 'agreement', 1000)));
    },
    async summary(filter, options = {}) {
      const q = withCohortOptions(compileSummary(filter, dialect), filter, options, dialect);
      const res = await runShort(q.sql, q.params, 'summary', 1);
      return decodeSummary(decodeRows(res)[0] ?? {});
    },
    export(filter, options = {}): AsyncIterable<CohortExportRow> {
      const q = compileDatasetExport(filter, options, dialect);
      const partNames = options.split ? Object.keys(options.split.parts) : undefined;
      const pageRows = o.exportPageRows ?? 10_000;
      return {
        async *[Symbol.asyncIterator]() {
          const first = await run(q.sql, q.params, 'export', pageRows);
          let res: QueryResultsResponse = first.res;
          for (;;) {
            for (const row of decodeRows(res)) yield decodeExportRow(row, partNames);
            if (!res.pageToken) return;
            res = await results(
              first.jobId,
              { maxResults: String(pageRows), pageToken: res.pageToken },
              Math.min(pollTimeoutMs, deadlineMs),
            );
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
      const suffix = newRequestId().replaceAll('-', '');
      const names = { images: `staging_images_${suffix}`, readers: `staging_readers_${suffix}` };
      const dest = { [IMAGES_TABLE]: stagingRef(names.images), [READERS_TABLE]: stagingRef(names.readers) };
      try {
        await createStaging(IMAGES_TABLE, names.images);
        await createStaging(READERS_TABLE, names.readers);
        const staged = await stage(rows, dest, 'upsert', false);
        const script = upsertScript(
          dialect,
          { images: names.images, readers: staged.readers ? names.readers : null },
          stagingDialect,
        );
        await runScript(script, 'upsert');
        return staged.counts;
      } finally {
        for (const name of [names.images, names.readers]) {
          await t
            .request({
              method: 'DELETE',
              path: `/datasets/${stagingDataset}/tables/${name}`,
              timeoutMs: 60_000,
            })
            .catch(() => {}); // best effort: a missing staging table is fine
        }
      }
    },
    async stats() {
      const res = await runShort(countRowsSql(dialect), {}, 'stats', 1);
      const [row] = decodeRows(res);
      return { images: Number(row?.images ?? 0), readers: Number(row?.readers ?? 0) };
    },
    async close() {},
  };
}
