/**
 * Hand-built ImageRecords (validated with ImageRecordSchema) covering every column the filters touch:
 * unknown ages, both sexes/views/splits, boxes, both expert label sets and their readers. Deterministic.
 */
import { FINDINGS, type ImageRecord, ImageRecordSchema, imageFiles } from '../../shared/model/index.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function handRecords(n = 600, seed = 7): ImageRecord[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: ImageRecord[] = [];
  let patient = 1;
  let followUp = 0;
  for (let i = 0; i < n; i++) {
    if (rand() < 0.4) {
      patient += 1 + Math.floor(rand() * 3);
      followUp = 0;
    } else followUp++;
    const imageId = `${String(patient).padStart(8, '0')}_${String(followUp).padStart(3, '0')}`;
    const findings =
      rand() < 0.45 ? [] : [...new Set([pick(FINDINGS), ...(rand() < 0.3 ? [pick(FINDINGS)] : [])])];
    const boxes =
      findings.length && rand() < 0.3 ? [{ finding: findings[0]!, x: 10, y: 20, w: 30, h: 40 }] : [];
    const ffRoll = rand();
    const fourFindings =
      ffRoll < 0.25
        ? {
            set: pick(['validation', 'test'] as const),
            fracture: rand() < 0.2,
            pneumothorax: rand() < 0.3,
            airspaceOpacity: rand() < 0.4,
            noduleOrMass: rand() < 0.3,
          }
        : null;
    const allFindings =
      rand() < 0.2
        ? {
            abnormal: rand() < 0.6,
            other: rand() < 0.3,
            findings: Object.fromEntries(FINDINGS.map((f) => [f, rand() < 0.15])) as Record<
              (typeof FINDINGS)[number],
              boolean
            >,
          }
        : null;
    const readers = [
      ...(fourFindings
        ? ['4', '17'].map((readerId) => ({
            study: 'fourFindings' as const,
            readerId,
            labels: {
              fracture: 'NO',
              pneumothorax: pick(['YES', 'NO', 'HEDGE']),
              airspaceOpacity: 'NO',
              noduleOrMass: 'NO',
            },
          }))
        : []),
      ...(allFindings
        ? [
            {
              study: 'allFindings' as const,
              readerId: '2',
              labels: { abnormal: allFindings.abnormal ? 'YES' : 'NO', Mass: 'NO' },
            },
          ]
        : []),
    ];
    const record = {
      imageId,
      patientId: patient,
      followUp,
      patientAge: rand() < 0.03 ? null : Math.floor(rand() * 96),
      patientSex: pick(['M', 'F'] as const),
      viewPosition: pick(['PA', 'AP'] as const),
      width: 2500 + Math.floor(rand() * 500),
      height: 2048,
      pixelSpacing: { x: 0.143, y: 0.143 },
      findings,
      split: pick(['train_val', 'train_val', 'test'] as const),
      boundingBoxes: boxes,
      expert: { fourFindings, allFindings, readers },
      files: imageFiles(imageId as never),
    };
    out.push(ImageRecordSchema.parse(record));
  }
  return out;
}
