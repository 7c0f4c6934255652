import { logger as defaultLogger, type Logger } from '../log.ts';
import type { CohortsConfig } from './config.ts';
import { openBigQueryCohortStore } from './open-bigquery.ts';
import { createPageTokens } from './page-token.ts';
import type { CohortStore } from './store.ts';

/** What opening a store reads: the cohorts function's configuration, or the upload function's part of it. */
export type CohortStoreConfig = Pick<CohortsConfig, 'store' | 'pageTokenSecret' | 'bigQuery' | 'duckdb'>;

/**
 * The cohort store this configuration asks for, with its one client: local runs and tests (the cloud entries
 * use openBigQueryCohortStore, and the cloud build refuses this module). DuckDB loads NIH_DATA_DIR at
 * start-up when its database is empty; the local server may instead load whatever it likes through
 * store.load(). Each branch imports its own SDK when it runs.
 */
export async function createCohortStore(
  c: CohortStoreConfig,
  log: Logger = defaultLogger,
): Promise<CohortStore> {
  if (c.store === 'bigquery') return openBigQueryCohortStore(c, log);
  const tokens = createPageTokens(c.pageTokenSecret);
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
