import type { ImageMetadata } from '../model/index.ts';
import type { MetadataDifference, MetadataField } from './types.ts';

const FIELDS: readonly MetadataField[] = [
  'patientId',
  'followUp',
  'patientAge',
  'patientSex',
  'viewPosition',
  'width',
  'height',
  'pixelSpacing',
  'findings',
];

/** Equal up to float noise: the 2017 file says 0.143 where v2020 says 0.14300000000000002. */
function sameNumber(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function sameValue(field: MetadataField, a: ImageMetadata, b: ImageMetadata): boolean {
  switch (field) {
    case 'pixelSpacing':
      return sameNumber(a.pixelSpacing.x, b.pixelSpacing.x) && sameNumber(a.pixelSpacing.y, b.pixelSpacing.y);
    case 'findings':
      return a.findings.length === b.findings.length && a.findings.every((f) => b.findings.includes(f));
    default:
      return a[field] === b[field];
  }
}

/** Field-level differences between the 2017 and the v2020 metadata of one image (float noise ignored). */
export function metadataDifferences(v2017: ImageMetadata, v2020: ImageMetadata): MetadataDifference[] {
  const out: MetadataDifference[] = [];
  for (const field of FIELDS) {
    if (!sameValue(field, v2017, v2020)) {
      out.push({ imageId: v2020.imageId, field, v2017: v2017[field], v2020: v2020[field] });
    }
  }
  return out;
}
