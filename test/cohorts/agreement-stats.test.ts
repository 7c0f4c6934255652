/**
 * The statistics of the agreement endpoint on small tables worked out by hand or published: Cohen's kappa
 * and its interval, Fleiss' kappa (Fleiss 1971's layout, the textbook example), Wilson intervals (Newcombe
 * 1998, Table I, method 3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cohenKappa, fleissKappa } from '../../shared/stats/kappa.ts';
import { wilson } from '../../shared/stats/proportion.ts';

const close = (got: number | null, want: number, tol: number, what: string) =>
  assert.ok(got !== null && Math.abs(got - want) <= tol, `${what}: ${got} vs ${want}`);

describe("Cohen's kappa", () => {
  it('on a 2x2 table worked by hand: tp 20, fp 5, fn 10, tn 15', () => {
    // n = 50; po = 35/50 = 0.7; test YES 25/50 = 0.5, truth YES 30/50 = 0.6;
    // pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    // SE = sqrt(0.7 * 0.3 / (50 * 0.5^2)) = sqrt(0.0168) = 0.12961; 1.95996 * 0.12961 = 0.25404.
    const k = cohenKappa({ tp: 20, fp: 5, fn: 10, tn: 15 });
    close(k.estimate, 0.4, 1e-12, 'kappa');
    close(k.lower, 0.4 - 0.25404, 1e-5, 'lower');
    close(k.upper, 0.4 + 0.25404, 1e-5, 'upper');
  });

  it('is 1 for perfect agreement, 0 for agreement at chance, null when undefined', () => {
    close(cohenKappa({ tp: 7, fp: 0, fn: 0, tn: 3 }).estimate, 1, 1e-12, 'perfect');
    // Test YES on half of each truth class: po = pe = 0.5.
    close(cohenKappa({ tp: 5, fp: 5, fn: 5, tn: 5 }).estimate, 0, 1e-12, 'chance');
    assert.deepEqual(cohenKappa({ tp: 0, fp: 0, fn: 0, tn: 0 }), {
      estimate: null,
      lower: null,
      upper: null,
    });
    // Both raters say NO to everything: pe = 1, kappa undefined.
    assert.equal(cohenKappa({ tp: 0, fp: 0, fn: 0, tn: 9 }).estimate, null);
  });
});

describe("Fleiss' kappa", () => {
  it('the textbook example: 10 subjects, 14 raters, 5 categories -> 0.210', () => {
    const table = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    const n = 14;
    const sumAgreement = table.reduce(
      (a, row) => a + (row.reduce((s, x) => s + x * x, 0) - n) / (n * (n - 1)),
      0,
    );
    const categoryTotals = [0, 1, 2, 3, 4].map((j) => table.reduce((a, row) => a + row[j]!, 0));
    // P = 0.378, Pe = 0.213 (published to three places).
    close(sumAgreement / 10, 0.378, 5e-4, 'P');
    close(fleissKappa({ images: 10, sumAgreement, categoryTotals }), 0.21, 5e-4, 'kappa');
  });

  it('is 1 when every image is unanimous (two categories used) and null without images', () => {
    assert.equal(fleissKappa({ images: 4, sumAgreement: 4, categoryTotals: [6, 6, 0] }), 1);
    assert.equal(fleissKappa({ images: 0, sumAgreement: 0, categoryTotals: [0, 0, 0] }), null);
  });
});

describe('Wilson interval', () => {
  const cases: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ];
  for (const [x, n, lo, hi] of cases) {
    it(`${x}/${n} -> [${lo}, ${hi}] (Newcombe 1998)`, () => {
      const w = wilson(x, n);
      close(w.estimate, x / n, 1e-12, 'estimate');
      close(w.lower, lo, 5e-5, 'lower');
      close(w.upper, hi, 5e-5, 'upper');
    });
  }
  it('0 of 0 has no estimate; impossible counts throw', () => {
    assert.deepEqual(wilson(0, 0), { estimate: null, lower: null, upper: null });
    assert.throws(() => wilson(3, 2), RangeError);
    assert.throws(() => wilson(-1, 2), RangeError);
    assert.deepEqual(wilson(4, 4).upper, 1);
  });
});
