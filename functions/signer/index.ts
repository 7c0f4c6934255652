/** Entry point of the `signer` function: V4 signed URLs for the dataset bucket (POST :signUrls, GET /content). */
import { http } from '@google-cloud/functions-framework';
import { loadHttpConfig } from '../../shared/http/http-config.ts';
import { createRouter } from '../../shared/http/router.ts';
import { logger } from '../../shared/log.ts';
import { createUrlSigner } from '../../shared/signing/create-signer.ts';
import { loadSignerConfig } from '../../shared/signing/signer-config.ts';
import { createSignerRoutes } from './routes.ts';

const log = logger.child({ function: 'signer' });
const setup = createUrlSigner(loadSignerConfig());
if (setup.signer) {
  log.info('URL signer ready', { signer: setup.kind, billingProject: setup.signer.billingProject });
} else {
  log.warn('URL signing is not configured; routes answer 503', { detail: setup.problem });
}

export const signer = createRouter(createSignerRoutes(setup), { logger: log, ...loadHttpConfig() });
http('signer', signer);
