/**
 * The local DICOMweb store's content (npm start only): the first SYNTHETIC_DICOM_FILES images of the local
 * data set as generated DICOM files (dcmjs) with their identity recorded, and every DICOM upload the upload
 * function registered, each stored into Orthanc with STOW-RS, as the Healthcare API store holds the NIH files.
 */

import type { Firestore } from '@google-cloud/firestore';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { UploadsApp } from '../../functions/uploads/app.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { recordDicomIdentities } from '../../shared/dicom/record.ts';
import { stowRs } from '../../shared/dicom/stow.ts';
import type { LabelRepo } from '../../shared/labels/repo.ts';
import type { Logger } from '../../shared/log.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { syntheticDicom } from '../../shared/sample/synthetic-dicom.ts';

/** Generated files are full-size (a few MB each): a handful shows every route without slowing start-up. */
export const SYNTHETIC_DICOM_FILES = 20;

/** Stores generated DICOM files of the first records into the store and records their identity. */
export async function storeSyntheticDicoms(
  records: readonly ImageRecord[],
  o: {
    dicomweb: string;
    firestore: Firestore;
    collection: string;
    labels: LabelRepo;
    cohorts: CohortStore;
    log: Logger;
  },
): Promise<number> {
  const items = [];
  for (const r of records.slice(0, SYNTHETIC_DICOM_FILES)) {
    const d = syntheticDicom(r);
    const stow = await stowRs(o.dicomweb, [d.bytes]);
    if (stow.status !== 200) throw new Error(`STOW-RS of ${r.imageId} answered ${stow.status}`);
    items.push({
      imageId: r.imageId,
      dicom: {
        studyInstanceUid: d.studyInstanceUid,
        seriesInstanceUid: d.seriesInstanceUid,
        sopInstanceUid: d.sopInstanceUid,
        transferSyntaxUid: d.transferSyntaxUid,
        rows: r.height,
        columns: r.width,
        photometricInterpretation: 'MONOCHROME2',
      },
    });
  }
  const s = await recordDicomIdentities(items, {
    firestore: o.firestore,
    collection: o.collection,
    throttle: false,
    labels: o.labels,
    cohorts: o.cohorts,
  });
  o.log.info('synthetic DICOM files stored in Orthanc (STOW-RS)', {
    files: items.length,
    recorded: s.recorded,
    unchanged: s.unchanged,
  });
  return items.length;
}

/**
 * The upload function's handler, then, for a DICOM upload it registered, the object stored into the local
 * DICOMweb store (read back from the Storage emulator, at most `maxBytes`).
 */
export function withDicomStow(
  app: UploadsApp,
  o: { dicomweb: string | undefined; storageHost: string; maxBytes: number; log: Logger },
): (event: CloudEvent<unknown>) => Promise<void> {
  return async (event) => {
    const outcome = await (await app.processor()).process(event);
    if (!o.dicomweb || !('report' in outcome)) return;
    const { report } = outcome;
    if (report.kind !== 'dicom' || report.status !== 'registered' || report.object.size > o.maxBytes) return;
    const { bucket, name, generation } = report.object;
    const url = `${o.storageHost}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?alt=media&generation=${generation}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`reading ${name} answered ${res.status}`);
      const stow = await stowRs(o.dicomweb, [Buffer.from(await res.arrayBuffer())]);
      if (stow.status !== 200)
        throw new Error(`STOW-RS answered ${stow.status}: ${JSON.stringify(stow.body)}`);
      o.log.info('DICOM upload stored in Orthanc (STOW-RS)', {
        object: name,
        imageId: report.dicomRecord?.imageId,
      });
    } catch (err) {
      // The upload itself is processed; a local store that refuses a file must not make it redelivered.
      o.log.warn('DICOM upload not stored in the local DICOMweb store', { object: name, err });
    }
  };
}
