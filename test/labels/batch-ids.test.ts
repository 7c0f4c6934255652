/**
 * quickBatchGetIds, batchGet's fast check of its body, against the oracle it stands in for: the zod schema
 * BatchGetBodySchema. For any body, the fast check either declines (the schema then decides) or gives exactly
 * the ids the schema gives; it never accepts a body the schema rejects, and it accepts every well-formed one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BatchGetBodySchema, MAX_BATCH_IDS, quickBatchGetIds } from '../../functions/labels/schemas.ts';

const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
const goodId = fc
  .tuple(digits(8), digits(3), fc.boolean())
  .map(([p, f, png]) => `${p}_${f}${png ? '.png' : ''}`);
const nearMiss = fc.oneof(
  goodId.map((s) => ` ${s}`),
  goodId.map((s) => `${s}\n`),
  goodId.map((s) => s.replace('_', '-')),
  goodId.map((s) => `${s}.PNG`),
  goodId.map((s) => s.slice(1)),
  goodId.map((s) => `${s}.png.png`),
  goodId.map((s) => s.replace(/^\d/, '٣')), // an Arabic-Indic digit: \d in JS regexes is ASCII only
  fc.string({ maxLength: 20 }),
);
const element = fc.oneof(
  { weight: 8, arbitrary: goodId },
  { weight: 1, arbitrary: nearMiss },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined), fc.object()) },
);
const list = fc.oneof(
  { weight: 6, arbitrary: fc.array(element, { maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(goodId, { minLength: 1, maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, MAX_BATCH_IDS, MAX_BATCH_IDS + 1).map((n) => Array(n).fill('00000001_000')),
  },
);
const body = fc.oneof(
  { weight: 6, arbitrary: list.map((imageIds) => ({ imageIds })) },
  {
    weight: 1,
    arbitrary: fc.tuple(list, fc.string(), fc.anything()).map(([imageIds, k, v]) => ({ imageIds, [k]: v })),
  },
  { weight: 1, arbitrary: fc.anything() },
  {
    weight: 1,
    arbitrary: list.map((imageIds) => JSON.parse(`{"imageIds":${JSON.stringify(imageIds)},"__proto__":1}`)),
  },
);

describe('quickBatchGetIds (batchGet body) against BatchGetBodySchema', () => {
  it('declines or agrees with the schema on any body', () => {
    let agreed = 0;
    fc.assert(
      fc.property(body, (b) => {
        const quick = quickBatchGetIds(b);
        const zod = BatchGetBodySchema.safeParse(b);
        if (quick === undefined) return;
        assert.ok(zod.success, `fast check accepted what the schema rejects: ${JSON.stringify(b)}`);
        assert.deepEqual(quick, zod.data.imageIds);
        agreed++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(agreed > 300, `the fast check took only ${agreed} of 3000 bodies`);
  });

  it('accepts every body of well-formed ids (1 to 1,000 of them)', () => {
    fc.assert(
      fc.property(fc.array(goodId, { minLength: 1, maxLength: 60 }), (imageIds) => {
        assert.deepEqual(quickBatchGetIds({ imageIds }), BatchGetBodySchema.parse({ imageIds }).imageIds);
      }),
    );
    const full = Array.from({ length: MAX_BATCH_IDS }, (_, i) => `${String(i + 1).padStart(8, '0')}_000.png`);
    assert.equal(quickBatchGetIds({ imageIds: full })?.length, MAX_BATCH_IDS);
  });
});
