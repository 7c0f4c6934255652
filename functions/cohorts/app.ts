/**
 * The cohorts function, assembled in one place from its validated configuration: the cloud entry (index.ts),
 * the local server and the tests all build it here. How the store is opened is a parameter: the cloud entry
 * passes its factory, the local server one that also loads the local data set.
 */
import { type CohortsConfig, loadCohortsConfig } from '../../shared/cohorts/config.ts';
import type { CohortStoreConfig } from '../../shared/cohorts/create-store.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadDicomLinkConfig } from '../../shared/dicom/config.ts';
import type { LinkConfig } from '../../shared/dicom/links.ts';
import { type GoogleEnv, loadGoogleEnv } from '../../shared/google/google-env.ts';
import { type HttpConfig, loadHttpConfig } from '../../shared/http/config.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { type Lazy, lazy } from '../../shared/lazy.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import { loadSignerConfig, type SignerConfig } from '../../shared/signing/config.ts';
import { createExportSigner, type SignerDeps } from '../../shared/signing/create-signer.ts';
import { createCohortsRoutes } from './routes.ts';

/** Everything the cohorts function reads from the environment (signing: for exports with signed URLs). */
export interface CohortsAppConfig {
  cohorts: CohortsConfig;
  signer: SignerConfig;
  http: HttpConfig;
  /** The export's dicomLinks columns (DICOMWEB_BASE / DICOM_STORE, DICOM_VIEWER_URL). */
  links: LinkConfig;
  /** Metadata server, proxy and key file of the REST clients (BigQuery, IAM signBlob). */
  google: GoogleEnv;
}

export function loadCohortsAppConfig(
  env: Record<string, string | undefined> = process.env,
): CohortsAppConfig {
  return {
    cohorts: loadCohortsConfig(env),
    signer: loadSignerConfig(env),
    http: loadHttpConfig(env),
    links: loadDicomLinkConfig(env),
    google: loadGoogleEnv(env),
  };
}

/** Opens the store the configuration names (createCohortStore, or a narrower factory). */
export type OpenCohortStore = (config: CohortStoreConfig, log: Logger) => Promise<CohortStore>;

export interface CohortsAppDeps {
  config: CohortsAppConfig;
  openStore: OpenCohortStore;
  signing?: SignerDeps;
  logger?: Logger;
}

export interface CohortsApp {
  routes: Route[];
  handler: ReturnType<typeof createRouter>;
  /** The instance's store: opened on first use, dropped and reopened after it fails. */
  store: Lazy<CohortStore>;
}

export function createCohortsApp(deps: CohortsAppDeps): CohortsApp {
  const { cohorts, signer, http } = deps.config;
  const log = deps.logger ?? defaultLogger.child({ function: 'cohorts' });
  const signing = createExportSigner(signer, { google: deps.config.google, ...deps.signing });
  if (!signing.signer) {
    log.info('signed export URLs are off', { detail: signing.problem, reason: signing.reason });
  }

  /** Created once per instance on first use; a failed start is retried by the next request. */
  const store = lazy(() => deps.openStore(cohorts, log));
  /** A store that failed after it opened is dropped (and closed), so the next request opens a fresh one. */
  const dropStore = (err: unknown) => {
    log.error('cohort store failed; it will be reopened', { err });
    void store
      .reset()
      ?.then((s) => s.close())
      .catch(() => undefined);
  };
  const routes = createCohortsRoutes({
    store,
    signer: signing.signer,
    signerKind: signing.kind,
    limits: signing.limits,
    logger: log,
    onStoreFailure: dropStore,
    nihCsvLayout: cohorts.nihCsvLayout,
    dicomLinks: deps.config.links,
  });
  return { routes, handler: createRouter(routes, { logger: log, ...http }), store };
}
