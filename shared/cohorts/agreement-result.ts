/**
 * The answer of POST /v1/cohorts:agreement, and the enums of its request: the single source of their
 * types and of the OpenAPI document.
 */
import * as z from 'zod';
import { ReaderLabelSchema } from './reader-labels.ts';

export const AgreementReferenceSchema = z
  .enum(['fourFindings', 'allFindings'])
  .describe('Which adjudicated expert labels are the truth.');
export const AgreementCompareSchema = z
  .enum(['nih', 'readers'])
  .describe('nih: the NIH text-mined label is the test; readers: each individual expert read is.');
export type AgreementReference = z.infer<typeof AgreementReferenceSchema>;
export type AgreementCompare = z.infer<typeof AgreementCompareSchema>;
export const AgreementFindingSchema = ReaderLabelSchema.describe(
  'fourFindings: fracture, pneumothorax, airspaceOpacity or noduleOrMass; allFindings: an NIH finding name, abnormal or other.',
);

/** The answer's schema, built on first use (a parse or the OpenAPI document), not when a cold instance loads the module. */
export const AgreementResultSchema = z.lazy(() => {
  const EstimateSchema = z
    .object({ estimate: z.number().nullable(), lower: z.number().nullable(), upper: z.number().nullable() })
    .describe('Point estimate and 95% interval; all null when undefined (e.g. a proportion of 0 images).');
  const MatrixSchema = z
    .object({ tp: z.int(), fp: z.int(), fn: z.int(), tn: z.int() })
    .describe(
      'Test (NIH label or reader) against truth (adjudicated expert label): tp = both YES, fp = test YES truth NO, fn = test NO truth YES, tn = both NO.',
    );

  const common = {
    finding: AgreementFindingSchema,
    reference: AgreementReferenceSchema,
    images: z.int().describe('Images of the cohort that carry the reference label.'),
  };

  const NihAgreementSchema = z.object({
    compare: z.literal('nih'),
    ...common,
    nihFindings: z.array(z.string()).describe('The NIH findings that count as the label (any of them).'),
    matrix: MatrixSchema,
    sensitivity: EstimateSchema.describe('tp / (tp + fn), Wilson 95% interval.'),
    specificity: EstimateSchema.describe('tn / (tn + fp), Wilson 95% interval.'),
    ppv: EstimateSchema.describe('tp / (tp + fp), Wilson 95% interval.'),
    npv: EstimateSchema.describe('tn / (tn + fn), Wilson 95% interval.'),
    kappa: EstimateSchema.describe(
      "Cohen's kappa, 95% interval from Cohen's (1960) large-sample standard error.",
    ),
  });

  const ReaderAgreementSchema = z.object({
    readerId: z.string(),
    images: z.int().describe('Images of the cohort this reader read (HEDGE reads included).'),
    hedged: z.int().describe('Reads of HEDGE: reported apart, in no cell of the matrix.'),
    matrix: MatrixSchema,
    sensitivity: EstimateSchema,
    specificity: EstimateSchema,
    kappa: EstimateSchema,
  });

  const ReadersAgreementSchema = z.object({
    compare: z.literal('readers'),
    ...common,
    readers: z
      .array(ReaderAgreementSchema)
      .describe('One entry per reader who read images of the cohort, by readerId.'),
    fleiss: z
      .object({
        kappa: z.number().nullable(),
        images: z.int().describe("Images with at least two reads, the ones Fleiss' kappa is computed on."),
        reads: z.object({ YES: z.int(), NO: z.int(), HEDGE: z.int() }),
      })
      .describe(
        "Fleiss' kappa across the readers (categories YES, NO, HEDGE); images may have different numbers of reads.",
      ),
  });

  return z.discriminatedUnion('compare', [NihAgreementSchema, ReadersAgreementSchema]);
});
export type AgreementResult = z.infer<typeof AgreementResultSchema>;
