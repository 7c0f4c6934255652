/**
 * Cloud Function `processUpload` (CloudEvent, google.cloud.storage.object.v1.finalized on the uploads
 * bucket): loads label files into Firestore and the cohort store, registers images, writes a report.
 * Thin entry: configuration at start-up, the rest in app.ts.
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { createUploadsApp, loadUploadsAppConfig } from './app.ts';

const app = createUploadsApp({ config: loadUploadsAppConfig(), openStore: createCohortStore });
cloudEvent('processUpload', app.handler);
