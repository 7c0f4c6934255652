/** The links an image record carries once its DICOM identity is known (pure). */
import type { DicomIdentity } from '../model/dicom.ts';
import { instancePath } from './dicomweb.ts';

export interface DicomLinks {
  /** WADO-RS URL of the instance in the configured store; null when no store is configured. */
  dicomweb: string | null;
  /** The configured viewer template, filled in. */
  viewer: string;
}

export interface LinkConfig {
  base: string | undefined;
  viewerUrl: string;
}

export function dicomLinks(imageId: string, d: DicomIdentity, c: LinkConfig): DicomLinks {
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
