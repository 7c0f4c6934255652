/**
 * DICOM header metadata with dicom-parser, reading only the bytes up to the Pixel Data element (7FE0,0010):
 * at most the first MAX_DICOM_HEADER bytes are kept and parsed once; the pixel data then streams past.
 */
import dicomParser from 'dicom-parser';
import { UploadRejection } from './errors.ts';

export interface DicomInfo {
  transferSyntaxUid: string | null;
  sopClassUid: string | null;
  sopInstanceUid: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  modality: string | null;
  patientAge: string | null;
  patientSex: string | null;
  viewPosition: string | null;
  rows: number | null;
  columns: number | null;
  bitsAllocated: number | null;
  photometricInterpretation: string | null;
  /** Byte offset where the pixel data value starts, or null when the file has none. */
  pixelDataOffset: number | null;
  /** Its declared length; null when undefined (encapsulated) or absent. */
  pixelDataLength: number | null;
}

/** A header bigger than this is not a plausible radiograph header. */
export const MAX_DICOM_HEADER = 4 * 1024 * 1024;
export const PIXEL_DATA = 'x7fe00010';

type DataSet = ReturnType<typeof dicomParser.parseDicom>;

export function message(err: unknown): string {
  if (err instanceof Error) return err.message;
  // dicom-parser throws strings, or {exception, dataSet} objects when it has a partial data set.
  const exception = (err as { exception?: unknown } | null)?.exception;
  return typeof exception === 'string' ? exception : String(err);
}

/** The fields of a parsed header (dicom-parser data set). */
export function dicomInfo(ds: DataSet): DicomInfo {
  const str = (tag: string) => {
    const v = ds.string(tag);
    return v === undefined || v === '' ? null : v;
  };
  const u16 = (tag: string) => (ds.elements[tag] ? (ds.uint16(tag) ?? null) : null);
  const pixel = ds.elements[PIXEL_DATA];
  return {
    transferSyntaxUid: str('x00020010'),
    sopClassUid: str('x00080016'),
    sopInstanceUid: str('x00080018'),
    studyInstanceUid: str('x0020000d'),
    seriesInstanceUid: str('x0020000e'),
    modality: str('x00080060'),
    patientAge: str('x00101010'),
    patientSex: str('x00100040'),
    viewPosition: str('x00185101'),
    rows: u16('x00280010'),
    columns: u16('x00280011'),
    bitsAllocated: u16('x00280100'),
    photometricInterpretation: str('x00280004'),
    pixelDataOffset: pixel ? pixel.dataOffset : null,
    pixelDataLength: pixel && !pixel.hadUndefinedLength ? pixel.length : null,
  };
}

/**
 * Collects the first MAX_DICOM_HEADER bytes (or the whole file, if smaller) and parses them once: linear in
 * the header, however many bytes in it look like a Pixel Data tag.
 */
export class DicomHeaderReader {
  #parts: Buffer[] = [];
  #length = 0;
  #result: DicomInfo | undefined;
  /** Calls of the DICOM parser so far (at most one). */
  parses = 0;

  get done(): boolean {
    return this.#result !== undefined;
  }

  push(b: Buffer): void {
    if (this.#result) return;
    const room = MAX_DICOM_HEADER - this.#length;
    if (b.length < room) {
      this.#parts.push(b);
      this.#length += b.length;
      return;
    }
    this.#parts.push(b.subarray(0, room));
    this.#length += room;
    const buf = this.#take();
    let ds: DataSet;
    try {
      this.parses++;
      ds = dicomParser.parseDicom(buf, { untilTag: PIXEL_DATA });
    } catch (err) {
      throw new UploadRejection(
        `invalid DICOM: no parsable header within the first ${MAX_DICOM_HEADER} bytes (${message(err)})`,
        buf.length,
      );
    }
    if (!ds.elements[PIXEL_DATA]) {
      throw new UploadRejection(
        `invalid DICOM: no Pixel Data element within the first ${MAX_DICOM_HEADER} bytes`,
        buf.length,
      );
    }
    this.#result = dicomInfo(ds);
  }

  #take(): Buffer {
    const buf = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#length);
    this.#parts = [];
    return buf;
  }

  /** At the end of the stream: the header of a file shorter than MAX_DICOM_HEADER, parsed now. */
  end(): DicomInfo {
    if (this.#result) return this.#result;
    const buf = this.#take();
    try {
      this.parses++;
      // Up to the Pixel Data element only: its length is checked against the bytes read (inspectImage).
      this.#result = dicomInfo(dicomParser.parseDicom(buf, { untilTag: PIXEL_DATA }));
    } catch (err) {
      throw new UploadRejection(`invalid DICOM: ${message(err)}`, buf.length);
    }
    return this.#result;
  }
}
