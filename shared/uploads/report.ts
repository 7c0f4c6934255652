/** The report object written for every processed upload: `reports/<object name>.json`. */
import type { FileKind, RowIssue } from '../parsers/types.ts';
import type { StorageObject } from './event.ts';
import type { ImageInspection } from './images.ts';
import type { LabelLoadResult } from './label-load.ts';

export const REPORTS_PREFIX = 'reports/';
export const QUARANTINE_PREFIX = 'quarantine/';

/**
 * loaded / registered: a label file or an image was taken in; rejected: bad input, nothing to retry;
 * failed: processing kept failing (not the input's fault) and was given up after the attempt limit.
 */
export type UploadStatus = 'loaded' | 'registered' | 'rejected' | 'failed';

export interface UploadReport {
  object: {
    bucket: string;
    name: string;
    generation: string;
    size: number;
    contentType: string | null;
    md5Hash: string | null;
    crc32c: string | null;
    /** Hex sha256 of the object, when it was read to the end. */
    sha256: string | null;
  };
  status: UploadStatus;
  /** What the content is: a label file kind, `png`, `dicom`, or null when not recognised. */
  kind: FileKind | 'png' | 'dicom' | null;
  gzip: boolean;
  /** Why the whole upload was rejected, and where (byte offset), if it was. */
  reason: string | null;
  offset: number | null;
  lines: number | null;
  rows: LabelLoadResult['rows'] | null;
  images: LabelLoadResult['images'] | null;
  cohortRows: number | null;
  rejected: RowIssue[];
  /** Rejection entries in all; `rejected` lists the first MAX_LISTED_ISSUES. */
  rejectedTotal: number;
  warnings: RowIssue[];
  warningsTotal: number;
  image: ImageInspection | null;
  quarantine: string | null;
  attempt: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export function reportName(objectName: string): string {
  return `${REPORTS_PREFIX}${objectName}.json`;
}

export function quarantineName(objectName: string): string {
  return `${QUARANTINE_PREFIX}${objectName}`;
}

/** True for objects this function writes itself: never processed. */
export function isOwnObject(name: string): boolean {
  return name.startsWith(REPORTS_PREFIX) || name.startsWith(QUARANTINE_PREFIX);
}

export function objectSummary(o: StorageObject, sha256: string | undefined): UploadReport['object'] {
  return {
    bucket: o.bucket,
    name: o.name,
    generation: o.generation,
    size: o.size,
    contentType: o.contentType ?? null,
    md5Hash: o.md5Hash ?? null,
    crc32c: o.crc32c ?? null,
    sha256: sha256 ?? null,
  };
}

/** The report of an upload given up after its attempt limit: nothing about its content is known for sure. */
export function failedReport(
  o: StorageObject,
  attempt: number,
  lastError: string,
  nowMs: number,
): UploadReport {
  const at = new Date(nowMs).toISOString();
  return {
    object: objectSummary(o, undefined),
    status: 'failed',
    kind: null,
    gzip: false,
    reason:
      `gave up after ${attempt} failed attempts; the last one failed with: ${lastError.slice(0, 1000)}. ` +
      'Upload the file again to retry.',
    offset: null,
    lines: null,
    rows: null,
    images: null,
    cohortRows: null,
    rejected: [],
    rejectedTotal: 0,
    warnings: [],
    warningsTotal: 0,
    image: null,
    quarantine: null,
    attempt,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
  };
}
