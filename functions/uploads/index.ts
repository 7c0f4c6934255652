/**
 * Cloud Function `processUpload` (CloudEvent, google.cloud.storage.object.v1.finalized on the uploads
 * bucket): loads label files into Firestore and the cohort store, registers images, writes a report.
 * Thin entry: configuration at start-up, the rest in app.ts.
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { openBigQueryCohortStore, requireBigQueryStore } from '../../shared/cohorts/open-bigquery.ts';
import { createUploadsApp, loadUploadsAppConfig } from './app.ts';

const config = loadUploadsAppConfig();
// The cloud bundle has no DuckDB: a label file needs BigQuery, refused at start-up rather than on the first file.
requireBigQueryStore(config.uploads.cohorts);
const app = createUploadsApp({
  config,
  openStore: (c, log) => openBigQueryCohortStore(c, log, { google: config.google }),
});
// The processor is made at instance start, while the framework still sets up its server: its code, the REST
// clients, the project, the access token and a kept-alive connection to Storage and to Firestore are ready,
// or on the way, when the first event arrives (started on the next turn instead, the connections were still
// opening when the first event needed them). Not awaited; a failure is forgotten by the lazy processor and
// retried by the first event.
void app.processor().catch(() => undefined);
cloudEvent('processUpload', app.handler);
