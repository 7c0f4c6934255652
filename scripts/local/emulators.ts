import type { Logger } from '../../shared/log.ts';
import { startFirestoreEmulator } from '../emulators/firestore.ts';
import { findOrthanc, startOrthanc } from '../emulators/orthanc.ts';
import { type FinalizeHandler, startStorageEmulator } from '../emulators/storage.ts';
import type { EmulatorHosts, LocalConfig } from './config.ts';

/** Stop functions of what the local server started, run in reverse order. */
export type Stops = (() => Promise<void>)[];

/**
 * The Firestore and Storage emulators, each started here unless its host is given. Finalized objects of the
 * uploads bucket go to `onFinalize` like Eventarc would deliver them: retried on failure.
 */
export async function startEmulators(
  config: LocalConfig,
  o: { onFinalize: FinalizeHandler; log: Logger; stops: Stops },
): Promise<EmulatorHosts> {
  let firestore = config.firestoreHost;
  if (!firestore) {
    const fe = await startFirestoreEmulator({ projectId: config.projectId });
    o.stops.push(() => fe.stop());
    firestore = fe.host;
    o.log.info('Firestore emulator started', { host: firestore });
  }
  let storage = config.storageHost;
  if (!storage) {
    const bucket = config.functions.uploads.uploads.uploadsBucket;
    const se = await startStorageEmulator({
      projectId: config.projectId,
      bucket,
      onFinalize: o.onFinalize,
      retry: { attempts: 5, backoffMs: 2000 },
      onDeliveryFailure: (event, err) =>
        o.log.error('upload event failed every attempt', { subject: event.subject, err }),
    });
    o.stops.push(() => se.stop());
    storage = se.host;
    o.log.info('Storage emulator started', { host: storage, uploadsBucket: bucket });
  }
  return { firestore, storage, ...(await startDicomStore(config, o)) };
}

/**
 * Orthanc as the local DICOMweb store, unless DICOMWEB_BASE or DICOM_STORE names one. When it is not
 * installed everything else still runs, and the DICOM routes answer 503 saying what to install.
 */
async function startDicomStore(
  config: LocalConfig,
  o: { log: Logger; stops: Stops },
): Promise<Pick<EmulatorHosts, 'dicomweb' | 'dicomProblem'>> {
  if (config.functions.dicom.dicom.base) return {};
  const found = findOrthanc();
  if (typeof found === 'string') {
    o.log.warn('no local DICOMweb store; the DICOM routes answer 503', { detail: found });
    return { dicomProblem: `The local DICOMweb store is not running: ${found}; then restart npm start.` };
  }
  const orthanc = await startOrthanc({ install: found });
  o.stops.push(() => orthanc.stop());
  o.log.info('Orthanc (DICOMweb) started', { dicomweb: orthanc.dicomweb });
  return { dicomweb: orthanc.dicomweb };
}
