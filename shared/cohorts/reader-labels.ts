/**
 * The names of the expert labels as the cohort filter and the agreement endpoint spell them, per study, and
 * how each maps to a column of cohort_images (the adjudicated truth) and to the NIH text-mined labels.
 * Pure: no I/O, no SQL text from requests (every name here is a constant of the schema).
 */
import * as z from 'zod';
import { FINDINGS, type Finding, FOUR_FINDINGS, type FourFinding } from '../model/findings.ts';
import type { ReaderStudy } from '../model/record.ts';

/** All-findings labels: `abnormal`, the 14 NIH finding names, `other` (as stored in cohort_readers.label). */
export const ALL_FINDINGS_LABELS = ['abnormal', ...FINDINGS, 'other'] as const;
export type AllFindingsLabel = (typeof ALL_FINDINGS_LABELS)[number];
/** Every reader label of either study; the names never collide (fourFindings keys are camelCase). */
export const READER_LABELS = [...FOUR_FINDINGS, ...ALL_FINDINGS_LABELS] as const;
export type ReaderLabel = (typeof READER_LABELS)[number];

export const FourFindingLabelSchema = z.enum(FOUR_FINDINGS);
export const AllFindingsLabelSchema = z.enum(ALL_FINDINGS_LABELS);
export const ReaderLabelSchema = z.enum(READER_LABELS);

const FOUR: ReadonlySet<string> = new Set(FOUR_FINDINGS);

/** The study a reader label belongs to. */
export function studyOfLabel(label: ReaderLabel): ReaderStudy {
  return FOUR.has(label) ? 'fourFindings' : 'allFindings';
}

/** cohort_images column of each adjudicated four-findings label. */
export const FOUR_FINDINGS_COLUMNS = {
  fracture: 'ff_fracture',
  pneumothorax: 'ff_pneumothorax',
  airspaceOpacity: 'ff_airspace_opacity',
  noduleOrMass: 'ff_nodule_or_mass',
} as const satisfies Record<FourFinding, string>;

/**
 * The documented NIH counterpart of each four-findings label (any of the listed NIH findings counts as
 * positive); null where the NIH labels have none: fracture is not an NIH finding, and airspace opacity has
 * no single NIH counterpart (Consolidation, Infiltration, Pneumonia and Edema each cover part of it).
 */
export const FOUR_FINDINGS_NIH: Record<FourFinding, readonly Finding[] | null> = {
  fracture: null,
  pneumothorax: ['Pneumothorax'],
  airspaceOpacity: null,
  noduleOrMass: ['Nodule', 'Mass'],
};

/**
 * The NIH counterpart of an all-findings label: each NIH finding maps to itself, `abnormal` to "not No
 * Finding" (any NIH finding), `other` to nothing.
 */
export function allFindingsNih(label: AllFindingsLabel): readonly Finding[] | null {
  if (label === 'other') return null;
  if (label === 'abnormal') return FINDINGS;
  return [label];
}
