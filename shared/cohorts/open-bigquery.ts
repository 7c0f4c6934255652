import type { Agent as HttpAgent } from 'node:http';
import { ConfigError } from '../config.ts';
import { type GoogleEnv, googleAgents, googleTokenSource, loadGoogleEnv } from '../google/google-env.ts';
import { metadataProject, preconnect } from '../google/rest-http.ts';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { BIGQUERY_ENDPOINT, restTransport } from './bigquery-http.ts';
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

export interface OpenBigQueryOptions {
  /** Metadata server, proxy and key file (loadGoogleEnv() of the environment by default). */
  google?: GoogleEnv;
  /** The BigQuery API's base URL; https://bigquery.googleapis.com unless a test serves the API. */
  endpoint?: string;
}

/** The configured project, else the metadata server's, else that of Application Default Credentials. */
async function findProject(configured: string | undefined, g: GoogleEnv, metadataAgent: () => HttpAgent) {
  if (configured) return configured;
  if (!g.keyFile) {
    const fromMetadata = await metadataProject(metadataAgent, g.metadataUrl).catch(() => undefined);
    if (fromMetadata) return fromMetadata;
  }
  const { GoogleAuth } = await import('google-auth-library');
  return new GoogleAuth().getProjectId();
}

/**
 * The BigQuery cohort store with its one transport: the cloud entries' store factory (it never loads DuckDB
 * nor a Google client library on Google Cloud). BigQuery REST v2 over node:https with the metadata server's
 * token (bigquery-http.ts says why not @google-cloud/bigquery). Opening it starts fetching the token without
 * waiting for it, loads node:https and opens a connection to BigQuery (preconnect), so that a store opened at
 * instance start (functions/cohorts/index.ts) has them, or has them on the way, by the first query; a failed
 * fetch is simply asked again by the query.
 */
export async function openBigQueryCohortStore(
  c: CohortStoreConfig,
  log: Logger = defaultLogger,
  opts: OpenBigQueryOptions = {},
): Promise<CohortStore> {
  requireBigQueryStore(c);
  const g = opts.google ?? loadGoogleEnv();
  const endpoint = opts.endpoint ?? BIGQUERY_ENDPOINT;
  const { agent, metadataAgent } = googleAgents(endpoint, g);
  const token = googleTokenSource(g, metadataAgent);
  token().catch(() => undefined); // on its way while the rest opens; a failure is asked again by the query
  // One turn of the event loop before the loading below (node:https, the store's chunk: tens of ms of CPU on
  // a cold instance): the token request's connection completes and its request goes out now, so that the
  // metadata server answers while they load, not after (measured: the first query no longer waits for it).
  await new Promise<void>((resolve) => setImmediate(resolve));
  // node:https, loaded now rather than inside the first query, and a kept-alive connection (TLS) to BigQuery.
  preconnect(endpoint, agent);
  const [{ createBigQueryCohortStore }, projectId] = await Promise.all([
    import('./bigquery-store.ts'),
    findProject(c.bigQuery.projectId, g, metadataAgent),
  ]);
  log.info('cohort store: BigQuery', {
    projectId,
    dataset: c.bigQuery.dataset,
    location: c.bigQuery.location,
  });
  return createBigQueryCohortStore({
    transport: restTransport({ projectId, token, agent, endpoint }),
    tokens: createPageTokens(c.pageTokenSecret),
    projectId,
    dataset: c.bigQuery.dataset,
    location: c.bigQuery.location,
    maximumBytesBilled: c.bigQuery.maximumBytesBilled,
    ...(c.bigQuery.stagingDataset ? { stagingDataset: c.bigQuery.stagingDataset } : {}),
  });
}
