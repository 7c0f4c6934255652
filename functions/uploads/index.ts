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
// The processor is made at instance start, on the event loop's next turn (the framework has called listen()
// by then, so the port opens no later): its code, the REST clients, the project and the access token are
// ready, or on the way, when the first event arrives. Not awaited; a failure is forgotten by the lazy
// processor and retried by the first event.
setImmediate(() => app.processor().catch(() => undefined));
cloudEvent('processUpload', app.handler);
