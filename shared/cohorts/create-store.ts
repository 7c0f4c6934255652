import { BigQuery } from '@google-cloud/bigquery';
import { loadDatasetDir } from '../dataset/index.ts';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { createBigQueryCohortStore } from './bigquery-store.ts';
import { type BigQueryServiceLike, clientTransport } from './bigquery-transport.ts';
import type { CohortsConfig } from './config.ts';
import { createDuckDbCohortStore } from './duckdb-store.ts';
import { createPageTokens } from './page-token.ts';
import { toCohortRows } from './rows.ts';
import type { CohortStore } from './store.ts';

/**
 * The cohort store this configuration asks for, with its one client. DuckDB loads NIH_DATA_DIR at start-up
 * when its database is empty; the local server may instead load whatever it likes through store.load().
 */
export async function createCohortStore(c: CohortsConfig, log: Logger = defaultLogger): Promise<CohortStore> {
  const tokens = createPageTokens(c.pageTokenSecret);
  if (c.store === 'bigquery') {
    const client = new BigQuery({
      ...(c.bigQuery.projectId ? { projectId: c.bigQuery.projectId } : {}),
      location: c.bigQuery.location,
    });
    const projectId = c.bigQuery.projectId ?? (await client.getProjectId());
    log.info('cohort store: BigQuery', {
      projectId,
      dataset: c.bigQuery.dataset,
      location: c.bigQuery.location,
    });
    return createBigQueryCohortStore({
      transport: clientTransport(client as unknown as BigQueryServiceLike, projectId),
      tokens,
      projectId,
      dataset: c.bigQuery.dataset,
      location: c.bigQuery.location,
      maximumBytesBilled: c.bigQuery.maximumBytesBilled,
    });
  }
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
