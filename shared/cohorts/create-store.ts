import { logger as defaultLogger, type Logger } from '../log.ts';
import type { CohortsConfig } from './config.ts';
import { createPageTokens } from './page-token.ts';
import type { CohortStore } from './store.ts';

/** What opening a store reads: the cohorts function's configuration, or the upload function's part of it. */
export type CohortStoreConfig = Pick<CohortsConfig, 'store' | 'pageTokenSecret' | 'bigQuery' | 'duckdb'>;

/**
 * The cohort store this configuration asks for, with its one client. DuckDB loads NIH_DATA_DIR at start-up
 * when its database is empty; the local server may instead load whatever it likes through store.load().
 * Each branch imports its own SDK when it runs (a chunk of its own in the bundle): a cold start loads neither
 * the BigQuery client nor DuckDB's native module, and the cloud never loads DuckDB.
 */
export async function createCohortStore(
  c: CohortStoreConfig,
  log: Logger = defaultLogger,
): Promise<CohortStore> {
  const tokens = createPageTokens(c.pageTokenSecret);
  if (c.store === 'bigquery') {
    const [{ createBigQueryClient }, { createBigQueryCohortStore }, { clientTransport }] = await Promise.all([
      import('./bigquery-client.ts'),
      import('./bigquery-store.ts'),
      import('./bigquery-transport.ts'),
    ]);
    const { client, projectId } = await createBigQueryClient({
      projectId: c.bigQuery.projectId,
      location: c.bigQuery.location,
    });
    log.info('cohort store: BigQuery', {
      projectId,
      dataset: c.bigQuery.dataset,
      location: c.bigQuery.location,
    });
    return createBigQueryCohortStore({
      transport: clientTransport(client, projectId),
      tokens,
      projectId,
      dataset: c.bigQuery.dataset,
      location: c.bigQuery.location,
      maximumBytesBilled: c.bigQuery.maximumBytesBilled,
    });
  }
  const [{ createDuckDbCohortStore }, { loadDatasetDir }, { toCohortRows }] = await Promise.all([
    import('./duckdb-store.ts'),
    import('../dataset/index.ts'),
    import('./rows.ts'),
  ]);
  const store = await createDuckDbCohortStore({
    tokens,
    path: c.duckdb.path,
    ...(c.duckdb.threads ? { threads: c.duckdb.threads } : {}),
  });
  const { images } = await store.stats();
  if (images === 0 && c.duckdb.dataDir) {
    const started = Date.now();
    const { records } = await loadDatasetDir(c.duckdb.dataDir);
    const counts = await store.load(
      (function* () {
        for (const r of records) yield toCohortRows(r);
      })(),
    );
    log.info('cohort store: DuckDB loaded', {
      ...counts,
      dataDir: c.duckdb.dataDir,
      ms: Date.now() - started,
    });
  } else if (images === 0) {
    log.warn('cohort store: DuckDB is empty; set NIH_DATA_DIR or load rows through store.load()');
  }
  return store;
}
