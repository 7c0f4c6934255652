/** A few hand-written records covering every part of the model, validated with the real schema. */
import { FINDINGS, type ImageRecord, ImageRecordSchema, imageFiles } from '../../shared/model/index.ts';

const noFlags = Object.fromEntries(FINDINGS.map((f) => [f, false]));

function record(id: string, over: Partial<Record<keyof ImageRecord, unknown>> = {}): ImageRecord {
  const [patient, follow] = id.split('_');
  return ImageRecordSchema.parse({
    imageId: id,
    patientId: Number(patient),
    followUp: Number(follow),
    patientAge: 58,
    patientSex: 'M',
    viewPosition: 'PA',
    width: 2682,
    height: 2749,
    pixelSpacing: { x: 0.143, y: 0.143 },
    split: 'train_val',
    findings: [],
    boundingBoxes: [],
    expert: { fourFindings: null, allFindings: null, readers: [] },
    files: imageFiles(id as ImageRecord['imageId']),
    ...over,
  });
}

/** Patient 1 has three images stored out of follow-up order; patient 13 one with every kind of label. */
export function fixtureRecords(): ImageRecord[] {
  return [
    record('00000001_002', { findings: ['Cardiomegaly', 'Effusion'] }),
    record('00000001_000', { findings: ['Cardiomegaly'] }),
    record('00000001_001', {
      findings: ['Cardiomegaly', 'Emphysema'],
      boundingBoxes: [
        { finding: 'Cardiomegaly', x: 225.084745762712, y: 547.019216763771, w: 86.78, h: 79.19 },
      ],
    }),
    record('00000013_008', {
      patientAge: 60,
      viewPosition: 'AP',
      split: 'test',
      expert: {
        fourFindings: {
          set: 'test',
          fracture: false,
          pneumothorax: false,
          airspaceOpacity: true,
          noduleOrMass: false,
        },
        allFindings: { abnormal: true, other: false, findings: { ...noFlags, Effusion: true } },
        readers: [
          {
            study: 'fourFindings',
            readerId: '4295367682',
            labels: { fracture: 'NO', pneumothorax: 'YES', airspaceOpacity: 'YES', noduleOrMass: 'HEDGE' },
          },
          {
            study: 'allFindings',
            readerId: '4343882583',
            labels: { abnormal: 'YES', ...Object.fromEntries(FINDINGS.map((f) => [f, 'NO'])), other: 'NO' },
          },
          {
            study: 'fourFindings',
            readerId: '4295232296',
            labels: { fracture: 'NO', pneumothorax: 'NO', airspaceOpacity: 'YES', noduleOrMass: 'NO' },
          },
        ],
      },
    }),
    record('00000002_000', { patientSex: 'F', patientAge: null }),
  ];
}
