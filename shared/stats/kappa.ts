/**
 * Chance-corrected agreement: Cohen's kappa for two raters on a 2x2 table, with a 95% interval, and Fleiss'
 * kappa for many raters from per-image category counts. Inputs are counts aggregated elsewhere (in SQL), so
 * both run in constant time.
 */
import { type Estimate, NO_ESTIMATE, Z95 } from './proportion.ts';

/** A 2x2 table: rows the test (or reader), columns the truth. */
export interface Matrix {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/**
 * Cohen's kappa (po - pe) / (1 - pe) with a 95% interval from the large-sample standard error of Cohen
 * (1960), sqrt(po (1 - po) / (n (1 - pe)^2)). Null where undefined: no images, or pe = 1 (both raters put
 * every image in one and the same class).
 */
export function cohenKappa(m: Matrix, z: number = Z95): Estimate {
  const n = m.tp + m.fp + m.fn + m.tn;
  if (n === 0) return NO_ESTIMATE;
  const po = (m.tp + m.tn) / n;
  const testYes = (m.tp + m.fp) / n;
  const truthYes = (m.tp + m.fn) / n;
  const pe = testYes * truthYes + (1 - testYes) * (1 - truthYes);
  if (pe >= 1) return NO_ESTIMATE;
  const kappa = (po - pe) / (1 - pe);
  const se = Math.sqrt((po * (1 - po)) / (n * (1 - pe) ** 2));
  return { estimate: kappa, lower: Math.max(-1, kappa - z * se), upper: Math.min(1, kappa + z * se) };
}

/**
 * What Fleiss' kappa needs, summed over the images that have at least two reads: the number of those
 * images, the sum over them of each image's observed agreement
 * P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), and the total reads per category.
 */
export interface FleissCounts {
  images: number;
  sumAgreement: number;
  categoryTotals: readonly number[];
}

/**
 * Fleiss' kappa (Fleiss 1971) (P - Pe) / (1 - Pe), P the mean of the images' P_i and Pe = sum_j p_j^2 with
 * p_j the share of all reads in category j. Images may have different numbers of reads (each P_i is
 * computed from its own n_i). Null with no image of two reads, or Pe = 1 (every read in one category).
 */
export function fleissKappa(c: FleissCounts): number | null {
  const reads = c.categoryTotals.reduce((a, b) => a + b, 0);
  if (c.images === 0 || reads === 0) return null;
  const p = c.sumAgreement / c.images;
  const pe = c.categoryTotals.reduce((a, t) => a + (t / reads) ** 2, 0);
  if (pe >= 1) return null;
  return (p - pe) / (1 - pe);
}
