/**
 * The local server honours every variable the cloud entries honour: each function's configuration, as
 * `npm start` builds it, is compared key by key with the one its cloud entry (functions/<name>/index.ts,
 * through loadXAppConfig) builds from the same environment. Every variable gets a non-default value, and each
 * is shown to change some function's configuration, so no comparison passes on defaults alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod';
import { loadCohortsAppConfig } from '../../functions/cohorts/app.ts';
import { loadDicomAppConfig } from '../../functions/dicom/app.ts';
import { loadLabelsAppConfig } from '../../functions/labels/app.ts';
import { loadSignerAppConfig } from '../../functions/signer/app.ts';
import { loadUploadsAppConfig } from '../../functions/uploads/app.ts';
import { functionFolders } from '../../scripts/function-folders.ts';
import {
  type FunctionConfigs,
  LocalConfigSchema,
  loadLocalConfig,
  withEmulatorHosts,
} from '../../scripts/local/config.ts';
import { CohortsConfigSchema } from '../../shared/cohorts/config.ts';
import { DicomConfigSchema } from '../../shared/dicom/config.ts';
import { GoogleEnvSchema } from '../../shared/google/google-env.ts';
import { HttpConfigSchema } from '../../shared/http/config.ts';
import { LabelsConfigSchema } from '../../shared/labels/config.ts';
import { SignerConfigSchema } from '../../shared/signing/config.ts';
import { UploadsConfigSchema } from '../../shared/uploads/config.ts';

type Env = Record<string, string | undefined>;

/** What each cloud entry reads: the same loaders its index.ts calls. */
const CLOUD: { [K in keyof FunctionConfigs]: (env: Env) => FunctionConfigs[K] } = {
  labels: loadLabelsAppConfig,
  cohorts: loadCohortsAppConfig,
  signer: loadSignerAppConfig,
  uploads: loadUploadsAppConfig,
  dicom: loadDicomAppConfig,
};

/** One valid, non-default value for every variable of every function (all at once). */
const ENV: Env = {
  GOOGLE_CLOUD_PROJECT: 'cfg-project-1',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:9901',
  FIRESTORE_DATABASE_ID: 'cfg-db',
  LABELS_COLLECTION: 'cfg-images',
  LABELS_CACHE_MAX_AGE: '120',
  LABELS_CACHE_BYTES: '1048576',
  LABELS_CACHE_TTL_SECONDS: '60',
  LABELS_CACHE_CHECK_SECONDS: '3',
  FIRESTORE_TIMEOUT_MS: '2500',
  COHORT_STORE: 'bigquery',
  PAGE_TOKEN_SECRET: 'cfg-page-token-secret-0123456789abcdef',
  BQ_PROJECT: 'cfg-bq-project',
  BQ_DATASET: 'cfg_dataset',
  BQ_LOCATION: 'EU',
  BQ_MAX_BYTES_BILLED: '20971520',
  BQ_STAGING_DATASET: 'cohorts_staging',
  DUCKDB_PATH: '/tmp/cfg-cohorts.duckdb',
  DUCKDB_THREADS: '3',
  NIH_DATA_DIR: '/tmp/cfg-nih',
  METADATA_VERSION: '2017',
  K_SERVICE: 'cfg-service',
  FUNCTION_NAME: 'cfg-function',
  BILLING_PROJECT: 'cfg-billing-1',
  GOOGLE_APPLICATION_CREDENTIALS: '/tmp/cfg-key.json',
  HMAC_ACCESS_ID: 'GOOG1CFGACCESSID',
  HMAC_SECRET: 'cfg-hmac-secret',
  SIGNER: 'hmac',
  SIGNED_URL_MAX_SECONDS: '7200',
  SIGNED_EXPORT_IAM_MAX_ROWS: '500',
  UPLOADS_BUCKET: 'cfg-uploads',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9902',
  UPLOAD_LEASE_SECONDS: '300',
  UPLOAD_MAX_ATTEMPTS: '7',
  CORS_ORIGINS: 'https://a.example,https://b.example',
  MAX_BODY_BYTES: '65536',
  DICOM_STORE: 'projects/cfg-project-1/locations/us-east1/datasets/cfg-ds/dicomStores/cfg-store',
  DICOMWEB_BASE: 'http://127.0.0.1:9903/dicom-web',
  DICOMWEB_AUTH: 'google',
  DICOMWEB_TIMEOUT_MS: '4000',
  DICOM_MAX_BYTES: '2097152',
  DICOM_MAX_METADATA_BYTES: '65536',
  DICOM_VIEWER_URL: 'https://viewer.example/open?study={studyInstanceUid}',
  GCE_METADATA_HOST: '127.0.0.1:9904',
  HTTPS_PROXY: 'http://127.0.0.1:9905',
  https_proxy: 'http://127.0.0.1:9905',
  NO_PROXY: '127.0.0.1,localhost',
  no_proxy: '127.0.0.1,localhost',
};

/** The variables a schema reads (the keys of its input object). */
function variables(schema: z.ZodType): string[] {
  const input = schema instanceof z.ZodPipe ? schema.in : schema;
  assert.ok(input instanceof z.ZodObject, 'a configuration schema is an object of variables');
  return Object.keys(input.shape);
}

