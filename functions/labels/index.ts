/** Cloud Function `labels`: image labels from Firestore (GET image, POST images:batchGet, GET patient images). */
import { http } from '@google-cloud/functions-framework';
import { createLabelsApp, loadLabelsAppConfig } from './app.ts';

const app = createLabelsApp({ config: loadLabelsAppConfig() });
export const labels = app.handler;
http('labels', labels);
// Cold start: the token, the connection and the cache's first stamp check, started once this import is
// done (the framework listens right after it), so that they overlap the wait for the first request instead
// of delaying the listen.
setImmediate(() => void app.warm());
