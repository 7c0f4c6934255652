/**
 * A DICOM file's header through ranged reads that stop at the Pixel Data element: 1 KiB first, then twice as much
 * until the parser reaches (7FE0,0010), at most MAX_DICOM_HEADER bytes in all. The pixel data itself is
 * never requested: a radiograph's header is a few KiB of a file of several MB.
 */
import dicomParser from 'dicom-parser';
import { type DicomInfo, dicomInfo, MAX_DICOM_HEADER, message, PIXEL_DATA } from '../uploads/dicom.ts';

/** Bytes [start, end] (inclusive, as HTTP Range) of one object. */
export type RangeRead = (start: number, end: number) => Promise<Buffer>;

export const FIRST_READ_BYTES = 1024;

export class DicomHeaderError extends Error {
  override readonly name = 'DicomHeaderError';
}

export interface RangedHeader {
  info: DicomInfo;
  /** Bytes requested and received: the header, never the pixel data past the first read's overshoot. */
  bytesRead: number;
  requests: number;
}

export async function readHeaderRanged(
  read: RangeRead,
  size: number,
  o: { firstBytes?: number; maxBytes?: number } = {},
): Promise<RangedHeader> {
  const max = Math.min(o.maxBytes ?? MAX_DICOM_HEADER, size);
  let want = Math.min(o.firstBytes ?? FIRST_READ_BYTES, max);
  const parts: Buffer[] = [];
  let have = 0;
  let requests = 0;
  for (;;) {
    const chunk = await read(have, want - 1);
    requests++;
    if (chunk.length !== want - have) {
      throw new DicomHeaderError(`asked for bytes ${have}-${want - 1}, got ${chunk.length} bytes`);
    }
    parts.push(chunk);
    have = want;
    const buf = Buffer.concat(parts, have);
    if (requests === 1 && (buf.length < 132 || buf.toString('latin1', 128, 132) !== 'DICM')) {
      throw new DicomHeaderError('not a DICOM Part 10 file: no DICM prefix at byte 128');
    }
    let error: string | undefined;
    try {
      const ds = dicomParser.parseDicom(buf, { untilTag: PIXEL_DATA });
      if (ds.elements[PIXEL_DATA]) return { info: dicomInfo(ds), bytesRead: have, requests };
    } catch (err) {
      error = message(err);
    }
    if (have >= max) {
      throw new DicomHeaderError(
        `no Pixel Data element within the first ${have} bytes${error ? ` (${error})` : ''}`,
      );
    }
    want = Math.min(want * 2, max);
  }
}
