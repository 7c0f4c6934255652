/** The links an image record carries once its DICOM identity is known (pure). */
import type { DicomIdentity, DicomLinks } from '../model/dicom.ts';

/** The three UIDs that locate an instance. */
export type InstanceUids = Pick<DicomIdentity, 'studyInstanceUid' | 'seriesInstanceUid' | 'sopInstanceUid'>;

/** The WADO-RS path of an instance below a DICOMweb base. */
export function instancePath(id: InstanceUids): string {
  const e = encodeURIComponent;
  return `/studies/${e(id.studyInstanceUid)}/series/${e(id.seriesInstanceUid)}/instances/${e(id.sopInstanceUid)}`;
}

export interface LinkConfig {
  base: string | undefined;
  viewerUrl: string;
}

export function dicomLinks(imageId: string, d: InstanceUids, c: LinkConfig): DicomLinks {
  const dicomweb = c.base ? c.base + instancePath(d) : null;
  const values: Record<string, string> = {
    studyInstanceUid: d.studyInstanceUid,
    seriesInstanceUid: d.seriesInstanceUid,
    sopInstanceUid: d.sopInstanceUid,
    imageId,
    dicomweb: dicomweb ?? '',
  };
  const viewer = c.viewerUrl.replace(/\{([a-zA-Z]+)\}/g, (_, k: string) =>
    encodeURIComponent(values[k] ?? ''),
  );
  return { dicomweb, viewer };
}
