import { DuckDBInstance } from '@duckdb/node-api';
import { compileAgreement, decodeAgreement } from './agreement.ts';
import { type CompiledSql, compileQuery, compileSummary } from './compile.ts';
import { compileDatasetExport, compileSplit, withCohortOptions } from './compile-cohort.ts';
import { countRows, createTablesIfMissing, replaceRows, upsertRows } from './duckdb-load.ts';
import { createDuckDbPool, type DuckDbPool } from './duckdb-pool.ts';
import { readRows, streamChunks } from './duckdb-sql.ts';
import type { PageTokens } from './page-token.ts';
import { createReadCache } from './read-cache.ts';
import { type CohortExportRow, decodeExportRow, decodeSummary } from './results.ts';
import { decodeSplit } from './split-result.ts';
import { duckDbDialect } from './sql-dialect.ts';
import { type CohortStore, pageStart, toPage } from './store.ts';

export { duckDbParams } from './duckdb-sql.ts';

export interface DuckDbStoreOptions {
  tokens: PageTokens;
  /** Database file; default ':memory:'. */
  path?: string;
  /** DuckDB threads; default DuckDB's (all cores). */
  threads?: number;
  /** Rows of query pages and summaries kept between writes (read-cache.ts); default 50,000, 0 for none. */
  cacheRows?: number;
}

/**
 * The embedded cohort store: DuckDB in-process, bulk loads through the appender API. Query pages and
 * summaries are kept until the next write through the store (read-cache.ts).
 */
export async function createDuckDbCohortStore(opts: DuckDbStoreOptions): Promise<CohortStore> {
  const instance = await DuckDBInstance.create(
    opts.path ?? ':memory:',
    opts.threads ? { threads: String(opts.threads) } : {},
  );
  const dialect = duckDbDialect();
  const pool = createDuckDbPool(instance);
  const rowsOf = (q: CompiledSql) => pool.withConnection((c) => readRows(c, q));
  const cache = createReadCache(opts.cacheRows);
  const cachedRowsOf = (q: CompiledSql) => cache.rows(q, () => rowsOf(q));
  await pool.withConnection(createTablesIfMissing);

  return {
    kind: 'duckdb',
    async query(filter, pageSize, pageToken, options = {}) {
      const after = pageStart(filter, opts.tokens, pageToken, options);
      const q = compileQuery(filter, { after, limit: pageSize + 1 }, dialect);
      const rows = await cachedRowsOf(withCohortOptions(q, filter, options, dialect));
      return toPage(rows, filter, pageSize, opts.tokens, options);
    },
    async summary(filter, options = {}) {
      const [row] = await cachedRowsOf(
        withCohortOptions(compileSummary(filter, dialect), filter, options, dialect),
      );
      return decodeSummary(row ?? {});
    },
    async split(filter, options) {
      return decodeSplit(await rowsOf(compileSplit(filter, options, dialect)), options.split);
    },
    async agreement(q) {
      return decodeAgreement(q, await rowsOf(compileAgreement(q, dialect)));
    },
    export(filter, options = {}) {
      const q = compileDatasetExport(filter, options, dialect);
      const partNames = options.split ? Object.keys(options.split.parts) : undefined;
      return exportRows(pool, q, partNames);
    },
    load: (rows) => cache.write(() => pool.withConnection((c) => replaceRows(c, rows))),
    upsert: (rows) => cache.write(() => pool.withConnection((c) => upsertRows(c, rows))),
    stats: () => pool.withConnection(countRows),
    async close() {
      cache.close();
      pool.closeIdle();
      instance.closeSync();
    },
  };
}

/** An export's rows, streamed on a connection of their own that is closed when they end or are abandoned. */
function exportRows(
  pool: DuckDbPool,
  q: CompiledSql,
  partNames: string[] | undefined,
): AsyncIterable<CohortExportRow> {
  return {
    async *[Symbol.asyncIterator]() {
      const c = await pool.acquire();
      try {
        for await (const rows of streamChunks(c, q)) {
          for (const row of rows) yield decodeExportRow(row, partNames);
        }
      } finally {
        // A stream abandoned half-way leaves a pending result on the connection: do not reuse it.
        c.closeSync();
      }
    },
  };
}