const FUNCTION_SCHEMAS = [
  LabelsConfigSchema,
  CohortsConfigSchema,
  UploadsConfigSchema,
  SignerConfigSchema,
  HttpConfigSchema,
  DicomConfigSchema,
  GoogleEnvSchema,
];

function assertSameKeyByKey(local: unknown, cloud: unknown, path: string): void {
  if (cloud !== null && typeof cloud === 'object' && !Array.isArray(cloud)) {
    assert.ok(local !== null && typeof local === 'object', `${path}: an object locally too`);
    const keys = Object.keys(cloud);
    assert.deepEqual(Object.keys(local).sort(), [...keys].sort(), `${path}: the same keys`);
    for (const k of keys)
      assertSameKeyByKey(
        (local as Record<string, unknown>)[k],
        (cloud as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
    return;
  }
  assert.deepEqual(local, cloud, `${path} differs between the local server and the cloud entry`);
}

describe('local server configuration against the cloud entries', () => {
  it('covers every deployable function', () => {
    assert.deepEqual(
      Object.keys(CLOUD).sort(),
      functionFolders(),
      'a new functions/<name>/ needs its app.ts loader in CLOUD here and in FunctionConfigs (scripts/local/config.ts)',
    );
  });

  it('the table sets every variable that any function reads', () => {
    const read = new Set(FUNCTION_SCHEMAS.flatMap(variables));
    assert.deepEqual([...read].filter((v) => !(v in ENV)).sort(), [], 'variables missing from ENV');
    assert.deepEqual(
      Object.keys(ENV).filter((v) => !read.has(v)),
      [],
      'ENV variables no function reads',
    );
  });

  it('every variable changes some cloud configuration (none is left at its default)', () => {
    const all = Object.fromEntries(Object.entries(CLOUD).map(([n, load]) => [n, load(ENV)]));
    // Without the host, the emulator-only rules (throttling, demo project) apply: drop both hosts together.
    for (const name of Object.keys(ENV)) {
      const without = { ...ENV, [name]: undefined };
      if (name === 'COHORT_STORE' || name === 'K_SERVICE') without.PAGE_TOKEN_SECRET = ENV.PAGE_TOKEN_SECRET;
      let changed: boolean;
      try {
        const other = Object.fromEntries(Object.entries(CLOUD).map(([n, load]) => [n, load(without)]));
        changed = !isDeepStrictEqual(other, all);
      } catch {
        changed = true; // required once others are set: reading it matters
      }
      assert.ok(changed, `${name} changes no configuration`);
    }
  });

  it('given the same environment, each function is configured exactly as its cloud entry configures it', () => {
    const local = loadLocalConfig(ENV);
    for (const [name, load] of Object.entries(CLOUD) as [keyof FunctionConfigs, (e: Env) => unknown][]) {
      assertSameKeyByKey(local.functions[name], load(ENV), name);
    }
  });

  it('with emulators it started, it is configured as a cloud entry given their hosts', () => {
    const env = { ...ENV, FIRESTORE_EMULATOR_HOST: undefined, STORAGE_EMULATOR_HOST: undefined };
    const hosts = { firestore: '127.0.0.1:9911', storage: 'http://127.0.0.1:9912' };
    const functions = withEmulatorHosts(loadLocalConfig(env), hosts);
    const cloudEnv = {
      ...env,
      FIRESTORE_EMULATOR_HOST: hosts.firestore,
      STORAGE_EMULATOR_HOST: hosts.storage,
    };
    for (const [name, load] of Object.entries(CLOUD) as [keyof FunctionConfigs, (e: Env) => unknown][]) {
      assertSameKeyByKey(functions[name], load(cloudEnv), name);
    }
    assert.equal(functions.uploads.uploads.throttle, false, 'no Firestore ramp-up on the emulator');
    assert.equal(functions.uploads.uploads.maxAttempts, 7);
    assert.equal(functions.labels.labels.collection, 'cfg-images');
  });

  it('reads only PORT and SYNTHETIC_IMAGES besides what the functions read', () => {
    const functionVariables = new Set(FUNCTION_SCHEMAS.flatMap(variables));
    assert.deepEqual(
      variables(LocalConfigSchema).filter((v) => !functionVariables.has(v)),
      ['PORT', 'SYNTHETIC_IMAGES'],
    );
  });

  it('a bad value of any function stops the local server at start-up, naming the variable', () => {
    assert.throws(() => loadLocalConfig({ FIRESTORE_TIMEOUT_MS: 'soon' }), /FIRESTORE_TIMEOUT_MS/);
    assert.throws(() => loadLocalConfig({ UPLOAD_MAX_ATTEMPTS: '0' }), /UPLOAD_MAX_ATTEMPTS/);
    assert.throws(() => loadLocalConfig({ MAX_BODY_BYTES: '10' }), /MAX_BODY_BYTES/);
    assert.throws(() => loadLocalConfig({ BILLING_PROJECT: 'Not A Project' }), /BILLING_PROJECT/);
  });
});
