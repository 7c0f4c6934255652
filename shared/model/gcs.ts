import type { ImageId } from './ids.ts';

/** The requester-pays public bucket that holds the dataset. */
export const DATASET_BUCKET = 'gcs-public-data--healthcare-nih-chest-xray';
export const IMAGE_FORMATS = ['png', 'dicom'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** Object name inside DATASET_BUCKET; only ever built from a validated ImageId. */
export function objectName(id: ImageId, format: ImageFormat): string {
  return format === 'png' ? `png/${id}.png` : `dicom/${id}.dcm`;
}

export function gsUri(id: ImageId, format: ImageFormat): string {
  return `gs://${DATASET_BUCKET}/${objectName(id, format)}`;
}

export function imageFiles(id: ImageId): { png: string; dicom: string } {
  return { png: gsUri(id, 'png'), dicom: gsUri(id, 'dicom') };
}
