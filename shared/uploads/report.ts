/** The report object written for every processed upload: `reports/<object name>.json`. */
import { createHash } from 'node:crypto';
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
  /** A DICOM upload named `<imageId>.dcm`: whether its identity went on the image record (issue 17). */
  dicomRecord?: { imageId: string | null; recorded: boolean; reason: string | null };
  quarantine: string | null;
  attempt: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** Cloud Storage's limit on an object name, in UTF-8 bytes. */
export const MAX_OBJECT_NAME_BYTES = 1024;
/** Where the report goes when even the bounded name cannot be written: the name's hash only. */
export const FALLBACK_REPORTS_PREFIX = `${REPORTS_PREFIX}_by-hash/`;
const HASH_CHARS = 16;

/** A control character (refused or discouraged in object names) or half of a surrogate pair. */
function isOdd(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff);
}

/** The name with each odd code unit (control characters, lone surrogates) replaced by `_`. */
function cleaned(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < name.length) {
      const d = name.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += name[i]! + name[i + 1]!;
        i++;
        continue;
      }
    }
    out += isOdd(c) ? '_' : name[i]!;
  }
  return out;
}

function nameHash(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, HASH_CHARS);
}

/** The longest prefix of `s` within `bytes` UTF-8 bytes, never splitting a character. */
function truncateUtf8(s: string, bytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= bytes) return s;
  let used = 0;
  let end = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > bytes) break;
    used += n;
    end += ch.length;
  }
  return s.slice(0, end);
}

/**
 * `prefix + name + suffix` when that is a valid object name; otherwise a bounded one derived from the name:
 * odd characters replaced by `_`, truncated to fit, and `~` plus the hash of the whole original name, so
 * that two long names never share a derived name. Always at most MAX_OBJECT_NAME_BYTES bytes.
 */
export function derivedName(prefix: string, name: string, suffix = ''): string {
  const plain = `${prefix}${name}${suffix}`;
  const clean = cleaned(name);
  if (clean === name && Buffer.byteLength(plain, 'utf8') <= MAX_OBJECT_NAME_BYTES) return plain;
  const tail = `~${nameHash(name)}${suffix}`;
  const room = MAX_OBJECT_NAME_BYTES - Buffer.byteLength(prefix + tail, 'utf8');
  return `${prefix}${truncateUtf8(clean, room)}${tail}`;
}

/** `reports/<object>.json`, or a bounded name derived from the object's (the report records the original). */
export function reportName(objectName: string): string {
  return derivedName(REPORTS_PREFIX, objectName, '.json');
}

/** The last resort for a report: `reports/_by-hash/<sha256 of the name>.json`, valid for any name. */
export function fallbackReportName(objectName: string): string {
  return `${FALLBACK_REPORTS_PREFIX}${createHash('sha256').update(objectName, 'utf8').digest('hex')}.json`;
}

export function quarantineName(objectName: string): string {
  return derivedName(QUARANTINE_PREFIX, objectName);
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
      'Upload the file again to retry: rows an attempt already wrote to Firestore stay, and the new upload ' +
      'brings the cohort store level with them.',
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
