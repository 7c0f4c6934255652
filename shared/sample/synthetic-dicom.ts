/**
 * SYNTHETIC DICOM files for the local store and the tests, written with dcmjs (a maintained DICOM library, a
 * devDependency: this folder never reaches a cloud bundle). Each carries the NIH fields of its record
 * (PatientID, PatientAge, PatientSex, ViewPosition, Rows x Columns = the image size) and UIDs derived from
 * the image id under the 2.25 (UUID) root, so a file regenerated for the same image has the same identity.
 */
import { createHash } from 'node:crypto';
import dcmjs from 'dcmjs';

export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
export const DIGITAL_XRAY = '1.2.840.10008.5.1.4.1.1.1.1';
export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/** A UID under 2.25 from a hash of `seed`: at most 2 + 1 + 39 digits. */
export function syntheticUid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

export interface SyntheticDicomInput {
  imageId: string;
  patientId: number;
  patientAge: number | null;
  patientSex: 'M' | 'F';
  viewPosition: 'PA' | 'AP';
  /** Image size: Columns x Rows. */
  width: number;
  height: number;
  /** Bits per pixel: 8 (default) or 16. */
  bits?: 8 | 16;
  /** Overrides of naturalized dcmjs attributes (tests: hostile values). */
  override?: Record<string, unknown>;
}

export interface SyntheticDicom {
  bytes: Buffer;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Byte offset where the pixel data value starts. */
  pixelDataOffset: number;
}

export function syntheticDicom(i: SyntheticDicomInput): SyntheticDicom {
  const bits = i.bits ?? 8;
  const study = syntheticUid(`study/${i.imageId}`);
  const series = syntheticUid(`series/${i.imageId}`);
  const sop = syntheticUid(`sop/${i.imageId}`);
  const n = i.width * i.height;
  const pixels = bits === 8 ? new Uint8Array(n) : new Uint16Array(n);
  // A gradient, so that a rendered frame is not blank.
  for (let y = 0; y < i.height; y++) {
    const v = Math.floor((y / i.height) * (bits === 8 ? 255 : 4095));
    pixels.fill(v, y * i.width, (y + 1) * i.width);
  }
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SECONDARY_CAPTURE,
    MediaStorageSOPInstanceUID: sop,
    TransferSyntaxUID: EXPLICIT_LITTLE,
    ImplementationClassUID: '2.25.1',
    ImplementationVersionName: 'NIH-CXR-SYNTH',
  };
  const dataset: Record<string, unknown> = {
    SOPClassUID: SECONDARY_CAPTURE,
    SOPInstanceUID: sop,
    StudyInstanceUID: study,
    SeriesInstanceUID: series,
    Modality: 'DX',
    ConversionType: 'WSD',
    PatientID: String(i.patientId),
    PatientName: `SYNTHETIC^${i.patientId}`,
    ...(i.patientAge === null ? {} : { PatientAge: `${String(i.patientAge).padStart(3, '0')}Y` }),
    PatientSex: i.patientSex,
    ViewPosition: i.viewPosition,
    BodyPartExamined: 'CHEST',
    StudyDescription: 'SYNTHETIC (not NIH data)',
    SeriesNumber: '1',
    InstanceNumber: '1',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: i.height,
    Columns: i.width,
    BitsAllocated: bits,
    BitsStored: bits === 8 ? 8 : 12,
    HighBit: bits === 8 ? 7 : 11,
    PixelRepresentation: 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
    ...i.override,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const bytes = Buffer.from(dict.write());
  const pixelDataOffset = bytes.length - pixels.byteLength;
  return {
    bytes,
    studyInstanceUid: study,
    seriesInstanceUid: series,
    sopInstanceUid: sop,
    transferSyntaxUid: EXPLICIT_LITTLE,
    pixelDataOffset,
  };
}
