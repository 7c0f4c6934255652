import { createHash } from 'node:crypto';
import * as z from 'zod';

/**
 * Dataset-building options beside a cohort filter (docs/api.md): one image per patient, a seeded (stratified)
 * sample, and a seeded patient-disjoint split into named parts. Pure: the SQL is in compile-cohort.ts.
 */

/** Attributes a sample or split may be stratified by, in the fixed order the stratum key lists them. */
export const STRATA = ['sex', 'view', 'split', 'ageBand', 'noFinding'] as const;
export type Stratum = (typeof STRATA)[number];

/** Most images one sample may draw (the whole dataset is 112,120). */
export const MAX_SAMPLE_SIZE = 1_000_000;
export const MIN_PARTS = 2;
export const MAX_PARTS = 10;
/** Split fractions travel to SQL as integer millionths, so both engines cut at exactly the same place. */
export const FRACTION_UNIT = 1_000_000;

export const OnePerPatientSchema = z
  .enum(['firstFollowUp', 'lastFollowUp'])
  .describe(
    'Keep, for each patient, only the matching image with the lowest (firstFollowUp) or highest (lastFollowUp) follow-up number; totals, pages and summaries count what is kept.',
  );
export type OnePerPatient = z.infer<typeof OnePerPatientSchema>;

const SeedSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .describe('Any string; the same seed gives the same draw, on both engines.');

const StratifyBySchema = z
  .array(z.enum(STRATA))
  .min(1, 'must list at least one attribute; omit it to not stratify')
  .max(STRATA.length)
  .refine((xs) => new Set(xs).size === xs.length, 'must not repeat an attribute')
  .describe(
    'Strata: sex, view, split, ageBand (10-year bands; unknown ages form their own band) and noFinding. Each stratum keeps its share, rounded by largest remainder.',
  );

export const SampleSchema = z
  .strictObject({
    size: z
      .int('must be an integer')
      .min(1)
      .max(MAX_SAMPLE_SIZE)
      .describe('Images to draw; the whole cohort when it is smaller.'),
    seed: SeedSchema,
    stratifyBy: StratifyBySchema.optional(),
  })
  .describe(
    'A deterministic sample of the cohort (after onePerPatient): the images with the smallest SHA-256(seed + ":" + imageId), per stratum.',
  );
export type Sample = z.infer<typeof SampleSchema>;

const PART_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const SplitPartsSchema = z
  .record(
    z.string().regex(PART_NAME, 'part names are 1-32 letters, digits, _ or -, starting with a letter'),
    z
      .number()
      .min(0.001, 'each fraction must be at least 0.001')
      .max(0.999, 'each fraction must be at most 0.999'),
  )
  .refine((p) => Object.keys(p).length >= MIN_PARTS && Object.keys(p).length <= MAX_PARTS, {
    message: `must name ${MIN_PARTS} to ${MAX_PARTS} parts`,
  })
  .refine((p) => Math.abs(Object.values(p).reduce((a, b) => a + b, 0) - 1) <= 1e-6, {
    message: 'the fractions must sum to 1',
  })
  .describe(
    '{name: fraction}: 2 to 10 named parts whose fractions sum to 1, e.g. {"train": 0.8, "test": 0.2}.',
  );
export type SplitParts = z.infer<typeof SplitPartsSchema>;

export const SplitSpecSchema = z
  .strictObject({ seed: SeedSchema, parts: SplitPartsSchema, stratifyBy: StratifyBySchema.optional() })
  .describe(
    "Assigns whole patients to the parts (patient-disjoint): patients ordered by SHA-256(seed + ':' + patientId) within their stratum (their first matching image's), spread evenly, and cut at the parts' fractions.",
  );
export type SplitSpec = z.infer<typeof SplitSpecSchema>;

/** What a store applies after the filter, in this order: onePerPatient, sample, split. */
export interface CohortOptions {
  onePerPatient?: OnePerPatient | undefined;
  sample?: Sample | undefined;
  split?: SplitSpec | undefined;
}

export const hasOptions = (o: CohortOptions | undefined): o is CohortOptions =>
  o !== undefined && (o.onePerPatient !== undefined || o.sample !== undefined || o.split !== undefined);

/** The strata in their fixed order (duplicates and request order do not change the draw). */
export const canonicalStrata = (xs: readonly Stratum[] | undefined): Stratum[] =>
  STRATA.filter((s) => xs?.includes(s));

/**
 * Fractions as integer millionths summing to exactly FRACTION_UNIT (largest remainder), in the parts' order:
 * the cut points both engines compute with integer arithmetic.
 */
export function partWeights(parts: SplitParts): number[] {
  const f = Object.values(parts);
  const sum = f.reduce((a, b) => a + b, 0);
  const exact = f.map((x) => (x / sum) * FRACTION_UNIT);
  const w = exact.map(Math.floor);
  let left = FRACTION_UNIT - w.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left-- <= 0) break;
    w[i]! += 1;
  }
  return w;
}

/** A short hash of the options' meaning: page tokens are bound to it, beside the filter's. */
export function optionsHash(o: CohortOptions): string {
  const canonical = {
    p: o.onePerPatient ?? null,
    s: o.sample ? [o.sample.size, o.sample.seed, canonicalStrata(o.sample.stratifyBy)] : null,
    x: o.split ? [o.split.seed, Object.entries(o.split.parts), canonicalStrata(o.split.stratifyBy)] : null,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 22);
}
