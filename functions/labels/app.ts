/**
 * The labels function, assembled in one place from its validated configuration: the cloud entry (index.ts),
 * the local server and the tests all build it here, so they run the same wiring by construction.
 */
import type { Firestore } from '@google-cloud/firestore';
import { loadConfig } from '../../shared/config.ts';
import { type HttpConfig, loadHttpConfig } from '../../shared/http/config.ts';
import type { MetaDeps } from '../../shared/http/meta-routes.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { type CircuitBreakerOptions, withCircuitBreaker } from '../../shared/labels/circuit-breaker.ts';
import { type LabelsConfig, LabelsConfigSchema } from '../../shared/labels/config.ts';
import { lazyFirestore } from '../../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import { createLabelsRoutes } from './routes.ts';

/** Everything the labels function reads from the environment. */
export interface LabelsAppConfig {
  labels: LabelsConfig;
  http: HttpConfig;
}

export function loadLabelsAppConfig(env: Record<string, string | undefined> = process.env): LabelsAppConfig {
  return { labels: loadConfig(LabelsConfigSchema, env), http: loadHttpConfig(env) };
}

export interface LabelsAppDeps {
  config: LabelsAppConfig;
  /** The one Firestore client of the instance; default: created on the first read (lazyFirestore). */
  firestore?: () => Firestore | Promise<Firestore>;
  logger?: Logger;
  /** The meta routes; the cloud default serves them here, the local server passes `false` and serves its own. */
  meta?: MetaDeps | false;
  breaker?: CircuitBreakerOptions;
}

export interface LabelsApp {
  routes: Route[];
  handler: ReturnType<typeof createRouter>;
}

export function createLabelsApp(deps: LabelsAppDeps): LabelsApp {
  const { labels, http } = deps.config;
  const log = deps.logger ?? defaultLogger.child({ function: 'labels' });
  const repo = withCircuitBreaker(
    createFirestoreLabelRepo({
      firestore: deps.firestore ?? lazyFirestore(labels),
      collection: labels.collection,
      timeoutMs: labels.timeoutMs,
    }),
    deps.breaker,
  );
  const routes = createLabelsRoutes({
    repo,
    cacheMaxAgeSeconds: labels.cacheMaxAgeSeconds,
    ...(deps.meta === undefined ? {} : { meta: deps.meta }),
  });
  return { routes, handler: createRouter(routes, { logger: log, ...http }) };
}
