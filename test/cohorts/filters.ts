/** Hand-picked cohort filters and a fast-check generator of valid random ones, shared by the cohort tests. */
import fc from 'fast-check';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { ALL_FINDINGS_LABELS, READER_LABELS } from '../../shared/cohorts/reader-labels.ts';
import {
  FINDINGS,
  FOUR_FINDINGS,
  FOUR_FINDINGS_SETS,
  READER_VALUES,
  SEXES,
  SPLITS,
  VIEWS,
} from '../../shared/model/index.ts';

/**
 * Reader ids that occur: the five all-findings readers (real and synthetic), two real four-findings readers
 * and two synthetic ones (shared/sample/synthetic-labels.ts), so that reader filters match something.
 */
export const KNOWN_READER_IDS = [
  '4343882583',
  '4343882785',
  '4343880271',
  '4343883996',
  '4343883593',
  '4295367682',
  '4295232296',
  '4295190000',
  '4295202347',
];

const parse = (f: unknown): CohortFilter => CohortFilterSchema.parse(f);

/** [name, filter]: each exercises one part of the filter language, or a combination worth naming. */
export const HAND_PICKED: [string, CohortFilter][] = (
  [
    ['everything', {}],
    ['all: Effusion', { findings: { all: ['Effusion'] } }],
    ['all: Effusion + Infiltration', { findings: { all: ['Effusion', 'Infiltration'] } }],
    ['any: Mass or Nodule', { findings: { any: ['Mass', 'Nodule'] } }],
    ['none: Infiltration', { findings: { none: ['Infiltration'] } }],
    [
      'any Mass/Nodule but none Infiltration',
      { findings: { any: ['Mass', 'Nodule'], none: ['Infiltration'] } },
    ],
    ['no finding', { noFinding: true }],
    ['some finding', { noFinding: false }],
    ['contradiction: no finding and all Hernia', { noFinding: true, findings: { all: ['Hernia'] } }],
    ['age 40-60', { age: { min: 40, max: 60 } }],
    ['age >= 80', { age: { min: 80 } }],
    ['age <= 10', { age: { max: 10 } }],
    ['single age 58', { age: { min: 58, max: 58 } }],
    ['female AP', { sex: ['F'], view: ['AP'] }],
    ['both sexes (duplicate listed)', { sex: ['M', 'F', 'M'] }],
    ['test split', { split: ['test'] }],
    ['patients 1-3 and 30', { patientIds: [1, 2, 3, 30] }],
    ['unknown patient', { patientIds: [99_999_999] }],
    ['has bounding box', { hasBoundingBox: true }],
    ['no bounding box, Nodule', { hasBoundingBox: false, findings: { all: ['Nodule'] } }],
    ['any four-findings label', { expert: { fourFindings: {} } }],
    ['four-findings pneumothorax YES', { expert: { fourFindings: { pneumothorax: true } } }],
    [
      'four-findings test set, opacity NO, fracture YES',
      { expert: { fourFindings: { set: ['test'], airspaceOpacity: false, fracture: true } } },
    ],
    ['four-findings validation set', { expert: { fourFindings: { set: ['validation'] } } }],
    ['any all-findings label', { expert: { allFindings: {} } }],
    ['all-findings abnormal NO', { expert: { allFindings: { abnormal: false } } }],
    [
      'all-findings Mass YES, Effusion NO, other NO',
      { expert: { allFindings: { other: false, findings: { Mass: true, Effusion: false } } } },
    ],
    [
      'NIH Nodule but all-findings Nodule NO',
      { findings: { all: ['Nodule'] }, expert: { allFindings: { findings: { Nodule: false } } } },
    ],
    ['four-findings pneumothorax disputed', { expert: { fourFindings: { disputed: ['pneumothorax'] } } }],
    [
      'four-findings nodule/mass or opacity disputed, test set',
      { expert: { fourFindings: { disputed: ['noduleOrMass', 'airspaceOpacity'], set: ['test'] } } },
    ],
    ['four-findings hedged on nodule/mass', { expert: { fourFindings: { hedged: ['noduleOrMass'] } } }],
    [
      'hedged on pneumothorax but adjudicated NO',
      { expert: { fourFindings: { hedged: ['pneumothorax'], pneumothorax: false } } },
    ],
    ['all-findings abnormal disputed', { expert: { allFindings: { disputed: ['abnormal'] } } }],
    [
      'all-findings Mass or Effusion disputed, NIH Mass',
      { findings: { all: ['Mass'] }, expert: { allFindings: { disputed: ['Mass', 'Effusion', 'other'] } } },
    ],
    [
      'reader 4343882583 says abnormal YES',
      { expert: { reader: { id: '4343882583', finding: 'abnormal', value: 'YES' } } },
    ],
    [
      'reader 4295367682 hedges pneumothorax',
      { expert: { reader: { id: '4295367682', finding: 'pneumothorax', value: 'HEDGE' } } },
    ],
    ['unknown reader', { expert: { reader: { id: '1', finding: 'fracture', value: 'NO' } } }],
    [
      'kitchen sink',
      {
        findings: { any: ['Effusion', 'Atelectasis', 'Infiltration'], none: ['Hernia'] },
        age: { min: 20, max: 80 },
        sex: ['M'],
        view: ['PA', 'AP'],
        split: ['train_val', 'test'],
        expert: { fourFindings: { set: ['validation', 'test'] } },
      },
    ],
  ] as [string, unknown][]
).map(([n, f]) => [n, parse(f)]);

