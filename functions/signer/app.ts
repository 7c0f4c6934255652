/**
 * The signer function, assembled in one place from its validated configuration: the cloud entry (index.ts),
 * the local server and the tests all build it here.
 */
import { type GoogleEnv, loadGoogleEnv } from '../../shared/google/google-env.ts';
import { type HttpConfig, loadHttpConfig } from '../../shared/http/config.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import { loadSignerConfig, type SignerConfig } from '../../shared/signing/config.ts';
import { createUrlSigner, type SignerDeps, type SignerSetup } from '../../shared/signing/create-signer.ts';
import { createSignerRoutes } from './routes.ts';

/** Everything the signer function reads from the environment. */
export interface SignerAppConfig {
  signer: SignerConfig;
  http: HttpConfig;
  /** Metadata server, proxy and key file of the IAM path's REST client. */
  google: GoogleEnv;
}

export function loadSignerAppConfig(env: Record<string, string | undefined> = process.env): SignerAppConfig {
  return { signer: loadSignerConfig(env), http: loadHttpConfig(env), google: loadGoogleEnv(env) };
}

export interface SignerAppDeps {
  config: SignerAppConfig;
  /** Clock, key-file reader and IAM client of the signer; defaults are the real ones. */
  signing?: SignerDeps;
  logger?: Logger;
}

export interface SignerApp {
  routes: Route[];
  handler: ReturnType<typeof createRouter>;
  setup: SignerSetup;
}

export function createSignerApp(deps: SignerAppDeps): SignerApp {
  const log = deps.logger ?? defaultLogger.child({ function: 'signer' });
  const setup = createUrlSigner(deps.config.signer, { google: deps.config.google, ...deps.signing });
  if (setup.signer) {
    log.info('URL signer ready', { signer: setup.kind, billingProject: setup.signer.billingProject });
  } else {
    log.warn('URL signing is not configured; routes answer 503', {
      detail: setup.problem,
      reason: setup.reason,
    });
  }
  const routes = createSignerRoutes(setup);
  return { routes, handler: createRouter(routes, { logger: log, ...deps.config.http }), setup };
}
