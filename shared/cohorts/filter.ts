import { createHash } from 'node:crypto';
import * as z from 'zod';
import {
  FINDINGS,
  FindingSchema,
  FourFindingsSetSchema,
  ReaderValueSchema,
  SexSchema,
  SplitSchema,
  ViewSchema,
} from '../model/findings.ts';
import { AllFindingsLabelSchema, FourFindingLabelSchema, ReaderLabelSchema } from './reader-labels.ts';

/** Most patient ids one filter may list (the rest of a larger list belongs in a second query). */
export const MAX_PATIENT_IDS = 1000;
export const MAX_AGE = 120;

/** Lists of enum values may repeat a value (harmless), but not without bound. */
const MAX_ENUM_LIST = 32;

const nonEmpty = <T extends z.ZodType>(item: T, max: number, plural: string) =>
  z
    .array(item)
    .min(1, `must list at least one value; omit the field to not filter on ${plural}`)
    .max(max, `must list at most ${max} ${plural}`);

const findingList = nonEmpty(FindingSchema, MAX_ENUM_LIST, 'findings');
const age = z.int('must be an integer number of years').min(0).max(MAX_AGE);

export const FindingsConditionSchema = z
  .strictObject({
    all: findingList.optional().describe('Images with every one of these findings.'),
    any: findingList.optional().describe('Images with at least one of these findings.'),
    none: findingList.optional().describe('Images with none of these findings.'),
  })
  .describe('NIH findings (text-mined labels), by NIH name.');

export const AgeRangeSchema = z
  .strictObject({ min: age.optional(), max: age.optional() })
  .refine((a) => a.min !== undefined || a.max !== undefined, {
    message: 'give min, max or both; omit age to not filter on it',
  })
  .refine((a) => a.min === undefined || a.max === undefined || a.min <= a.max, {
    message: 'min must not be greater than max',
    path: ['min'],
  })
  .describe('Patient age in years, both ends inclusive. Images with an unknown age never match.');

export const FourFindingsConditionSchema = z
  .strictObject({
    fracture: z.boolean().optional(),
    pneumothorax: z.boolean().optional(),
    airspaceOpacity: z.boolean().optional(),
    noduleOrMass: z.boolean().optional(),
    set: nonEmpty(FourFindingsSetSchema, MAX_ENUM_LIST, 'sets').optional(),
    disputed: nonEmpty(FourFindingLabelSchema, MAX_ENUM_LIST, 'labels')
      .optional()
      .describe(
        "Images whose individual reads of any listed label are not all the same value (HEDGE is a value of its own). A reader who labelled an image twice counts once, with the first read (the loader's rule).",
      ),
    hedged: nonEmpty(FourFindingLabelSchema, MAX_ENUM_LIST, 'labels')
      .optional()
      .describe('Images where at least one reader answered HEDGE for a listed label.'),
  })
  .describe(
    'Adjudicated four-findings labels (Majkowska et al. 2019); true = YES, false = NO. Only images with these labels match, so {} selects every labelled image.',
  );

export const AllFindingsConditionSchema = z
  .strictObject({
    abnormal: z.boolean().optional(),
    other: z.boolean().optional(),
    findings: z
      .strictObject(
        Object.fromEntries(FINDINGS.map((f) => [f, z.boolean().optional()])) as Record<
          (typeof FINDINGS)[number],
          z.ZodOptional<z.ZodBoolean>
        >,
      )
      .optional()
      .describe('{NIH finding name: true (YES) | false (NO)}'),
    disputed: nonEmpty(AllFindingsLabelSchema, MAX_ENUM_LIST, 'labels')
      .optional()
      .describe(
        'Images whose five reads of any listed label (an NIH finding name, abnormal or other) are not unanimous.',
      ),
  })
  .describe(
    'All-findings ground truth (Nabulsi et al. 2021); only images with these labels match, so {} selects every labelled image.',
  );

