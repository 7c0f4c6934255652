import type { Server } from 'node:http';
import { type CloudEvent, cloudEvent, http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Storage } from '@google-cloud/storage';
import { createCohortsRoutes } from '../../functions/cohorts/routes.ts';
import { createLabelsRoutes } from '../../functions/labels/routes.ts';
import { createSignerRoutes } from '../../functions/signer/routes.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { createPageTokens, DEV_PAGE_TOKEN_SECRET } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import { ServiceUnavailableError } from '../../shared/http/errors.ts';
import { loadHttpConfig } from '../../shared/http/http-config.ts';
import { createMetaRoutes, type Health } from '../../shared/http/meta-routes.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import {
  createFirestore,
  createFirestoreLabelRepo,
  loadRecords,
  progressReporter,
  withCircuitBreaker,
} from '../../shared/labels/index.ts';
import type { LabelRepo } from '../../shared/labels/repo.ts';
import type { Logger } from '../../shared/log.ts';
import { buildOpenApiDocument } from '../../shared/openapi/build.ts';
import { createUrlSigner } from '../../shared/signing/create-signer.ts';
import { loadSignerConfig } from '../../shared/signing/signer-config.ts';
import { createUploadProcessor } from '../../shared/uploads/processor.ts';
import { startFirestoreEmulator } from '../emulators/firestore.ts';
import { type StorageCloudEvent, startStorageEmulator } from '../emulators/storage.ts';
import type { LocalConfig } from './config.ts';
import { loadLocalDataset } from './dataset.ts';

/** POSTs a CloudEvent in structured mode; a non-2xx answer is a failed delivery (the emulator retries). */
async function deliver(url: string, event: StorageCloudEvent): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify(event),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`processUpload answered ${res.status}`);
}

/**
 * The upload function, registered with functions-framework's cloudEvent() exactly as deployed and served on
 * its own loopback port, so that finalized objects reach it as real CloudEvents through the framework.
 */
async function startUploadFunction(o: {
  db: ReturnType<typeof createFirestore>;
  repo: LabelRepo;
  cohortStore: Awaited<ReturnType<typeof createDuckDbCohortStore>>;
  storageHost: () => string | undefined;
  config: LocalConfig;
  log: Logger;
  stops: (() => Promise<void>)[];
}): Promise<string> {
  // Created on the first event: the Storage emulator's address is known only after it has started.
  let processor: ReturnType<typeof createUploadProcessor> | undefined;
  cloudEvent('nih-cxr-local-uploads', async (event: CloudEvent<unknown>) => {
    processor ??= createUploadProcessor({
      storage: new Storage({ projectId: o.config.projectId, apiEndpoint: o.storageHost() ?? '' }),
      firestore: () => o.db,
      labels: o.repo,
      cohorts: () => o.cohortStore,
      uploadsBucket: o.config.uploadsBucket,
      throttle: false,
      leaseMs: 120_000,
      logger: o.log.child({ function: 'processUpload' }),
    });
    await processor.process(event);
  });
  const server = getTestServer('nih-cxr-local-uploads');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  o.stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
}

export interface LocalServer {
  url: string;
  stop(): Promise<void>;
}

/** Until the data is loaded, every data route answers 503 with Retry-After; meta routes answer at once. */
function gated(routes: Route[], isReady: () => boolean): Route[] {
  return routes.map((r) => ({
    ...r,
    handler: (req, params) => {
      if (!isReady())
        throw new ServiceUnavailableError('The local server is still loading data.', {
          retryAfterSeconds: 2,
        });
      return r.handler(req, params);
    },
  }));
}

/**
 * `npm start`: one process serving every route of ../shared/API.md with each function's own route handlers,
 * the Firestore and Storage emulators (started here unless their hosts are given), and DuckDB for cohorts.
 */
