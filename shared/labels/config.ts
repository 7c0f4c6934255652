import * as z from 'zod';
import { envInt, envString } from '../config.ts';

/** Environment of the labels function and the loader. */
export const LabelsConfigSchema = z
  .object({
    GOOGLE_CLOUD_PROJECT: envString(),
    FIRESTORE_EMULATOR_HOST: envString(),
    FIRESTORE_DATABASE_ID: envString(),
    LABELS_COLLECTION: envString(),
    /** Seconds clients and CDNs may reuse a response; the data only changes when it is reloaded. */
    LABELS_CACHE_MAX_AGE: envInt(3600, 0, 31_536_000),
    FIRESTORE_TIMEOUT_MS: envInt(10_000, 100, 300_000),
  })
  .transform((e) => ({
    projectId: e.GOOGLE_CLOUD_PROJECT ?? (e.FIRESTORE_EMULATOR_HOST ? 'demo-nih-cxr' : undefined),
    emulatorHost: e.FIRESTORE_EMULATOR_HOST,
    databaseId: e.FIRESTORE_DATABASE_ID,
    collection: e.LABELS_COLLECTION ?? 'images',
    cacheMaxAgeSeconds: e.LABELS_CACHE_MAX_AGE,
    timeoutMs: e.FIRESTORE_TIMEOUT_MS,
  }));
export type LabelsConfig = z.output<typeof LabelsConfigSchema>;
