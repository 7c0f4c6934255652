/**
 * Uploaded images: validated while streaming (PNG structure and CRCs; DICOM header up to the pixel data),
 * then registered in Firestore `uploads_images`, one document per object name, holding the newest generation.
 */
import { createHash } from 'node:crypto';
import type { DocUpdate, FirestoreWriter } from '../google/firestore-rest-tx.ts';
import { DicomHeaderReader, type DicomInfo } from './dicom.ts';
import { UploadRejection } from './errors.ts';
import { PngValidator } from './png.ts';

export const IMAGES_REGISTRY_COLLECTION = 'uploads_images';

export interface ImageInspection {
  format: 'png' | 'dicom';
  width: number;
  height: number;
  /** Bytes of the (decompressed) image. */
  bytes: number;
  png?: { bitDepth: number; colourType: number; interlace: boolean; chunks: number };
  dicom?: DicomInfo;
}

/** Reads the whole image once; throws UploadRejection at the first structural problem. */
export async function inspectImage(
  format: 'png' | 'dicom',
  content: AsyncIterable<Buffer>,
): Promise<ImageInspection> {
  let bytes = 0;
  if (format === 'png') {
    const v = new PngValidator();
    for await (const chunk of content) {
      bytes += chunk.length;
      v.push(chunk);
    }
    const i = v.end();
    return {
      format,
      width: i.width,
      height: i.height,
      bytes,
      png: { bitDepth: i.bitDepth, colourType: i.colourType, interlace: i.interlace, chunks: i.chunks },
    };
  }
  const r = new DicomHeaderReader();
  for await (const chunk of content) {
    bytes += chunk.length;
    if (!r.done) r.push(chunk);
  }
  const d = r.end();
  if (d.pixelDataOffset === null) throw new UploadRejection('invalid DICOM: no Pixel Data element', bytes);
  if (d.pixelDataLength !== null && d.pixelDataOffset + d.pixelDataLength > bytes) {
    throw new UploadRejection(
      `invalid DICOM: truncated, the pixel data should end at byte ${d.pixelDataOffset + d.pixelDataLength} but the file has ${bytes} bytes`,
      bytes,
    );
  }
  if (!d.rows || !d.columns) throw new UploadRejection('invalid DICOM: Rows or Columns missing', 0);
  return { format, width: d.columns, height: d.rows, bytes, dicom: d };
}

export interface ImageRegistration extends ImageInspection {
  bucket: string;
  name: string;
  generation: string;
  /** Size of the object as stored (compressed when the upload was gzip). */
  size: number;
  gzip: boolean;
  contentType: string | null;
  md5Hash: string | null;
  crc32c: string | null;
  /** Hex sha256 of the object's bytes, computed while reading. */
  sha256: string;
  registeredAt: string;
}

export interface ImageRegistry {
  /**
   * Stores the registration unless a newer generation of the same object is already registered; the
   * `alongside` updates (the ledger's "done") are committed with it, in either case, or nothing is.
   */
  register(r: ImageRegistration, alongside?: DocUpdate[]): Promise<'registered' | 'superseded'>;
}

export function registryDocId(bucket: string, name: string): string {
  return createHash('sha256').update(`${bucket}/${name}`).digest('hex').slice(0, 40);
}

/** The registry in Firestore, over its REST API (see shared/google/firestore-rest-tx.ts for why not the SDK). */
export function createImageRegistry(
  db: FirestoreWriter,
  collection = IMAGES_REGISTRY_COLLECTION,
): ImageRegistry {
  return {
    async register(r, alongside = []) {
      const id = registryDocId(r.bucket, r.name);
      // Firestore rejects undefined values; the record is plain JSON.
      const doc = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
      // The first registration of a name (the usual case) is one round trip; a later one, a transaction.
      if (await db.create(collection, id, doc, alongside)) return 'registered';
      return db.runTransaction(async (tx) => {
        for (const u of alongside) tx.update(u.collection, u.id, u.fields);
        const stored = (await tx.get(collection, id))?.generation as string | undefined;
        if (stored !== undefined && BigInt(stored) > BigInt(r.generation)) return 'superseded';
        tx.set(collection, id, doc);
        return 'registered';
      });
    },
  };
}
