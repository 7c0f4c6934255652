/**
 * Cloud Function `processUpload` (CloudEvent, google.cloud.storage.object.v1.finalized on the uploads
 * bucket): loads label files into Firestore and the cohort store, registers images, writes a report.
 * Thin entry: configuration at start-up; the use case and its clients (Storage, Firestore, the cohort store)
 * are loaded and created on the first event, once per instance, so that a cold start imports only the
 * framework and the configuration. Their SDKs are separate chunks of the bundle (dynamic imports).
 */
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadConfig } from '../../shared/config.ts';
import { lazy } from '../../shared/lazy.ts';
import { logger } from '../../shared/log.ts';
import { type UploadsConfig, UploadsConfigSchema } from '../../shared/uploads/config.ts';
import type { UploadProcessor } from '../../shared/uploads/processor.ts';

export type { UploadProcessorDeps } from '../../shared/uploads/processor.ts';

const config = loadConfig(UploadsConfigSchema);
const log = logger.child({ function: 'processUpload' });

async function createProcessor(c: UploadsConfig): Promise<UploadProcessor> {
  const [{ Storage }, { lazyFirestore }, { createFirestoreLabelRepo }, { createUploadProcessor }] =
    await Promise.all([
      import('@google-cloud/storage'),
      import('../../shared/labels/client.ts'),
      import('../../shared/labels/firestore-repo.ts'),
      import('../../shared/uploads/processor.ts'),
    ]);
  const firestore = lazyFirestore({
    projectId: c.projectId,
    databaseId: c.databaseId,
    emulatorHost: c.firestoreEmulatorHost,
  });
  const storage = new Storage({
    ...(c.projectId ? { projectId: c.projectId } : {}),
    ...(c.storageEmulatorHost ? { apiEndpoint: c.storageEmulatorHost } : {}),
  });
  // Image uploads never open the cohort store, so its module and client wait for the first label file.
  const cohorts = lazy<CohortStore>(async () => {
    const { createCohortStore } = await import('../../shared/cohorts/create-store.ts');
    return createCohortStore(c.cohorts, log);
  });
  return createUploadProcessor({
    storage,
    firestore,
    labels: createFirestoreLabelRepo({ firestore, collection: c.labelsCollection }),
    cohorts,
    uploadsBucket: c.uploadsBucket,
    throttle: c.throttle,
    leaseMs: c.leaseMs,
    maxAttempts: c.maxAttempts,
    labelsCollection: c.labelsCollection,
    logger: log,
  });
}

const processor = lazy(() => createProcessor(config));

cloudEvent('processUpload', async (event: CloudEvent<unknown>) => {
  await (await processor()).process(event);
});
