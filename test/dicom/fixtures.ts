/** Records, generated DICOM files and stand-in stores shared by the DICOM suites. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { toImageDoc } from '../../shared/labels/doc.ts';
import {
  type DicomIdentity,
  type ImageId,
  type ImageRecord,
  imageFiles,
  imageIdParts,
  parseImageId,
} from '../../shared/model/index.ts';
import { type SyntheticDicom, syntheticDicom } from '../../shared/sample/synthetic-dicom.ts';

export function imageId(s: string): ImageId {
  const id = parseImageId(s);
  if (!id) throw new Error(`not an image id: ${s}`);
  return id;
}

/** A plain NIH-like record (no expert labels) for `id`, optionally with a DICOM identity. */
export function record(id: ImageId, dicom?: DicomIdentity): ImageRecord {
  const { patientId, followUp } = imageIdParts(id);
  return {
    imageId: id,
    patientId: patientId as ImageRecord['patientId'],
    followUp,
    patientAge: 40 + (patientId % 40),
    patientSex: patientId % 2 ? 'M' : 'F',
    viewPosition: followUp % 2 ? 'AP' : 'PA',
    width: 320,
    height: 256,
    pixelSpacing: { x: 0.143, y: 0.143 },
    findings: [],
    split: 'train_val',
    boundingBoxes: [],
    expert: { fourFindings: null, allFindings: null, readers: [] },
    files: imageFiles(id),
    ...(dicom ? { dicom } : {}),
  };
}

/** The generated DICOM file of a record (its NIH fields, its size). */
export function dicomOf(r: ImageRecord, o: { bits?: 8 | 16; override?: Record<string, unknown> } = {}) {
  return syntheticDicom({
    imageId: r.imageId,
    patientId: r.patientId,
    patientAge: r.patientAge,
    patientSex: r.patientSex,
    viewPosition: r.viewPosition,
    width: r.width,
    height: r.height,
    ...o,
  });
}

export function identityOf(d: SyntheticDicom, r: ImageRecord): DicomIdentity {
  return {
    studyInstanceUid: d.studyInstanceUid,
    seriesInstanceUid: d.seriesInstanceUid,
    sopInstanceUid: d.sopInstanceUid,
    transferSyntaxUid: d.transferSyntaxUid,
    rows: r.height,
    columns: r.width,
    photometricInterpretation: 'MONOCHROME2',
  };
}

export async function putRecords(db: Firestore, records: readonly ImageRecord[], collection = 'images') {
  const batch = db.batch();
  for (const r of records) batch.set(db.collection(collection).doc(r.imageId), toImageDoc(r));
  await batch.commit();
}

/**
 * A STAND-IN for a misbehaving DICOMweb store (no real store can be made to misbehave on demand): every
 * request is answered by `reply`. Loopback only.
 */
export async function standInStore(
  reply: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ base: string; requests: () => number; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    n++;
    reply(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/dicom-web`,
    requests: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Reads a PNG's IHDR width and height (PNG spec 11.2.2), independently of any image library. */
export function pngSize(b: Buffer): { width: number; height: number } {
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** A JPEG's frame size from its first SOF marker (ITU T.81 B.2.2). */
export function jpegSize(b: Buffer): { width: number; height: number } {
  let i = 2;
  while (i < b.length) {
    const marker = b[i + 1]!;
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}
