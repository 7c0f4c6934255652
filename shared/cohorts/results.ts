import * as z from 'zod';
import {
  FINDINGS,
  FindingSchema,
  FOUR_FINDINGS,
  FourFindingsSetSchema,
  NO_FINDING,
  SEXES,
  SexSchema,
  SPLITS,
  SplitSchema,
  VIEWS,
  ViewSchema,
} from '../model/findings.ts';
import { AGE_BINS, summaryColumns } from './compile.ts';
import { SUMMARY_READER_LABELS } from './compile-readers.ts';
import { ALL_FINDINGS_LABELS } from './reader-labels.ts';
import { maskFindings } from './rows.ts';

export const CohortImageSchema = z.object({
  imageId: z.string(),
  patientId: z.int(),
  followUp: z.int(),
  patientAge: z.int().nullable(),
  patientSex: SexSchema,
  viewPosition: ViewSchema,
  split: SplitSchema,
  findings: z.array(FindingSchema).describe('NIH findings in NIH name order; [] for No Finding.'),
});
export type CohortImage = z.infer<typeof CohortImageSchema>;

/** The response schemas are built on first use (a parse or the OpenAPI document), not at a cold start. */
export const CohortPageSchema = z.lazy(() =>
  z.object({
    totalImages: z.int(),
    totalPatients: z.int(),
    images: z.array(CohortImageSchema).describe('Ordered by imageId.'),
    nextPageToken: z
      .string()
      .nullable()
      .describe('Send it back with the same filter for the next page; null on the last page.'),
  }),
);
export type CohortPage = z.infer<typeof CohortPageSchema>;

const counts = <K extends string>(keys: readonly K[]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.int()])) as Record<K, z.ZodInt>);

export const CohortSummarySchema = z.lazy(() =>
  z.object({
    totalImages: z.int(),
    totalPatients: z.int(),
    findings: counts([...FINDINGS, NO_FINDING]).describe('Images per NIH finding, and "No Finding".'),
    patientSex: counts(SEXES),
    viewPosition: counts(VIEWS),
    split: counts(SPLITS),
    age: z
      .array(z.object({ from: z.int(), to: z.int(), count: z.int() }))
      .describe(
        'Images per 10-year age bin [from, to] (inclusive): 0-9, 10-19, ..., 120-129, always all 13 bins, zeros included. Images with an unknown age are in no bin.',
      ),
    expert: z
      .object({
        fourFindings: z.object({
          disputed: counts(FOUR_FINDINGS).describe(
            'Images whose reads of the label are not all the same value.',
          ),
          hedged: counts(FOUR_FINDINGS).describe('Images with at least one HEDGE read of the label.'),
        }),
        allFindings: z.object({
          disputed: counts(ALL_FINDINGS_LABELS).describe(
            'Images whose five reads of the label are not unanimous.',
          ),
        }),
      })
      .describe(
        "Label quality of the cohort's images with expert reads, per label (zeros where the cohort has none).",
      ),
  }),
);
export type CohortSummary = z.infer<typeof CohortSummarySchema>;

export const CohortExportRowSchema = z.lazy(() => {
  /** Adjudicated four-findings labels of an exported image (true = YES). */
  const ExportFourFindingsSchema = z.object({
    set: FourFindingsSetSchema,
    fracture: z.boolean(),
    pneumothorax: z.boolean(),
    airspaceOpacity: z.boolean(),
    noduleOrMass: z.boolean(),
  });
  /** All-findings ground truth of an exported image: abnormal, other, and the NIH findings marked YES. */
  const ExportAllFindingsSchema = z.object({
    abnormal: z.boolean(),
    other: z.boolean(),
    findings: z
      .array(FindingSchema)
      .describe('The findings marked YES, in NIH name order; the others are NO.'),
  });

  return CohortImageSchema.extend({
    hasBoundingBox: z.boolean(),
    fourFindings: ExportFourFindingsSchema.nullable().describe('null: the image has no four-findings label.'),
    allFindings: ExportAllFindingsSchema.nullable().describe('null: the image has no all-findings label.'),
    part: z.string().optional().describe('The split part of the image (export with split only).'),
  });
});

