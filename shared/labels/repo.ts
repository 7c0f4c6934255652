import type { ImageId, ImageRecord, PatientId } from '../model/index.ts';
import type { StoredImage } from './doc.ts';
import type { LoadOptions, LoadSummary } from './loader.ts';

export type { StoredImage } from './doc.ts';

/**
 * A StoredImage that also carries the record's JSON as stored (what JSON.stringify(record) gives): a route
 * can send it as it is, and `record` is then parsed only if something reads it.
 */
export interface StoredImageJson extends StoredImage {
  readonly json: string;
}

/** True when the repo handed back the stored JSON of the record. */
export const hasJson = (x: StoredImage): x is StoredImageJson =>
  typeof (x as { json?: unknown }).json === 'string';

/** Image labels storage, as the labels function and the upload processing see it. */
export interface LabelRepo {
  getImage(id: ImageId): Promise<StoredImage | undefined>;
  /**
   * Many images, one `getAll` round trip per chunk (chunks run concurrently). The result is aligned with
   * `ids`: undefined where an image does not exist.
   */
  getImages(ids: readonly ImageId[]): Promise<(StoredImage | undefined)[]>;
  /** A patient's images ordered by followUp; empty when the patient has none. */
  getPatientImages(patientId: PatientId): Promise<StoredImage[]>;
  /** Writes whole records (idempotent: equal records leave equal documents). */
  upsertRecords(
    records: Iterable<ImageRecord> | AsyncIterable<ImageRecord>,
    opts?: LoadOptions,
  ): Promise<LoadSummary>;
}
