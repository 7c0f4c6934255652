/** Cloud Function `cohorts`: POST /v1/cohorts:query, :summary and :export over BigQuery (DuckDB is local-only). */
import { http } from '@google-cloud/functions-framework';
import { openBigQueryCohortStore, requireBigQueryStore } from '../../shared/cohorts/open-bigquery.ts';
import { loadGoogleEnv } from '../../shared/google/google-env.ts';
import { createCohortsApp, loadCohortsAppConfig } from './app.ts';

const config = loadCohortsAppConfig();
requireBigQueryStore(config.cohorts);
const google = loadGoogleEnv();

const app = createCohortsApp({
  config,
  openStore: (c, log) => openBigQueryCohortStore(c, log, { google }),
});
// The store opens at instance start, while the framework finishes starting: its code, the project and the
// access token are ready (or on the way) when the first query arrives. Not awaited; a failed open is
// forgotten by the lazy store and retried by the first request.
app.store().catch(() => undefined);

export const cohorts = app.handler;
http('cohorts', cohorts);
