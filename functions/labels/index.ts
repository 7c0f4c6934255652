/** Cloud Function `labels`: image labels from Firestore (GET image, POST images:batchGet, GET patient images). */
import { http } from '@google-cloud/functions-framework';
import { createLabelsApp, loadLabelsAppConfig } from './app.ts';

export const labels = createLabelsApp({ config: loadLabelsAppConfig() }).handler;
http('labels', labels);