const nonEmptySubset = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });
const bool = fc.boolean();

/** Random valid filters of 0-3 parts; patient ids are drawn mostly from `patientIds` so that some match. */
export function filterArb(patientIds: readonly number[]): fc.Arbitrary<CohortFilter> {
  const parts = {
    findings: fc.record(
      { all: nonEmptySubset(FINDINGS), any: nonEmptySubset(FINDINGS), none: nonEmptySubset(FINDINGS) },
      { requiredKeys: [] },
    ),
    noFinding: bool,
    age: fc
      .tuple(fc.option(fc.integer({ min: 0, max: 120 })), fc.option(fc.integer({ min: 0, max: 120 })))
      .filter(([a, b]) => a !== null || b !== null)
      .map(([a, b]) => {
        const [min, max] = a !== null && b !== null && a > b ? [b, a] : [a, b];
        return { ...(min !== null ? { min } : {}), ...(max !== null ? { max } : {}) };
      }),
    sex: nonEmptySubset(SEXES),
    view: nonEmptySubset(VIEWS),
    split: nonEmptySubset(SPLITS),
    patientIds: fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(patientIds.length ? patientIds : [1])) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 99_999_999 }) },
      ),
      { minLength: 1, maxLength: 20 },
    ),
    hasBoundingBox: bool,
    expert: fc.record(
      {
        fourFindings: fc.record(
          {
            fracture: bool,
            pneumothorax: bool,
            airspaceOpacity: bool,
            noduleOrMass: bool,
            set: nonEmptySubset(FOUR_FINDINGS_SETS),
            disputed: nonEmptySubset(FOUR_FINDINGS),
            hedged: nonEmptySubset(FOUR_FINDINGS),
          },
          { requiredKeys: [] },
        ),
        allFindings: fc.record(
          {
            abnormal: bool,
            other: bool,
            findings: fc
              .subarray([...FINDINGS], { minLength: 1, maxLength: 3 })
              .chain((names) => fc.tuple(...names.map((n) => bool.map((b) => [n, b] as const))))
              .map((entries) => Object.fromEntries(entries)),
            disputed: fc.subarray([...ALL_FINDINGS_LABELS], { minLength: 1, maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
        reader: fc.record({
          id: fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom(...KNOWN_READER_IDS) },
            { weight: 1, arbitrary: fc.stringMatching(/^\d{1,20}$/) },
          ),
          finding: fc.constantFrom(...READER_LABELS),
          value: fc.constantFrom(...READER_VALUES),
        }),
      },
      { requiredKeys: [] },
    ),
  };
  const keys = Object.keys(parts) as (keyof typeof parts)[];
  return fc
    .subarray(keys, { minLength: 0, maxLength: 3 })
    .chain((chosen) =>
      fc.record(
        Object.fromEntries(chosen.map((k) => [k, parts[k]])) as Record<string, fc.Arbitrary<unknown>>,
      ),
    )
    .map(parse);
}
