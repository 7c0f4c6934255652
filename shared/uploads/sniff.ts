/**
 * What an upload is, told from its first bytes only (never its name or content type): gzip is unwrapped
 * first, then a PNG signature, a DICOM preamble + `DICM`, or the header line of a known label file.
 */
import { detectKind } from '../parsers/header.ts';
import type { FileKind } from '../parsers/types.ts';
import { type ByteSource, gunzipped, peek } from './bytes.ts';
import { UploadRejection } from './errors.ts';

export type Sniffed =
  | { kind: 'labels'; fileKind: FileKind; gzip: boolean }
  | { kind: 'png'; gzip: boolean }
  | { kind: 'dicom'; gzip: boolean };

export interface SniffResult {
  sniffed: Sniffed;
  /** The whole content from its first byte, decompressed when the upload was gzip. Iterate once. */
  content: AsyncIterable<Buffer>;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const DICOM_PREAMBLE = 128;
/** A header line longer than this is not one of the label formats. */
const MAX_HEADER_BYTES = 64 * 1024;

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}
function isPng(b: Buffer): boolean {
  return b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE);
}
function isDicom(b: Buffer): boolean {
  return (
    b.length >= DICOM_PREAMBLE + 4 && b.toString('latin1', DICOM_PREAMBLE, DICOM_PREAMBLE + 4) === 'DICM'
  );
}

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
}

async function classify(source: ByteSource, gzip: boolean): Promise<SniffResult> {
  const p = await peek(
    source,
    MAX_HEADER_BYTES,
    (h) => isPng(h) || (h.length >= DICOM_PREAMBLE + 4 && (isDicom(h) || h.includes(0x0a))),
  );
  const { head } = p;
  const what = gzip ? 'the decompressed content' : 'the object';
  if (head.length === 0)
    throw new UploadRejection(gzip ? 'empty gzip: no content' : 'empty object (0 bytes)');
  if (isPng(head)) return { sniffed: { kind: 'png', gzip }, content: p.stream };
  if (isDicom(head)) return { sniffed: { kind: 'dicom', gzip }, content: p.stream };
  const nl = head.indexOf(0x0a);
  if (nl < 0 && !p.ended) {
    throw new UploadRejection(
      `${what} is not a PNG, a DICOM file or a label file (no line break in its first 64 KiB)`,
    );
  }
  let line: string;
  try {
    line = new TextDecoder('utf-8', { fatal: true }).decode(nl < 0 ? head : head.subarray(0, nl));
  } catch {
    throw new UploadRejection(`${what} is not a PNG, a DICOM file or a label file (binary content)`, 0);
  }
  line = line.replace(/^\uFEFF/, '').replace(/\r$/, '');
  const fileKind = detectKind(line);
  if (!fileKind) {
    throw new UploadRejection(
      `${what} is not a PNG, a DICOM file or a known label file: unrecognised first line ${shown(line)}`,
      0,
    );
  }
  return { sniffed: { kind: 'labels', fileKind, gzip }, content: p.stream };
}

/** Classifies an upload from its content; throws UploadRejection for anything that is not ours. */
export async function sniffContent(source: ByteSource): Promise<SniffResult> {
  const p = await peek(source, 2);
  if (p.head.length === 0) throw new UploadRejection('empty object (0 bytes)');
  if (isGzip(p.head)) return classify(gunzipped(p.stream), true);
  return classify(p.stream, false);
}
