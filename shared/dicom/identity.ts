/** From a parsed DICOM header to the identity an image record carries (pure). */
import { type DicomIdentity, DicomIdentitySchema } from '../model/dicom.ts';
import { type ImageId, parseImageId } from '../model/ids.ts';
import type { DicomInfo } from '../uploads/dicom.ts';

const TAGS: Record<keyof DicomIdentity, string> = {
  studyInstanceUid: '(0020,000D) StudyInstanceUID',
  seriesInstanceUid: '(0020,000E) SeriesInstanceUID',
  sopInstanceUid: '(0008,0018) SOPInstanceUID',
  transferSyntaxUid: '(0002,0010) TransferSyntaxUID',
  rows: '(0028,0010) Rows',
  columns: '(0028,0011) Columns',
  photometricInterpretation: '(0028,0004) PhotometricInterpretation',
};

/** The identity, or the first reason it cannot be one, naming the DICOM tag and its value. */
export function identityFromInfo(info: DicomInfo): DicomIdentity | { reason: string } {
  const raw = {
    studyInstanceUid: info.studyInstanceUid,
    seriesInstanceUid: info.seriesInstanceUid,
    sopInstanceUid: info.sopInstanceUid,
    transferSyntaxUid: info.transferSyntaxUid,
    rows: info.rows,
    columns: info.columns,
    photometricInterpretation: info.photometricInterpretation,
  };
  const r = DicomIdentitySchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const key = issue.path[0] as keyof DicomIdentity;
  const value = raw[key];
  const shown = value === null ? 'missing' : JSON.stringify(String(value).slice(0, 80));
  return {
    reason: `${TAGS[key] ?? String(key)} is ${shown}${value === null ? '' : `: ${issue.message}`}`,
  };
}

/** The image id of an object named `.../<imageId>.dcm` (any prefix, e.g. images/ or dicom/), else undefined. */
export function imageIdOfDicomObject(name: string): ImageId | undefined {
  const m = /(?:^|\/)(\d{8}_\d{3})\.dcm$/i.exec(name);
  return m ? parseImageId(m[1]!) : undefined;
}
