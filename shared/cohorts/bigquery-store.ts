import { compileAgreement, decodeAgreement } from './agreement.ts';
import { exportPages } from './bigquery-export.ts';
import { jobContext } from './bigquery-jobs.ts';
import { runShort } from './bigquery-queries.ts';
import { decodeRows } from './bigquery-rest.ts';
import type { BigQueryTransport } from './bigquery-transport.ts';
import { type LoadContext, loadRows, upsertRows } from './bigquery-upsert.ts';
import { type CompiledSql, compileQuery, compileSummary } from './compile.ts';
import { compileDatasetExport, compileSplit, withCohortOptions } from './compile-cohort.ts';
import { countRowsSql } from './compile-dml.ts';
import type { PageTokens } from './page-token.ts';
import { decodeSummary } from './results.ts';
import { decodeSplit } from './split-result.ts';
import { bigQueryDialect } from './sql-dialect.ts';
import { type CohortStore, pageStart, toPage } from './store.ts';

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

/** The cloud cohort store: parameterised query jobs and NDJSON load jobs, never streaming inserts. */
export function createBigQueryCohortStore(o: BigQueryStoreOptions): CohortStore {
  const dialect = bigQueryDialect({ project: o.projectId, dataset: o.dataset });
  const stagingDataset = o.stagingDataset ?? o.dataset;
  const jobs = jobContext(o);
  const loads: LoadContext = {
    jobs,
    dataset: o.dataset,
    dialect,
    stagingDataset,
    stagingDialect: bigQueryDialect({ project: o.projectId, dataset: stagingDataset }),
    stagingTtlMs: o.stagingTtlMs ?? 24 * 3600_000,
  };
  /** A short query job (runShort) of compiled SQL. */
  const short = (q: Pick<CompiledSql, 'sql' | 'params'>, operation: string, maxResults: number) =>
    runShort(jobs, q.sql, q.params, operation, maxResults);

  return {
    kind: 'bigquery',
    async query(filter, pageSize, pageToken, options = {}) {
      const after = pageStart(filter, o.tokens, pageToken, options);
      const page = compileQuery(filter, { after, limit: pageSize + 1 }, dialect);
      const q = withCohortOptions(page, filter, options, dialect);
      const res = await short(q, 'query', pageSize + 1);
      return toPage(decodeRows(res), filter, pageSize, o.tokens, options);
    },
    async split(filter, options) {
      const q = compileSplit(filter, options, dialect);
      return decodeSplit(decodeRows(await short(q, 'split', 11)), options.split);
    },
    async agreement(a) {
      // One row per reader (a few dozen at most); the counting happens in BigQuery.
      const q = compileAgreement(a, dialect);
      return decodeAgreement(a, decodeRows(await short(q, 'agreement', 1000)));
    },
    async summary(filter, options = {}) {
      const q = withCohortOptions(compileSummary(filter, dialect), filter, options, dialect);
      return decodeSummary(decodeRows(await short(q, 'summary', 1))[0] ?? {});
    },
    export(filter, options = {}) {
      const q = compileDatasetExport(filter, options, dialect);
      const partNames = options.split ? Object.keys(options.split.parts) : undefined;
      return exportPages(jobs, q, partNames, o.exportPageRows ?? 10_000);
    },
    load: (rows) => loadRows(loads, rows),
    upsert: (rows) => upsertRows(loads, rows),
    async stats() {
      const [row] = decodeRows(await short({ sql: countRowsSql(dialect), params: {} }, 'stats', 1));
      return { images: Number(row?.images ?? 0), readers: Number(row?.readers ?? 0) };
    },
    async close() {},
  };
}
