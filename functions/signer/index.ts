/** Entry point of the `signer` function: V4 signed URLs for the dataset bucket (POST :signUrls, GET /content). */
import { http } from '@google-cloud/functions-framework';
import { createSignerApp, loadSignerAppConfig } from './app.ts';

const app = createSignerApp({ config: loadSignerAppConfig() });
// A cold instance fetches its identity and token and loads node:https on the event loop's next turn (the
// framework has called listen() by then), so that the first signUrls waits for signBlob alone (IAM path;
// the HMAC and key-file signers need nothing). Not awaited; a failure is met, and retried, by the request.
setImmediate(() => app.setup.signer?.warm?.());

export const signer = app.handler;
http('signer', signer);
