/** Entry point of the `signer` function: V4 signed URLs for the dataset bucket (POST :signUrls, GET /content). */
import { http } from '@google-cloud/functions-framework';
import { createSignerApp, loadSignerAppConfig } from './app.ts';

const app = createSignerApp({ config: loadSignerAppConfig() });
// A cold instance fetches its identity and token while the framework finishes starting (IAM path; the HMAC
// and key-file signers need nothing): the first signUrls then waits for signBlob alone. Not awaited; a
// failure is met, and retried, by the first request.
app.setup.signer?.warm?.();

export const signer = app.handler;
http('signer', signer);
