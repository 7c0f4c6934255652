/**
 * The Firestore document of one image (collection `images`, document id = imageId). Pure: no I/O.
 *
 * Layout, schema version 1:
 *   patientId, followUp   numbers, for the patient query (composite index in indexes.ts)
 *   record                the full ImageRecord as JSON, keys in the order of docs/api.md
 *   contentHash           sha256 (base64url, 22 chars) of `record`: the ETag and the loader's skip test
 *   schemaVersion         1
 * One large string instead of nested maps halves the emulator's write time and avoids dozens of automatic
 * index entries per document in production (indexes.ts exempts `record` from indexing). Reader rows live
 * inside the record, so writing a document again replaces them and can never duplicate them.
 */
import { createHash } from 'node:crypto';
import {
  canonicalDicom,
  FINDINGS,
  FOUR_FINDINGS,
  type ImageRecord,
  type ReaderLabels,
} from '../model/index.ts';

export const SCHEMA_VERSION = 1;
export const IMAGES_COLLECTION = 'images';

/**
 * Document caps (Firestore refuses a document over 1 MiB, 1,048,576 bytes, with INVALID_ARGUMENT). The NIH
 * and Google files have at most 4 boxes and 10 reader rows per image; an upload's rows past these caps are
 * rejected by line, and a merged record is checked against them (and against MAX_RECORD_BYTES, which leaves
 * room for the document name and the other fields) before it is written.
 */
export const MAX_BOXES_PER_IMAGE = 100;
export const MAX_READERS_PER_IMAGE = 50;
/** UTF-8 bytes of the `record` string of one document. */
export const MAX_RECORD_BYTES = 1_000_000;

export interface ImageDoc {
  patientId: number;
  followUp: number;
  record: string;
  contentHash: string;
  schemaVersion: number;
}

/** A record as read back, with the version its ETag is derived from. */
export interface StoredImage {
  record: ImageRecord;
  /** contentHash of the stored record. */
  version: string;
}

const STUDY_ORDER = { fourFindings: 0, allFindings: 1 } as const;
const LABEL_ORDER: Record<ReaderLabels['study'], readonly string[]> = {
  fourFindings: FOUR_FINDINGS,
  allFindings: ['abnormal', ...FINDINGS, 'other'],
};

/** Labels in the study's column order; names outside it (none in the NIH files) follow, sorted. */
function canonicalLabels(r: ReaderLabels): ReaderLabels['labels'] {
  const order = LABEL_ORDER[r.study];
  const known = order.filter((k) => k in r.labels);
  const rest = Object.keys(r.labels)
    .filter((k) => !order.includes(k))
    .sort();
  return Object.fromEntries([...known, ...rest].map((k) => [k, r.labels[k]!]));
}

function byStudyThenReader(a: ReaderLabels, b: ReaderLabels): number {
  return (
    STUDY_ORDER[a.study] - STUDY_ORDER[b.study] ||
    a.readerId.length - b.readerId.length ||
    (a.readerId < b.readerId ? -1 : a.readerId > b.readerId ? 1 : 0)
  );
}

/**
 * The record with keys in API order, unknown keys dropped and reader rows sorted by study then reader id, so
 * that equal content always serialises (and hashes) identically, whatever order the parser produced.
 */
export function canonicalRecord(r: ImageRecord): ImageRecord {
  const { fourFindings: ff, allFindings: af } = r.expert;
  return {
    imageId: r.imageId,
    patientId: r.patientId,
    followUp: r.followUp,
    patientAge: r.patientAge,
    patientSex: r.patientSex,
    viewPosition: r.viewPosition,
    width: r.width,
    height: r.height,
    pixelSpacing: { x: r.pixelSpacing.x, y: r.pixelSpacing.y },
    split: r.split,
    findings: [...r.findings],
    boundingBoxes: r.boundingBoxes.map((b) => ({ finding: b.finding, x: b.x, y: b.y, w: b.w, h: b.h })),
    expert: {
      fourFindings: ff
        ? {
            set: ff.set,
            fracture: ff.fracture,
            pneumothorax: ff.pneumothorax,
            airspaceOpacity: ff.airspaceOpacity,
            noduleOrMass: ff.noduleOrMass,
          }
        : null,
      allFindings: af
        ? {
            abnormal: af.abnormal,
            other: af.other,
            findings: Object.fromEntries(FINDINGS.map((f) => [f, af.findings[f]])) as Record<
              (typeof FINDINGS)[number],
              boolean
            >,
          }
        : null,
      readers: r.expert.readers
        .map((x) => ({ study: x.study, readerId: x.readerId, labels: canonicalLabels(x) }))
        .sort(byStudyThenReader),
    },
    files: { png: r.files.png, dicom: r.files.dicom },
    // Absent until a DICOM header was read: records without one hash exactly as before.
    ...(r.dicom ? { dicom: canonicalDicom(r.dicom) } : {}),
  };
}

export function hashRecordJson(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 22);
}

/** The document to write for a record. */
export function toImageDoc(r: ImageRecord): ImageDoc {
  const record = JSON.stringify(canonicalRecord(r));
  return {
    patientId: r.patientId,
    followUp: r.followUp,
    record,
    contentHash: hashRecordJson(record),
    schemaVersion: SCHEMA_VERSION,
  };
}

/** Thrown when a stored document is not in a layout this code can read. */
export class CorruptDocumentError extends Error {
  override readonly name = 'CorruptDocumentError';
}

/** Reads a stored document back; internal fields (query fields, hash, schema version) are not in the record. */
export function fromImageDoc(id: string, data: Record<string, unknown> | undefined): StoredImage {
  const record = data?.record;
  if (typeof record !== 'string' || data?.schemaVersion !== SCHEMA_VERSION) {
    throw new CorruptDocumentError(`images/${id} is not a schema-${SCHEMA_VERSION} image document`);
  }
  const hash = typeof data.contentHash === 'string' ? data.contentHash : hashRecordJson(record);
  return { record: JSON.parse(record) as ImageRecord, version: hash };
}

/** The fields a read needs; the query fields stay on the server. */
export const READ_FIELDS = ['record', 'contentHash', 'schemaVersion'] as const;
