/** Cloud Function `labels`: image labels from Firestore (GET image, POST images:batchGet, GET patient images). */
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/config.ts';
import { loadHttpConfig } from '../../shared/http/http-config.ts';
import { createRouter } from '../../shared/http/router.ts';
import { withCircuitBreaker } from '../../shared/labels/circuit-breaker.ts';
// Not the labels index: it re-exports client.ts, whose static import of the Firestore SDK would load it at start-up.
import { LabelsConfigSchema } from '../../shared/labels/config.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import { lazyFirestoreAsync } from '../../shared/labels/lazy-client.ts';
import { logger } from '../../shared/log.ts';
import { createLabelsRoutes } from './routes.ts';

const config = loadConfig(LabelsConfigSchema);
const repo = withCircuitBreaker(
  createFirestoreLabelRepo({
    firestore: lazyFirestoreAsync(config),
    collection: config.collection,
    timeoutMs: config.timeoutMs,
  }),
);

export const labels = createRouter(
  createLabelsRoutes({ repo, cacheMaxAgeSeconds: config.cacheMaxAgeSeconds }),
  { logger: logger.child({ function: 'labels' }), ...loadHttpConfig() },
);
http('labels', labels);
