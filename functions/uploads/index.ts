/**
 * Cloud Function `processUpload` (CloudEvent, google.cloud.storage.object.v1.finalized on the uploads
 * bucket): loads label files into Firestore and the cohort store, registers images, writes a report.
 * Thin entry: configuration and clients once per instance, the use case in shared/uploads.
 */
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { Storage } from '@google-cloud/storage';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadConfig } from '../../shared/config.ts';
import { createFirestoreLabelRepo, lazyFirestore } from '../../shared/labels/index.ts';
import { logger } from '../../shared/log.ts';
import {
  createCohortStoreFromConfig,
  createUploadProcessor,
  UploadsConfigSchema,
} from '../../shared/uploads/index.ts';

export { createUploadProcessor, type UploadProcessorDeps } from '../../shared/uploads/processor.ts';

const config = loadConfig(UploadsConfigSchema);
const firestore = lazyFirestore({
  projectId: config.projectId,
  databaseId: config.databaseId,
  emulatorHost: config.firestoreEmulatorHost,
});
const storage = new Storage({
  ...(config.projectId ? { projectId: config.projectId } : {}),
  ...(config.storageEmulatorHost ? { apiEndpoint: config.storageEmulatorHost } : {}),
});
let cohorts: Promise<CohortStore> | undefined;

const processor = createUploadProcessor({
  storage,
  firestore,
  labels: createFirestoreLabelRepo({ firestore, collection: config.labelsCollection }),
  cohorts: () => {
    cohorts ??= createCohortStoreFromConfig(config).catch((err: unknown) => {
      cohorts = undefined;
      throw err;
    });
    return cohorts;
  },
  uploadsBucket: config.uploadsBucket,
  throttle: config.throttle,
  leaseMs: config.leaseMs,
  labelsCollection: config.labelsCollection,
  logger: logger.child({ function: 'processUpload' }),
});

cloudEvent('processUpload', async (event: CloudEvent<unknown>) => {
  await processor.process(event);
});
