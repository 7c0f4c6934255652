import * as z from 'zod';
import { envInt, envString, loadConfig } from '../config.ts';

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
    /**
     * Bytes of label documents each instance keeps in memory (0 = no cache); default 128 MiB, which holds all
     * 112,120 NIH records (about 85 MB as the cache counts them), so a warm instance reads Firestore only for
     * the version stamp.
     */
    LABELS_CACHE_BYTES: envInt(128 * 1024 * 1024, 0, 4 * 1024 * 1024 * 1024),
    /** Seconds a cached document is served; at most LABELS_CACHE_MAX_AGE. Default: min(600, max-age). */
    LABELS_CACHE_TTL_SECONDS: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.coerce.number().int().min(0).max(31_536_000).optional(),
    ),
    /** An upload is seen by every instance at most this many seconds after it wrote the version stamp. */
    LABELS_CACHE_CHECK_SECONDS: envInt(10, 1, 3600),
  })
  .refine(
    (e) => e.LABELS_CACHE_TTL_SECONDS === undefined || e.LABELS_CACHE_TTL_SECONDS <= e.LABELS_CACHE_MAX_AGE,
    {
      path: ['LABELS_CACHE_TTL_SECONDS'],
      message:
        'must not exceed LABELS_CACHE_MAX_AGE (a cached record may not outlive what clients may cache)',
    },
  )
  .transform((e) => ({
    projectId: e.GOOGLE_CLOUD_PROJECT ?? (e.FIRESTORE_EMULATOR_HOST ? 'demo-nih-cxr' : undefined),
    emulatorHost: e.FIRESTORE_EMULATOR_HOST,
    databaseId: e.FIRESTORE_DATABASE_ID,
    collection: e.LABELS_COLLECTION ?? 'images',
    cacheMaxAgeSeconds: e.LABELS_CACHE_MAX_AGE,
    timeoutMs: e.FIRESTORE_TIMEOUT_MS,
    cache: {
      maxBytes: e.LABELS_CACHE_BYTES,
      ttlSeconds: e.LABELS_CACHE_TTL_SECONDS ?? Math.min(600, e.LABELS_CACHE_MAX_AGE),
      checkEverySeconds: e.LABELS_CACHE_CHECK_SECONDS,
    },
  }));
export type LabelsConfig = z.output<typeof LabelsConfigSchema>;

/** Reads the labels configuration once at start-up; a bad value is a ConfigError naming the variable. */
export function loadLabelsConfig(env: Record<string, string | undefined> = process.env): LabelsConfig {
  return loadConfig(LabelsConfigSchema, env);
}
