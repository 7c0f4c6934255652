import * as z from 'zod';
import { type CohortsAppConfig, loadCohortsAppConfig } from '../../functions/cohorts/app.ts';
import { type DicomAppConfig, loadDicomAppConfig } from '../../functions/dicom/app.ts';
import { type LabelsAppConfig, loadLabelsAppConfig } from '../../functions/labels/app.ts';
import { loadSignerAppConfig, type SignerAppConfig } from '../../functions/signer/app.ts';
import { loadUploadsAppConfig, type UploadsAppConfig } from '../../functions/uploads/app.ts';
import { envInt, envString, loadConfig } from '../../shared/config.ts';

type Env = Record<string, string | undefined>;

/** What only the local server reads; documented in the README's configuration table. */
export const LocalConfigSchema = z
  .object({
    PORT: envInt(8080, 0, 65_535),
    NIH_DATA_DIR: envString(),
    FIRESTORE_EMULATOR_HOST: envString(),
    STORAGE_EMULATOR_HOST: envString(),
    GOOGLE_CLOUD_PROJECT: envString(),
    METADATA_VERSION: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.enum(['v2020', '2017']).default('v2020'),
    ),
    SYNTHETIC_IMAGES: envInt(400, 20, 20_000),
  })
  .transform((e) => ({
    port: e.PORT,
    dataDir: e.NIH_DATA_DIR,
    firestoreHost: e.FIRESTORE_EMULATOR_HOST,
    storageHost: e.STORAGE_EMULATOR_HOST,
    /** Project of the emulators started here. */
    projectId: e.GOOGLE_CLOUD_PROJECT ?? 'demo-nih-cxr',
    metadata: e.METADATA_VERSION,
    syntheticImages: e.SYNTHETIC_IMAGES,
  }));

/** Each function's configuration, read by the function's own loader exactly as its cloud entry reads it. */
export interface FunctionConfigs {
  labels: LabelsAppConfig;
  cohorts: CohortsAppConfig;
  signer: SignerAppConfig;
  uploads: UploadsAppConfig;
  dicom: DicomAppConfig;
}

export function loadFunctionConfigs(env: Env): FunctionConfigs {
  return {
    labels: loadLabelsAppConfig(env),
    cohorts: loadCohortsAppConfig(env),
    signer: loadSignerAppConfig(env),
    uploads: loadUploadsAppConfig(env),
    dicom: loadDicomAppConfig(env),
  };
}

export type LocalConfig = z.output<typeof LocalConfigSchema> & {
  /** As the environment gives them; the emulator hosts are filled in by withEmulatorHosts. */
  functions: FunctionConfigs;
  /** The environment it was read from, for withEmulatorHosts. */
  env: Readonly<Env>;
};

/** Reads and validates everything once at start-up: a bad value of any function stops `npm start` at once. */
export function loadLocalConfig(env: Env = process.env): LocalConfig {
  const snapshot = Object.freeze({ ...env });
  return {
    ...loadConfig(LocalConfigSchema, snapshot),
    functions: loadFunctionConfigs(snapshot),
    env: snapshot,
  };
}

export interface EmulatorHosts {
  /** `host:port` of the Firestore emulator. */
  firestore: string;
  /** `http://host:port` of the Storage emulator. */
  storage: string;
  /** DICOMweb root of the Orthanc started here, when one was (scripts/emulators/orthanc.ts). */
  dicomweb?: string | undefined;
  /** Why there is none (Orthanc not installed): what the DICOM routes answer. */
  dicomProblem?: string | undefined;
}

/**
 * The functions' configurations once the emulators listen: the same environment with their hosts set, as if
 * the variables had been given, so every derived setting (project, throttling) follows the cloud rules.
 */
export function withEmulatorHosts(config: LocalConfig, hosts: EmulatorHosts): FunctionConfigs {
  return loadFunctionConfigs({
    ...config.env,
    FIRESTORE_EMULATOR_HOST: hosts.firestore,
    STORAGE_EMULATOR_HOST: hosts.storage,
    ...(hosts.dicomweb ? { DICOMWEB_BASE: hosts.dicomweb } : {}),
  });
}
