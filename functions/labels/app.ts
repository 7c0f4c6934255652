/**
 * The labels function, assembled in one place from its validated configuration: the cloud entry (index.ts),
 * the local server and the tests all build it here, so they run the same wiring by construction.
 */
import type { Firestore } from '@google-cloud/firestore';
import { loadDicomLinkConfig } from '../../shared/dicom/config.ts';
import type { LinkConfig } from '../../shared/dicom/links.ts';
import { type HttpConfig, loadHttpConfig } from '../../shared/http/config.ts';
import type { MetaDeps } from '../../shared/http/meta-routes.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { type CircuitBreakerOptions, withCircuitBreaker } from '../../shared/labels/circuit-breaker.ts';
import { type LabelsConfig, loadLabelsConfig } from '../../shared/labels/config.ts';
import { withDeadline } from '../../shared/labels/errors.ts';
import { lazyFirestore } from '../../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { createRestFirestore, type RestFirestore } from '../../shared/labels/firestore-rest.ts';
import { createLabelCache } from '../../shared/labels/label-cache.ts';
import { type CacheValue, createRestLabelRepo, restStampReader } from '../../shared/labels/rest-repo.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import { createPageRoutes } from './page-route.ts';
import { createLabelsRoutes } from './routes.ts';

/** Everything the labels function reads from the environment. */
export interface LabelsAppConfig {
  labels: LabelsConfig;
  http: HttpConfig;
  /** The `links` of records with a DICOM identity (DICOMWEB_BASE / DICOM_STORE, DICOM_VIEWER_URL). */
  links: LinkConfig;
}

export function loadLabelsAppConfig(env: Record<string, string | undefined> = process.env): LabelsAppConfig {
  return { labels: loadLabelsConfig(env), http: loadHttpConfig(env), links: loadDicomLinkConfig(env) };
}

export interface LabelsAppDeps {
  config: LabelsAppConfig;
  /** The Firestore SDK client, for writes only; default: created on the first write (lazyFirestore). */
  firestore?: () => Firestore | Promise<Firestore>;
  /** The REST reader of every label read; default: one for the configured project and emulator. */
  restFirestore?: RestFirestore;
  logger?: Logger;
  /** The meta routes; the cloud default serves them here, the local server passes `false` and serves its own. */
  meta?: MetaDeps | false;
  breaker?: CircuitBreakerOptions;
  /** The explorer page's HTML, served at `/`; default: the explorer.html the build put beside the bundle. */
  page?: () => string | undefined;
}

export interface LabelsApp {
  routes: Route[];
  /** `GET /`, the explorer page: served by the handler, but not an API route (not in the OpenAPI document). */
  page: Route[];
  handler: ReturnType<typeof createRouter>;
  /**
   * Reads the labels version stamp now, so that the connection to Firestore, the access token and the
   * cache's first check are ready before the first request; the cloud entry calls it at cold start, while
   * the framework starts. Never rejects (a failure leaves the first request to try again).
   */
  warm(): Promise<void>;
}

export function createLabelsApp(deps: LabelsAppDeps): LabelsApp {
  const { labels, http } = deps.config;
  const log = deps.logger ?? defaultLogger.child({ function: 'labels' });
  const rest = deps.restFirestore ?? createRestFirestore(labels);
  const stampReader = restStampReader(() => rest, labels.collection);
  // Bounded: every read waits for a due stamp check, so a check must never hang.
  const readStamp = () =>
    withDeadline(stampReader(), labels.timeoutMs, 'Firestore get (labels version stamp)');
  const cache = createLabelCache<CacheValue>({ ...labels.cache, readStamp });
  const repo = withCircuitBreaker(
    createRestLabelRepo({
      firestore: () => rest,
      collection: labels.collection,
      timeoutMs: labels.timeoutMs,
      cache,
      writes: createFirestoreLabelRepo({
        firestore: deps.firestore ?? lazyFirestore(labels),
        collection: labels.collection,
        timeoutMs: labels.timeoutMs,
      }),
    }),
    deps.breaker,
  );
  const routes = createLabelsRoutes({
    repo,
    cacheMaxAgeSeconds: labels.cacheMaxAgeSeconds,
    links: deps.config.links,
    ...(deps.meta === undefined ? {} : { meta: deps.meta }),
  });
  const warm = async () => {
    try {
      await (cache.enabled ? cache.warm() : readStamp());
    } catch (err) {
      log.warn('warm-up read of the labels version stamp failed; the first request retries', { err });
    }
  };
  const page = createPageRoutes(deps.page);
  return { routes, page, handler: createRouter([...routes, ...page], { logger: log, ...http }), warm };
}
