/** Cloud Function `cohorts`: POST /v1/cohorts:query, :summary and :export over BigQuery (cloud) or DuckDB. */
import { http } from '@google-cloud/functions-framework';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { createCohortsApp, loadCohortsAppConfig } from './app.ts';

export const cohorts = createCohortsApp({
  config: loadCohortsAppConfig(),
  openStore: createCohortStore,
}).handler;
http('cohorts', cohorts);
