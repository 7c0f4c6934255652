/**
 * DICOM header metadata with dicom-parser, reading only the bytes before the Pixel Data element (7FE0,0010):
 * the header is collected until that tag parses, the pixel data then streams past without being kept.
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
const PIXEL_DATA = 'x7fe00010';
const PIXEL_TAGS = [Buffer.from([0xe0, 0x7f, 0x10, 0x00]), Buffer.from([0x7f, 0xe0, 0x00, 0x10])];
/** Tag + VR + reserved + 32-bit length: the longest element header. */
const ELEMENT_HEADER = 12;

type DataSet = ReturnType<typeof dicomParser.parseDicom>;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function info(ds: DataSet): DicomInfo {
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

export class DicomHeaderReader {
  #parts: Buffer[] = [];
  #length = 0;
  #searchFrom = 132;
  #result: DicomInfo | undefined;
  #lastError = '';

  get done(): boolean {
    return this.#result !== undefined;
  }

  push(b: Buffer): void {
    if (this.#result) return;
    if (this.#length + b.length > MAX_DICOM_HEADER) {
      throw new UploadRejection(
        `invalid DICOM: no parsable header within the first ${MAX_DICOM_HEADER} bytes (${this.#lastError || 'no Pixel Data element'})`,
        this.#length,
      );
    }
    this.#parts.push(b);
    this.#length += b.length;
    const buf = Buffer.concat(this.#parts);
    this.#parts = [buf];
    for (;;) {
      const at = Math.min(
        ...PIXEL_TAGS.map((t) => buf.indexOf(t, this.#searchFrom)).map((i) =>
          i < 0 ? Number.POSITIVE_INFINITY : i,
        ),
      );
      if (!Number.isFinite(at) || at + ELEMENT_HEADER > buf.length) return;
      this.#searchFrom = at + 1;
      if (this.#tryParse(buf.subarray(0, at + ELEMENT_HEADER))) return;
    }
  }

  #tryParse(buf: Buffer): boolean {
    try {
      const ds = dicomParser.parseDicom(buf, { untilTag: PIXEL_DATA });
      if (!ds.elements[PIXEL_DATA]) return false;
      this.#result = info(ds);
      this.#parts = [];
      return true;
    } catch (err) {
      this.#lastError = message(err);
      return false;
    }
  }

  /** At the end of the stream: the header, parsed in full when no Pixel Data element was found. */
  end(): DicomInfo {
    if (this.#result) return this.#result;
    const buf = Buffer.concat(this.#parts);
    try {
      this.#result = info(dicomParser.parseDicom(buf));
    } catch (err) {
      throw new UploadRejection(`invalid DICOM: ${message(err)}`, buf.length);
    }
    return this.#result;
  }
}
