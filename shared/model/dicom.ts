/** The DICOM identity of one image, as its file's header gives it (pure: no I/O). */
import * as z from 'zod';

/**
 * A DICOM UID (PS3.5 section 9.1, value representation UI): dot-separated numeric components, no leading
 * zero in a component of more than one digit, at most 64 characters.
 */
export const DICOM_UID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*$/;
export const MAX_UID_LENGTH = 64;

export const DicomUidSchema = z
  .string()
  .max(MAX_UID_LENGTH, `a DICOM UID has at most ${MAX_UID_LENGTH} characters`)
  .regex(DICOM_UID, 'must be a DICOM UID: digits in dot-separated components without leading zeros');

export const DicomIdentitySchema = z.object({
  studyInstanceUid: DicomUidSchema,
  seriesInstanceUid: DicomUidSchema,
  sopInstanceUid: DicomUidSchema,
  transferSyntaxUid: DicomUidSchema,
  rows: z.number().int().positive().max(65_535),
  columns: z.number().int().positive().max(65_535),
  photometricInterpretation: z
    .string()
    .max(16)
    .regex(/^[A-Z0-9_ ]+$/, 'must be a DICOM code string such as MONOCHROME2'),
});
export type DicomIdentity = z.infer<typeof DicomIdentitySchema>;

/** Where an image with a DICOM identity can be opened (GET /v1/images/{imageId}, optional export columns). */
export const DicomLinksSchema = z.object({
  /** WADO-RS URL of the instance in the configured store; null when no store is configured. */
  dicomweb: z.string().nullable(),
  /** The configured viewer URL template (DICOM_VIEWER_URL), filled in; OHIF's by default. */
  viewer: z.string(),
});
export type DicomLinks = z.infer<typeof DicomLinksSchema>;

/** The identity with keys in a fixed order, so that equal identities serialise identically. */
export function canonicalDicom(d: DicomIdentity): DicomIdentity {
  return {
    studyInstanceUid: d.studyInstanceUid,
    seriesInstanceUid: d.seriesInstanceUid,
    sopInstanceUid: d.sopInstanceUid,
    transferSyntaxUid: d.transferSyntaxUid,
    rows: d.rows,
    columns: d.columns,
    photometricInterpretation: d.photometricInterpretation,
  };
}
