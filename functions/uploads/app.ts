/**
 * The processUpload function, assembled in one place from its validated configuration: the cloud entry
 * (index.ts), the local server and the tests all build it here. The use case and its clients are loaded and
 * created on the first event, once per instance, so that a cold start imports only the framework and the
 * configuration. An image upload then needs no SDK at all (issue 15): Cloud Storage over its JSON API and
 * the ledger and image registry over Firestore's REST API (shared/google/). The Firestore SDK (a chunk of
 * its own) is loaded by the first label file or DICOM identity, the cohort store by the first label file.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { CohortStoreConfig } from '../../shared/cohorts/create-store.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { type GoogleEnv, loadGoogleEnv } from '../../shared/google/google-env.ts';
import { adaptFramework, CLOUD_EVENT_MAX_BYTES } from '../../shared/http/framework-adapter.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';
import { type Lazy, lazy } from '../../shared/lazy.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import { loadUploadsConfig, type UploadsConfig } from '../../shared/uploads/config.ts';
import type { UploadProcessor } from '../../shared/uploads/processor.ts';

/** Everything the upload function reads from the environment. */
export interface UploadsAppConfig {
  uploads: UploadsConfig;
  /** Metadata server, key file and proxy of the Storage and Firestore REST clients and the BigQuery store. */
  google: GoogleEnv;
}

export function loadUploadsAppConfig(
  env: Record<string, string | undefined> = process.env,
): UploadsAppConfig {
  return { uploads: loadUploadsConfig(env), google: loadGoogleEnv(env) };
}

export interface UploadsAppDeps {
  config: UploadsAppConfig;
  /** Opens the cohort store the configuration names, on the first label file. */
  openStore: (config: CohortStoreConfig, log: Logger) => Promise<CohortStore>;
  /** An already shared store instead (the local server shares the cohorts function's). */
  cohorts?: () => Promise<CohortStore>;
  /** The instance's Firestore client; default: created from the configuration on the first event. */
  firestore?: () => Firestore | Promise<Firestore>;
  logger?: Logger;
}

export interface UploadsApp {
  /** The CloudEvent function: resolves when the event is handled, rejects when a redelivery can help. */
  handler: (event: CloudEvent<unknown>) => Promise<void>;
  processor: Lazy<UploadProcessor>;
}

const firestoreOptions = (c: UploadsConfig) => ({
  projectId: c.projectId,
  databaseId: c.databaseId,
  emulatorHost: c.firestoreEmulatorHost,
});

async function createProcessor(deps: UploadsAppDeps, log: Logger): Promise<UploadProcessor> {
  const c = deps.config.uploads;
  const [{ createRestStorage }, { createFirestoreWriter }, { createUploadProcessor }] = await Promise.all([
    import('../../shared/google/storage-rest.ts'),
    import('../../shared/google/firestore-rest-tx.ts'),
    import('../../shared/uploads/processor.ts'),
  ]);
  // Image uploads never open the cohort store, so its module and client wait for the first label file.
  const cohorts = deps.cohorts ?? lazy(() => deps.openStore(c.cohorts, log));
  const { google } = deps.config;
  const objects = createRestStorage({ emulatorHost: c.storageEmulatorHost, google });
  const documents = createFirestoreWriter({ ...firestoreOptions(c), google });
  objects.warm();
  documents.warm();
  return createUploadProcessor({
    objects,
    documents,
    firestore: deps.firestore ?? lazy(() => createFirestore(firestoreOptions(c))),
    cohorts,
    uploadsBucket: c.uploadsBucket,
    throttle: c.throttle,
    leaseMs: c.leaseMs,
    maxAttempts: c.maxAttempts,
    labelsCollection: c.labelsCollection,
    logger: log,
  });
}

export function createUploadsApp(deps: UploadsAppDeps): UploadsApp {
  const log = deps.logger ?? defaultLogger.child({ function: 'processUpload' });
  // The framework reads any body (an application/cloudevents+json gzip bomb too) before the handler runs.
  adaptFramework({ maxBodyBytes: CLOUD_EVENT_MAX_BYTES, logger: log });
  const processor = lazy(() => createProcessor(deps, log));
  return { handler: async (event) => (await processor()).process(event).then(() => undefined), processor };
}
