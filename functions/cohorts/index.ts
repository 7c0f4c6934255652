/** Cloud Function `cohorts`: POST /v1/cohorts:query, :summary and :export over BigQuery (DuckDB is local-only). */
import { http } from '@google-cloud/functions-framework';
import { openBigQueryCohortStore, requireBigQueryStore } from '../../shared/cohorts/open-bigquery.ts';
import { createCohortsApp, loadCohortsAppConfig } from './app.ts';

const config = loadCohortsAppConfig();
requireBigQueryStore(config.cohorts);

export const cohorts = createCohortsApp({ config, openStore: openBigQueryCohortStore }).handler;
http('cohorts', cohorts);
