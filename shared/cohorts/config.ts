import * as z from 'zod';
import { envInt, envString, loadConfig } from '../config.ts';
import { DEV_PAGE_TOKEN_SECRET } from './page-token.ts';

const GIB = 1024 ** 3;

/**
 * Environment of the cohorts function. COHORT_STORE picks the adapter: `duckdb` (default; local runs) or
 * `bigquery` (the cloud). A deployment (K_SERVICE set, or COHORT_STORE=bigquery) must set PAGE_TOKEN_SECRET.
 */
export const CohortsConfigSchema = z
  .object({
    COHORT_STORE: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.enum(['duckdb', 'bigquery']).default('duckdb'),
    ),
    /** HMAC key of page tokens, at least 32 characters. */
    PAGE_TOKEN_SECRET: envString(),
    /** BigQuery project of the dataset and of the jobs; default GOOGLE_CLOUD_PROJECT, then the ADC project. */
    BQ_PROJECT: envString(),
    GOOGLE_CLOUD_PROJECT: envString(),
    BQ_DATASET: envString(),
    BQ_LOCATION: envString(),
    /** Dataset of the upsert's staging tables (Terraform: `<dataset>_staging`, tables expire); default BQ_DATASET. */
    BQ_STAGING_DATASET: envString(),
    /** Cap per query job (the cohort table is ~25 MB; BigQuery bills at least 10 MB per table read). */
    BQ_MAX_BYTES_BILLED: envInt(GIB, 10 * 1024 ** 2, 1024 ** 4),
    /** DuckDB database file; default in memory. */
    DUCKDB_PATH: envString(),
    DUCKDB_THREADS: envInt(0, 0, 64),
    /** DuckDB only: the real NIH files to load at start-up when the database is empty. */
    NIH_DATA_DIR: envString(),
    /** Which NIH metadata file the tables hold: the layout of `format: "nih-csv"` exports. */
    METADATA_VERSION: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.enum(['v2020', '2017']).default('v2020'),
    ),
    /** Set by Cloud Run / Cloud Functions (2nd gen). */
    K_SERVICE: envString(),
  })
  .superRefine((e, ctx) => {
    if (e.COHORT_STORE === 'bigquery' && !e.BQ_DATASET) {
      ctx.addIssue({ code: 'custom', path: ['BQ_DATASET'], message: 'required when COHORT_STORE=bigquery' });
    }
    const deployed = e.COHORT_STORE === 'bigquery' || e.K_SERVICE !== undefined;
    if (deployed && (e.PAGE_TOKEN_SECRET?.length ?? 0) < 32) {
      ctx.addIssue({
        code: 'custom',
        path: ['PAGE_TOKEN_SECRET'],
        message: 'a deployment needs a random secret of at least 32 characters',
      });
    }
    if (e.PAGE_TOKEN_SECRET !== undefined && e.PAGE_TOKEN_SECRET.length < 16) {
      ctx.addIssue({
        code: 'custom',
        path: ['PAGE_TOKEN_SECRET'],
        message: 'must be at least 16 characters',
      });
    }
  })
  .transform((e) => ({
    store: e.COHORT_STORE,
    pageTokenSecret: e.PAGE_TOKEN_SECRET ?? DEV_PAGE_TOKEN_SECRET,
    nihCsvLayout: e.METADATA_VERSION,
    bigQuery: {
      projectId: e.BQ_PROJECT ?? e.GOOGLE_CLOUD_PROJECT,
      dataset: e.BQ_DATASET ?? '',
      location: e.BQ_LOCATION ?? 'US',
      maximumBytesBilled: e.BQ_MAX_BYTES_BILLED,
      stagingDataset: e.BQ_STAGING_DATASET,
    },
    duckdb: {
      path: e.DUCKDB_PATH ?? ':memory:',
      threads: e.DUCKDB_THREADS || undefined,
      dataDir: e.NIH_DATA_DIR,
    },
  }));
export type CohortsConfig = z.output<typeof CohortsConfigSchema>;

/** Reads the cohorts configuration once at start-up; a bad value is a ConfigError naming the variable. */
export function loadCohortsConfig(env: Record<string, string | undefined> = process.env): CohortsConfig {
  return loadConfig(CohortsConfigSchema, env);
}
