/**
 * Proportions with 95% Wilson score intervals (Wilson 1927; Newcombe 1998 method 3 recommends it over the
 * Wald interval, which collapses to zero width at 0 or n).
 */

/** z of a two-sided 95% interval: the 0.975 quantile of the standard normal. */
export const Z95 = 1.959963984540054;

/** An estimate and its 95% interval; all null when there is nothing to estimate from (0 of 0). */
export interface Estimate {
  estimate: number | null;
  lower: number | null;
  upper: number | null;
}

export const NO_ESTIMATE: Estimate = { estimate: null, lower: null, upper: null };

/** `successes / n` with its 95% Wilson score interval. */
export function wilson(successes: number, n: number, z: number = Z95): Estimate {
  if (!Number.isInteger(successes) || !Number.isInteger(n) || successes < 0 || n < successes) {
    throw new RangeError(`wilson: need integers 0 <= successes <= n, got ${successes} of ${n}`);
  }
  if (n === 0) return NO_ESTIMATE;
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 of n and n of n the bound is exactly 0 or 1; computed, it can land one ulp inside.
  return {
    estimate: p,
    lower: successes === 0 ? 0 : Math.max(0, centre - half),
    upper: successes === n ? 1 : Math.min(1, centre + half),
  };
}
