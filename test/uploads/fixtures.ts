/** Generated upload fixtures: real PNG and DICOM bytes, built here so that no binary file is committed. */
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, data: Buffer = Buffer.alloc(0), badCrc = false): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(data, crc32(head.subarray(4))) ^ (badCrc ? 1 : 0)) >>> 0);
  return Buffer.concat([head, data, crc]);
}

export function ihdr(width: number, height: number, bitDepth = 8, colourType = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = bitDepth;
  d[9] = colourType;
  return pngChunk('IHDR', d);
}

/** A valid 8-bit greyscale PNG (a gradient), decodable by any viewer. */
export function makePng(width = 64, height = 48): Buffer {
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = (x * 4 + y * 2) & 0xff;
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND'),
  ]);
}

/** The same PNG with the IDAT chunk's CRC broken; returns the offset of the bad CRC too. */
export function pngWithBadCrc(): { bytes: Buffer; crcOffset: number } {
  const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(65 * 48)), true);
  const head = Buffer.concat([PNG_SIGNATURE, ihdr(64, 48)]);
  return {
    bytes: Buffer.concat([head, idat, pngChunk('IEND')]),
    crcOffset: head.length + idat.length - 4,
  };
}

/**
 * A PNG of about `totalBytes`, streamed: IHDR, then 1 MiB IDAT chunks (one random buffer reused), then
 * (when `badLastCrc`) a last IDAT with a wrong CRC, then IEND. Nothing near the full size is ever in memory.
 */
export async function* hugePng(totalBytes: number, badLastCrc: boolean): AsyncGenerator<Buffer> {
  yield Buffer.concat([PNG_SIGNATURE, ihdr(20_000, 20_000)]);
  const chunk = pngChunk('IDAT', randomBytes(1 << 20));
  let sent = 33;
  while (sent + chunk.length < totalBytes) {
    yield chunk;
    sent += chunk.length;
  }
  yield pngChunk('IDAT', randomBytes(1024), badLastCrc);
  yield pngChunk('IEND');
}

// DICOM, explicit VR little endian (group 2 always is).
const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function element(group: number, elem: number, vr: string, value: Buffer | string | number): Buffer {
  let v: Buffer;
  if (typeof value === 'number') {
    v = Buffer.alloc(vr === 'UL' ? 4 : 2);
    if (vr === 'UL') v.writeUInt32LE(value);
    else v.writeUInt16LE(value);
  } else if (typeof value === 'string') {
    v = Buffer.from(value, 'latin1');
    if (v.length % 2) v = Buffer.concat([v, Buffer.from(vr === 'UI' ? '\0' : ' ', 'latin1')]);
  } else v = value;
  const long = LONG_VRS.has(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(elem, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(v.length, 8);
  else h.writeUInt16LE(v.length, 6);
  return Buffer.concat([h, v]);
}

export interface DicomFixture {
  rows?: number;
  columns?: number;
  patientAge?: string;
  patientSex?: string;
  viewPosition?: string;
  sopInstanceUid?: string;
  /** Drop this many bytes from the end (a truncated upload). */
  truncate?: number;
  /** The value of a private OB element (0009,1010) before the patient module. */
  privateBytes?: Buffer;
}

export const SOP_CLASS_DX = '1.2.840.10008.5.1.4.1.1.1.1';

export function makeDicom(f: DicomFixture = {}): Buffer {
  const rows = f.rows ?? 32;
  const columns = f.columns ?? 40;
  const sop = f.sopInstanceUid ?? '1.2.826.0.1.3680043.8.498.1';
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', SOP_CLASS_DX),
    element(0x0002, 0x0003, 'UI', sop),
    element(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1'),
  ]);
  const body = Buffer.concat([
    element(0x0008, 0x0016, 'UI', SOP_CLASS_DX),
    element(0x0008, 0x0018, 'UI', sop),
    element(0x0008, 0x0060, 'CS', 'DX'),
    f.privateBytes ? element(0x0009, 0x1010, 'OB', f.privateBytes) : Buffer.alloc(0),
    element(0x0010, 0x0040, 'CS', f.patientSex ?? 'M'),
    element(0x0010, 0x1010, 'AS', f.patientAge ?? '058Y'),
    element(0x0018, 0x5101, 'CS', f.viewPosition ?? 'PA'),
    element(0x0020, 0x000d, 'UI', '1.2.826.0.1.3680043.8.498.2'),
    element(0x0020, 0x000e, 'UI', '1.2.826.0.1.3680043.8.498.3'),
    element(0x0028, 0x0002, 'US', 1),
    element(0x0028, 0x0004, 'CS', 'MONOCHROME2'),
    element(0x0028, 0x0010, 'US', rows),
    element(0x0028, 0x0011, 'US', columns),
    element(0x0028, 0x0100, 'US', 16),
    element(0x0028, 0x0101, 'US', 12),
    element(0x7fe0, 0x0010, 'OW', Buffer.alloc(rows * columns * 2, 7)),
  ]);
  const out = Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', metaBody.length),
    metaBody,
    body,
  ]);
  return f.truncate ? out.subarray(0, out.length - f.truncate) : out;
}
