/** Entry point of the `signer` function: V4 signed URLs for the dataset bucket (POST :signUrls, GET /content). */
import { http } from '@google-cloud/functions-framework';
import { createSignerApp, loadSignerAppConfig } from './app.ts';

export const signer = createSignerApp({ config: loadSignerAppConfig() }).handler;
http('signer', signer);