export async function startLocalServer(
  config: LocalConfig,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
): Promise<LocalServer> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err: unknown) => log.warn('stop failed', { err }));
  };
  try {
    let firestoreHost = config.firestoreHost;
    if (!firestoreHost) {
      const fe = await startFirestoreEmulator({ projectId: config.projectId });
      stops.push(() => fe.stop());
      firestoreHost = fe.host;
      log.info('Firestore emulator started', { host: firestoreHost });
    }
    const db = createFirestore({ projectId: config.projectId, emulatorHost: firestoreHost });
    stops.push(() => db.terminate());
    const repo = withCircuitBreaker(
      createFirestoreLabelRepo({ firestore: () => db, collection: 'images', timeoutMs: 10_000 }),
    );

    let ready = false;
    let dataset: 'nih' | 'synthetic' | undefined;
    let images = 0;
    let storageHost = config.storageHost;

    const signerSetup = createUrlSigner(loadSignerConfig(env));
    if (!signerSetup.signer)
      log.warn('URL signing is not configured; signing routes answer 503', { detail: signerSetup.problem });

    const cohortStore = await createDuckDbCohortStore({
      tokens: createPageTokens(config.pageTokenSecret ?? DEV_PAGE_TOKEN_SECRET),
    });
    stops.push(() => cohortStore.close());

    const dataRoutes: Route[] = [
      ...createLabelsRoutes({ repo, meta: false }),
      ...createCohortsRoutes({ store: cohortStore, signer: signerSetup.signer, logger: log }),
      ...createSignerRoutes(signerSetup),
    ];
    let openapi: unknown;
    const health = (): Health => ({
      status: ready ? 'ok' : 'starting',
      ...(dataset ? { dataset } : {}),
      images,
      uploadsBucket: config.uploadsBucket,
      emulators: { firestore: firestoreHost, ...(storageHost ? { storage: storageHost } : {}) },
    });
    const routes = [
      ...gated(dataRoutes, () => ready),
      ...createMetaRoutes({ openapi: () => openapi, health }),
    ];
    openapi = buildOpenApiDocument(routes, { serverUrl: `http://localhost:${config.port}` });
    http('nih-cxr-local', createRouter(routes, { logger: log, ...loadHttpConfig(env) }));
    const server: Server = getTestServer('nih-cxr-local');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, '127.0.0.1', () => resolve());
    });
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://127.0.0.1:${port}`;
    log.info('listening; loading data', { url });

    const eventsUrl = await startUploadFunction({
      db,
      repo,
      cohortStore,
      storageHost: () => storageHost,
      config,
      log,
      stops,
    });
    if (!storageHost) {
      const se = await startStorageEmulator({
        projectId: config.projectId,
        bucket: config.uploadsBucket,
        // Delivered like Eventarc would: a structured CloudEvent POSTed to the function, retried on failure.
        onFinalize: (event) => deliver(eventsUrl, event),
        retry: { attempts: 5, backoffMs: 2000 },
        onDeliveryFailure: (event, err) =>
          log.error('upload event failed every attempt', { subject: event.subject, err }),
      });
      stops.push(() => se.stop());
      storageHost = se.host;
      log.info('Storage emulator started', { host: storageHost, uploadsBucket: config.uploadsBucket });
    }

    const data = await loadLocalDataset(config);
    dataset = data.kind;
    if (data.kind === 'synthetic') {
      log.warn('No NIH_DATA_DIR: serving a small SYNTHETIC sample, not real NIH data', {
        images: data.records.length,
      });
    }
    const cohortCounts = await cohortStore.load(data.records.map(toCohortRows));
    log.info('cohort store (DuckDB) loaded', { ...cohortCounts });
    const progress = progressReporter(process.stderr);
    const summary = await loadRecords(db, data.records, {
      throttle: false,
      skipUnchanged: true,
      onProgress: (p) => progress.update(p),
    });
    progress.done(summary);
    images = data.records.length;
    ready = true;
    log.info('ready', {
      url,
      dataset,
      images,
      firestoreLoad: { written: summary.written, skipped: summary.skipped },
    });
    return { url, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
