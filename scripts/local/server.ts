/**
 * `npm start`: composition only. It starts the emulators, builds every function through its own app.ts (as
 * the cloud entries do), mounts their routes on one port beside the meta routes, delivers upload events to
 * the upload function through functions-framework, and loads the data. See docs/api.md for the routes.
 */
import type { Server } from 'node:http';
import { cloudEvent, http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createPageRoutes } from '../../functions/labels/page-route.ts';
import type { UploadsApp } from '../../functions/uploads/app.ts';
import type { HttpConfig } from '../../shared/http/config.ts';
import { ServiceUnavailableError } from '../../shared/http/errors.ts';
import { createMetaRoutes } from '../../shared/http/meta-routes.ts';
import type { Health } from '../../shared/http/meta-schemas.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { createFirestoreLabelRepo } from '../../shared/labels/firestore-repo.ts';
import type { Logger } from '../../shared/log.ts';
import { buildOpenApiDocument } from '../../shared/openapi/build.ts';
import { buildExplorerPage } from '../build-web.ts';
import { postCloudEvent } from '../emulators/storage.ts';
import { createLocalApps, type LocalApps } from './apps.ts';
import { type LocalConfig, withEmulatorHosts } from './config.ts';
import { loadLocalData } from './dataset.ts';
import { storeSyntheticDicoms, withDicomStow } from './dicom-store.ts';
import { type Stops, startEmulators } from './emulators.ts';

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

/** Serves `handler` through functions-framework on a loopback port; resolves with its URL. */
async function listen(server: Server, port: number, stops: Stops): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
}

/** The upload function registered with cloudEvent() as deployed, so events reach it through the framework. */
function serveUploads(
  app: UploadsApp,
  stops: Stops,
  dicom: Parameters<typeof withDicomStow>[1],
): Promise<string> {
  // DICOM uploads the function registered also go to the local DICOMweb store (STOW-RS).
  cloudEvent('nih-cxr-local-uploads', withDicomStow(app, dicom));
  return listen(getTestServer('nih-cxr-local-uploads'), 0, stops);
}

/**
 * Every HTTP function's routes on one port, gated until ready, beside the local meta routes and the explorer
 * page at `/` (answered at once: it shows the API's 503 while the data loads; not in the OpenAPI document).
 */
async function serveHttp(
  apps: LocalApps,
  o: {
    config: LocalConfig;
    http: HttpConfig;
    health: () => Health;
    ready: () => boolean;
    log: Logger;
    page: Route[];
  },
  stops: Stops,
): Promise<string> {
  const data = [...apps.labels.routes, ...apps.cohorts.routes, ...apps.signer.routes, ...apps.dicom.routes];
  let openapi: unknown;
  const routes = [...gated(data, o.ready), ...createMetaRoutes({ openapi: () => openapi, health: o.health })];
  http('nih-cxr-local', createRouter([...routes, ...o.page], { logger: o.log, ...o.http }));
  const url = await listen(getTestServer('nih-cxr-local'), o.config.port, stops);
  // The port bound, not the one asked for: PORT=0 (any free port) must not name port 0.
  openapi = buildOpenApiDocument(routes, { serverUrl: `http://localhost:${new URL(url).port}` });
  return url;
}

/** Starts everything; on any failure what was started is stopped again. */
export async function startLocalServer(config: LocalConfig, log: Logger): Promise<LocalServer> {
  const stops: Stops = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse())
      await s().catch((err: unknown) => log.warn('stop failed', { err }));
  };
  try {
    let eventsUrl = '';
    const hosts = await startEmulators(config, {
      onFinalize: (e) => postCloudEvent(eventsUrl)(e),
      log,
      stops,
    });
    const functions = withEmulatorHosts(config, hosts);
    const firestore = await createFirestore(functions.labels.labels);
    stops.push(() => firestore.terminate());
    const data = loadLocalData(config, { firestore, collection: functions.labels.labels.collection, log });
    const apps = createLocalApps({
      functions,
      firestore,
      records: data.records,
      log,
      dicomProblem: hosts.dicomProblem,
    });
    const dicomweb = apps.dicom.store?.base;
    eventsUrl = await serveUploads(apps.uploads, stops, {
      dicomweb,
      storageHost: hosts.storage,
      maxBytes: functions.dicom.dicom.maxBytes,
      log,
    });
    const health = (): Health => ({
      status: data.ready() ? 'ok' : 'starting',
      ...data.health(),
      uploadsBucket: functions.uploads.uploads.uploadsBucket,
      emulators: { firestore: hosts.firestore, storage: hosts.storage },
    });
    const httpConfig = functions.labels.http;
    const html = (await buildExplorerPage()).html;
    const page = createPageRoutes(() => html);
    const url = await serveHttp(
      apps,
      { config, http: httpConfig, health, ready: data.ready, log, page },
      stops,
    );
    log.info('listening; loading data', { url });
    await data.load(apps.cohorts.store);
    log.info('ready', { url, ...data.health() });
    // Generated files only for the synthetic sample: real NIH records must not get made-up UIDs.
    if (hosts.dicomweb && data.health().dataset === 'synthetic') {
      // In the background: the routes answer meanwhile (404 "no DICOM identity yet" for a few seconds).
      const collection = functions.labels.labels.collection;
      void storeSyntheticDicoms(await data.records(), {
        dicomweb: hosts.dicomweb,
        firestore,
        collection,
        labels: createFirestoreLabelRepo({ firestore, collection }),
        cohorts: await apps.cohorts.store(),
        log,
      }).catch((err: unknown) => log.warn('synthetic DICOM files not stored', { err }));
    }
    return { url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
