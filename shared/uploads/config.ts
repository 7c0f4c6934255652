import * as z from 'zod';
import type { CohortStoreConfig } from '../cohorts/create-store.ts';
import { DEV_PAGE_TOKEN_SECRET } from '../cohorts/page-token.ts';
import { envInt, envString, loadConfig } from '../config.ts';

/** Environment of the upload-processing function (and of the local server's upload path). */
export const UploadsConfigSchema = z
  .object({
    UPLOADS_BUCKET: envString(),
    GOOGLE_CLOUD_PROJECT: envString(),
    FIRESTORE_EMULATOR_HOST: envString(),
    FIRESTORE_DATABASE_ID: envString(),
    LABELS_COLLECTION: envString(),
    STORAGE_EMULATOR_HOST: envString(),
    COHORT_STORE: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.enum(['duckdb', 'bigquery']).default('duckdb'),
    ),
    DUCKDB_PATH: envString(),
    BQ_DATASET: envString(),
    BQ_LOCATION: envString(),
    /** Dataset of the upsert's staging tables (Terraform: `<dataset>_staging`, tables expire); default BQ_DATASET. */
    BQ_STAGING_DATASET: envString(),
    BQ_MAX_BYTES_BILLED: envInt(1024 ** 3, 10 * 1024 ** 2, 1024 ** 4),
    PAGE_TOKEN_SECRET: envString(),
    /** Longer than the function timeout (540 s by default), so that a live attempt is never taken over. */
    UPLOAD_LEASE_SECONDS: envInt(600, 10, 86_400),
    /**
     * Deliveries of one upload before it is given up with a `failed` report (Eventarc would otherwise retry
     * for up to 24 h). 20 attempts under Eventarc's backoff (10 s doubling to 600 s) span about 2.5 hours.
     */
    UPLOAD_MAX_ATTEMPTS: envInt(20, 1, 1000),
  })
  .superRefine((e, ctx) => {
    if (e.COHORT_STORE === 'bigquery' && !e.BQ_DATASET) {
      ctx.addIssue({ code: 'custom', path: ['BQ_DATASET'], message: 'required when COHORT_STORE=bigquery' });
    }
  })
  .transform((e) => ({
    uploadsBucket: e.UPLOADS_BUCKET ?? 'nih-cxr-uploads',
    projectId: e.GOOGLE_CLOUD_PROJECT ?? (e.FIRESTORE_EMULATOR_HOST ? 'demo-nih-cxr' : undefined),
    firestoreEmulatorHost: e.FIRESTORE_EMULATOR_HOST,
    databaseId: e.FIRESTORE_DATABASE_ID,
    labelsCollection: e.LABELS_COLLECTION ?? 'images',
    storageEmulatorHost: e.STORAGE_EMULATOR_HOST,
    /** The cohorts function's store, opened the same way; uploads only upsert, so they never issue a page token. */
    cohorts: {
      store: e.COHORT_STORE,
      pageTokenSecret: e.PAGE_TOKEN_SECRET ?? DEV_PAGE_TOKEN_SECRET,
      bigQuery: {
        projectId: e.GOOGLE_CLOUD_PROJECT,
        dataset: e.BQ_DATASET ?? '',
        location: e.BQ_LOCATION ?? 'US',
        maximumBytesBilled: e.BQ_MAX_BYTES_BILLED,
        stagingDataset: e.BQ_STAGING_DATASET,
      },
      duckdb: { path: e.DUCKDB_PATH ?? ':memory:', threads: undefined, dataDir: undefined },
    } satisfies CohortStoreConfig,
    leaseMs: e.UPLOAD_LEASE_SECONDS * 1000,
    maxAttempts: e.UPLOAD_MAX_ATTEMPTS,
    /** The emulator has no ramp-up to respect. */
    throttle: !e.FIRESTORE_EMULATOR_HOST,
  }));
export type UploadsConfig = z.output<typeof UploadsConfigSchema>;

/** Reads the uploads configuration once at start-up; a bad value is a ConfigError naming the variable. */
export function loadUploadsConfig(env: Record<string, string | undefined> = process.env): UploadsConfig {
  return loadConfig(UploadsConfigSchema, env);
}
