/** Cloud Function `cohorts`: POST /v1/cohorts:query, :summary and :export over BigQuery (DuckDB is local-only). */
import { http } from '@google-cloud/functions-framework';
import { openBigQueryCohortStore, requireBigQueryStore } from '../../shared/cohorts/open-bigquery.ts';
import { createCohortsApp, loadCohortsAppConfig } from './app.ts';

const config = loadCohortsAppConfig();
requireBigQueryStore(config.cohorts);

const app = createCohortsApp({
  config,
  openStore: (c, log) => openBigQueryCohortStore(c, log, { google: config.google }),
});
// The store opens at instance start, on the event loop's next turn (the framework has called listen() by
// then, so the port opens no later): its code, node:https, the project and the access token are ready, or
// on the way, when the first query arrives, instead of all being paid inside it. Not awaited; a failed open
// is forgotten by the lazy store and retried by the first request.
setImmediate(() => app.store().catch(() => undefined));

export const cohorts = app.handler;
http('cohorts', cohorts);
