/** Cloud Function `cohorts`: POST /v1/cohorts:query, :summary and :export over BigQuery (cloud) or DuckDB. */
import { http } from '@google-cloud/functions-framework';
import { CohortsConfigSchema } from '../../shared/cohorts/config.ts';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { loadConfig } from '../../shared/config.ts';
import { loadHttpConfig } from '../../shared/http/http-config.ts';
import { createRouter } from '../../shared/http/router.ts';
import { lazy } from '../../shared/lazy.ts';
import { logger } from '../../shared/log.ts';
import { createUrlSigner } from '../../shared/signing/create-signer.ts';
import { loadSignerConfig } from '../../shared/signing/signer-config.ts';
import { createCohortsRoutes } from './routes.ts';

const log = logger.child({ function: 'cohorts' });
const config = loadConfig(CohortsConfigSchema);
const signing = createUrlSigner(loadSignerConfig());
if (!signing.signer) log.info('signed export URLs are off', { detail: signing.problem });

/** Created once per instance on first use; a failed start is retried by the next request. */
const getStore = lazy(() => createCohortStore(config, log));

/** A store that failed after it opened is dropped (and closed), so the next request opens a fresh one. */
const dropStore = (err: unknown) => {
  log.error('cohort store failed; it will be reopened', { err });
  void getStore
    .reset()
    ?.then((s) => s.close())
    .catch(() => undefined);
};

export const cohorts = createRouter(
  createCohortsRoutes({ store: getStore, signer: signing.signer, logger: log, onStoreFailure: dropStore }),
  { logger: log, ...loadHttpConfig() },
);
http('cohorts', cohorts);