export const ExpertReaderConditionSchema = z
  .strictObject({
    id: z.string().regex(/^\d{1,20}$/, 'must be a reader id: digits, as in the source files'),
    finding: ReaderLabelSchema.describe(
      'A four-findings key (fracture, pneumothorax, airspaceOpacity, noduleOrMass) or an all-findings label (an NIH finding name, abnormal, other).',
    ),
    value: ReaderValueSchema,
  })
  .describe("Images on which this reader's read of this label has this value.");

/** The cohort filter of docs/api.md. Every part is optional; parts combine with AND. */
export const CohortFilterSchema = z
  .strictObject({
    findings: FindingsConditionSchema.optional(),
    noFinding: z
      .boolean()
      .optional()
      .describe('true: only "No Finding" images; false: only images with a finding.'),
    age: AgeRangeSchema.optional(),
    sex: nonEmpty(SexSchema, MAX_ENUM_LIST, 'sexes').optional(),
    view: nonEmpty(ViewSchema, MAX_ENUM_LIST, 'view positions').optional(),
    split: nonEmpty(SplitSchema, MAX_ENUM_LIST, 'splits').optional(),
    patientIds: nonEmpty(
      z.int('must be an integer').min(1, 'must be a positive integer').max(99_999_999),
      MAX_PATIENT_IDS,
      'patient ids',
    )
      .optional()
      .describe(`At most ${MAX_PATIENT_IDS} NIH patient ids.`),
    hasBoundingBox: z.boolean().optional(),
    expert: z
      .strictObject({
        fourFindings: FourFindingsConditionSchema.optional(),
        allFindings: AllFindingsConditionSchema.optional(),
        reader: ExpertReaderConditionSchema.optional(),
      })
      .optional(),
  })
  .describe('Cohort filter; every part is optional and parts combine with AND. {} matches every image.');
export type CohortFilter = z.output<typeof CohortFilterSchema>;

const sortedUnique = <T extends string | number>(xs: readonly T[] | undefined): T[] | undefined =>
  xs === undefined ? undefined : [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The same filter with lists de-duplicated and sorted and keys in a fixed order: equal meaning, equal JSON. */
export function canonicalFilter(f: CohortFilter): CohortFilter {
  const drop = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const af = f.expert?.allFindings;
  const ff = f.expert?.fourFindings;
  return drop({
    findings: f.findings
      ? drop({
          all: sortedUnique(f.findings.all),
          any: sortedUnique(f.findings.any),
          none: sortedUnique(f.findings.none),
        })
      : undefined,
    noFinding: f.noFinding,
    age: f.age ? drop({ min: f.age.min, max: f.age.max }) : undefined,
    sex: sortedUnique(f.sex),
    view: sortedUnique(f.view),
    split: sortedUnique(f.split),
    patientIds: sortedUnique(f.patientIds),
    hasBoundingBox: f.hasBoundingBox,
    expert: f.expert
      ? drop({
          fourFindings: ff
            ? drop({
                fracture: ff.fracture,
                pneumothorax: ff.pneumothorax,
                airspaceOpacity: ff.airspaceOpacity,
                noduleOrMass: ff.noduleOrMass,
                set: sortedUnique(ff.set),
                disputed: sortedUnique(ff.disputed),
                hedged: sortedUnique(ff.hedged),
              })
            : undefined,
          allFindings: af
            ? drop({
                abnormal: af.abnormal,
                other: af.other,
                findings: af.findings
                  ? drop(Object.fromEntries(FINDINGS.map((n) => [n, af.findings?.[n]])))
                  : undefined,
                disputed: sortedUnique(af.disputed),
              })
            : undefined,
          reader: f.expert.reader
            ? { id: f.expert.reader.id, finding: f.expert.reader.finding, value: f.expert.reader.value }
            : undefined,
        })
      : undefined,
  });
}

/** A short, stable hash of the filter's meaning; page tokens are bound to it. */
export function filterHash(f: CohortFilter): string {
  return createHash('sha256')
    .update(JSON.stringify(canonicalFilter(f)))
    .digest('base64url')
    .slice(0, 22);
}