/** The NIH fields as the metadata file writes them (nih-csv); not part of the other formats. */
export interface NihFields {
  width: number;
  height: number;
  pixelSpacingX: number;
  pixelSpacingY: number;
  /** Findings in the file's own order ([] for No Finding). */
  findingLabels: string[];
}
/** The UIDs of an exported image's DICOM instance, when its identity is recorded (for the links columns). */
export interface ExportDicomUids {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

export type CohortExportRow = z.infer<typeof CohortExportRowSchema> & {
  nih?: NihFields;
  dicom?: ExportDicomUids;
};

/** A result row with plain JS values (numbers, strings, booleans, arrays, null), keyed by column name. */
export type PlainRow = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export function decodeImage(r: PlainRow): CohortImage {
  return {
    imageId: String(r.image_id),
    patientId: num(r.patient_id),
    followUp: num(r.follow_up),
    patientAge: r.patient_age === null || r.patient_age === undefined ? null : Number(r.patient_age),
    patientSex: r.patient_sex as CohortImage['patientSex'],
    viewPosition: r.view_position as CohortImage['viewPosition'],
    split: r.split as CohortImage['split'],
    findings: maskFindings(num(r.findings_mask)),
  };
}

const bool = (v: unknown): boolean => v === true;

/** An export row; the label and NIH columns when the statement selected them (compileDatasetExport). */
export function decodeExportRow(r: PlainRow, partNames?: readonly string[]): CohortExportRow {
  const row: CohortExportRow = {
    ...decodeImage(r),
    hasBoundingBox: r.has_bounding_box === true,
    fourFindings:
      r.ff_set === null || r.ff_set === undefined
        ? null
        : {
            set: r.ff_set as 'validation' | 'test',
            fracture: bool(r.ff_fracture),
            pneumothorax: bool(r.ff_pneumothorax),
            airspaceOpacity: bool(r.ff_airspace_opacity),
            noduleOrMass: bool(r.ff_nodule_or_mass),
          },
    allFindings:
      r.af_findings_mask === null || r.af_findings_mask === undefined
        ? null
        : {
            abnormal: bool(r.af_abnormal),
            other: bool(r.af_other),
            findings: maskFindings(num(r.af_findings_mask)),
          },
  };
  if (partNames && r.part_index !== undefined && r.part_index !== null) {
    row.part = partNames[Number(r.part_index)] ?? String(r.part_index);
  }
  if (typeof r.dicom_sop_instance_uid === 'string') {
    row.dicom = {
      studyInstanceUid: String(r.dicom_study_instance_uid),
      seriesInstanceUid: String(r.dicom_series_instance_uid),
      sopInstanceUid: r.dicom_sop_instance_uid,
    };
  }
  if (r.width !== undefined) {
    row.nih = {
      width: num(r.width),
      height: num(r.height),
      pixelSpacingX: Number(r.pixel_spacing_x),
      pixelSpacingY: Number(r.pixel_spacing_y),
      findingLabels: Array.isArray(r.findings) ? r.findings.map(String) : [],
    };
  }
  return row;
}

export function decodeSummary(r: PlainRow): CohortSummary {
  const cols = summaryColumns();
  for (const c of cols) if (!(c in r)) throw new Error(`summary row lacks column ${c}`);
  const get = (c: string) => num(r[c]);
  return {
    totalImages: get('total_images'),
    totalPatients: get('total_patients'),
    findings: Object.fromEntries([
      ...FINDINGS.map((f, i) => [f, get(`finding_${i}`)]),
      [NO_FINDING, get('no_finding')],
    ]) as CohortSummary['findings'],
    patientSex: Object.fromEntries(SEXES.map((s) => [s, get(`sex_${s}`)])) as CohortSummary['patientSex'],
    viewPosition: Object.fromEntries(
      VIEWS.map((v) => [v, get(`view_${v}`)]),
    ) as CohortSummary['viewPosition'],
    split: Object.fromEntries(SPLITS.map((s) => [s, get(`split_${s}`)])) as CohortSummary['split'],
    age: AGE_BINS.map((b, i) => ({ ...b, count: get(`age_${i}`) })),
    expert: {
      fourFindings: {
        disputed: Object.fromEntries(
          SUMMARY_READER_LABELS.fourFindings.map((x) => [x.label, get(x.disputed)]),
        ) as CohortSummary['expert']['fourFindings']['disputed'],
        hedged: Object.fromEntries(
          SUMMARY_READER_LABELS.fourFindings.map((x) => [x.label, get(x.hedged)]),
        ) as CohortSummary['expert']['fourFindings']['hedged'],
      },
      allFindings: {
        disputed: Object.fromEntries(
          SUMMARY_READER_LABELS.allFindings.map((x) => [x.label, get(x.disputed)]),
        ) as CohortSummary['expert']['allFindings']['disputed'],
      },
    },
  };
}
