import * as z from 'zod';
import { envInt, envString, loadConfig } from '../../shared/config.ts';

/** Environment of the local server (`npm start`); documented in the README's configuration table. */
export const LocalConfigSchema = z
  .object({
    PORT: envInt(8080, 0, 65_535),
    NIH_DATA_DIR: envString(),
    FIRESTORE_EMULATOR_HOST: envString(),
    STORAGE_EMULATOR_HOST: envString(),
    UPLOADS_BUCKET: envString(),
    GOOGLE_CLOUD_PROJECT: envString(),
    METADATA_VERSION: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.enum(['v2020', '2017']).default('v2020'),
    ),
    SYNTHETIC_IMAGES: envInt(400, 20, 20_000),
    PAGE_TOKEN_SECRET: envString(),
  })
  .transform((e) => ({
    port: e.PORT,
    dataDir: e.NIH_DATA_DIR,
    firestoreHost: e.FIRESTORE_EMULATOR_HOST,
    storageHost: e.STORAGE_EMULATOR_HOST,
    uploadsBucket: e.UPLOADS_BUCKET ?? 'nih-cxr-uploads',
    projectId: e.GOOGLE_CLOUD_PROJECT ?? 'demo-nih-cxr',
    metadata: e.METADATA_VERSION,
    syntheticImages: e.SYNTHETIC_IMAGES,
    pageTokenSecret: e.PAGE_TOKEN_SECRET,
  }));
export type LocalConfig = z.output<typeof LocalConfigSchema>;

export function loadLocalConfig(env: Record<string, string | undefined> = process.env): LocalConfig {
  return loadConfig(LocalConfigSchema, env);
}
