import { ConfigError } from '../config.ts';
import { logger as defaultLogger, type Logger } from '../log.ts';
import type { CohortStoreConfig } from './create-store.ts';
import { createPageTokens } from './page-token.ts';
import type { CohortStore } from './store.ts';

/**
 * Refuses, at start-up, a cloud function configured for any store but BigQuery: the cloud bundles do not
 * contain DuckDB (scripts/build.ts refuses it), so COHORT_STORE=duckdb, or leaving it unset, would only fail
 * on the first request.
 */
export function requireBigQueryStore(c: Pick<CohortStoreConfig, 'store'>): void {
  if (c.store === 'bigquery') return;
  throw new ConfigError(
    `Invalid configuration:\n  COHORT_STORE: must be bigquery in the cloud (got ${c.store}); ` +
      'DuckDB is local-only and not part of the deployed bundle. Set COHORT_STORE=bigquery and BQ_DATASET.',
  );
}

/**
 * The BigQuery cohort store with its one client: the cloud entries' store factory (it never loads DuckDB).
 * The client library is imported when the store opens, a chunk of its own in the bundle.
 */
export async function openBigQueryCohortStore(
  c: CohortStoreConfig,
  log: Logger = defaultLogger,
): Promise<CohortStore> {
  requireBigQueryStore(c);
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
    tokens: createPageTokens(c.pageTokenSecret),
    projectId,
    dataset: c.bigQuery.dataset,
    location: c.bigQuery.location,
    maximumBytesBilled: c.bigQuery.maximumBytesBilled,
    ...(c.bigQuery.stagingDataset ? { stagingDataset: c.bigQuery.stagingDataset } : {}),
  });
}
