import type { Firestore } from '@google-cloud/firestore';
import { type CohortsApp, createCohortsApp, type OpenCohortStore } from '../../functions/cohorts/app.ts';
import { createDicomApp, type DicomApp } from '../../functions/dicom/app.ts';
import { createLabelsApp, type LabelsApp } from '../../functions/labels/app.ts';
import { createSignerApp, type SignerApp } from '../../functions/signer/app.ts';
import { createUploadsApp, type UploadsApp } from '../../functions/uploads/app.ts';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { Logger } from '../../shared/log.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import type { FunctionConfigs } from './config.ts';

export interface LocalApps {
  labels: LabelsApp;
  cohorts: CohortsApp;
  signer: SignerApp;
  uploads: UploadsApp;
  dicom: DicomApp;
}

/**
 * The cohort store as configured, with the local data set in it: an empty DuckDB database gets the records
 * the local server loaded (read once for Firestore and DuckDB alike, hence no NIH_DATA_DIR load of its own).
 */
export function localStoreOpener(records: () => Promise<readonly ImageRecord[]>): OpenCohortStore {
  return async (c, log) => {
    const store = await createCohortStore({ ...c, duckdb: { ...c.duckdb, dataDir: undefined } }, log);
    if (c.store === 'duckdb' && (await store.stats()).images === 0) {
      const counts = await store.load((await records()).map(toCohortRows));
      log.info('cohort store (DuckDB) loaded', { ...counts });
    }
    return store;
  };
}

/**
 * Every function built by its own app.ts from its own configuration, as the cloud entries build them; the
 * local differences are only what is passed in: one Firestore client for the process, the meta routes served
 * by the local server, and one cohort store shared by cohorts and uploads (so uploaded labels show in cohorts).
 */
export function createLocalApps(o: {
  functions: FunctionConfigs;
  firestore: Firestore;
  records: () => Promise<readonly ImageRecord[]>;
  log: Logger;
  /** Why there is no local DICOMweb store (Orthanc not installed), if there is none. */
  dicomProblem?: string | undefined;
}): LocalApps {
  const cohorts = createCohortsApp({
    config: o.functions.cohorts,
    openStore: localStoreOpener(o.records),
    logger: o.log.child({ function: 'cohorts' }),
  });
  return {
    labels: createLabelsApp({
      config: o.functions.labels,
      firestore: () => o.firestore,
      meta: false,
      logger: o.log.child({ function: 'labels' }),
    }),
    cohorts,
    signer: createSignerApp({ config: o.functions.signer, logger: o.log.child({ function: 'signer' }) }),
    uploads: createUploadsApp({
      config: o.functions.uploads,
      openStore: createCohortStore,
      cohorts: cohorts.store,
      firestore: () => o.firestore,
      logger: o.log.child({ function: 'processUpload' }),
    }),
    dicom: createDicomApp({
      config: o.functions.dicom,
      ...(o.dicomProblem ? { problem: o.dicomProblem } : {}),
      logger: o.log.child({ function: 'dicom' }),
    }),
  };
}
