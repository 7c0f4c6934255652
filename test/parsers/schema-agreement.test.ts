import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ImageMetadataSchema } from '../../shared/model/index.ts';
import { parseFile } from '../../shared/parsers/index.ts';
import { METADATA_HEADER, streamOf } from './fixtures.ts';

/** Each field: plausible values, edge values and junk. */
const field = {
  id: fc.constantFrom('00000001_000.png', '00000001_001', '0000001_000.png', '00000001_000.dcm', ''),
  findings: fc.constantFrom(
    'No Finding',
    'Mass',
    'Mass|Nodule',
    'Pleural_Thickening',
    'Mass|Mass',
    'mass',
    '',
    'X',
  ),
  followUp: fc.constantFrom('0', '000', '12', '1000', '-1', 'a', ''),
  patient: fc.constantFrom('1', '00000001', '2', '0', '-1', '1.5', ''),
  age: fc.constantFrom('0', '57', '120', '121', '412', '058Y', '-3', '5.5', ''),
  sex: fc.constantFrom('M', 'F', 'm', 'O', ''),
  view: fc.constantFrom('PA', 'AP', 'LL', ''),
  pixels: fc.constantFrom('1', '2500', '0', '-5', '2.5', '1e3', ''),
  spacing: fc.constantFrom('0.143', '0.14300000000000002', '1e-1', '0', '-0.1', 'NaN', 'Infinity', '.5', ''),
};

describe('the hand-written row checks', () => {
  it('only ever accept what ImageMetadataSchema accepts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(
          field.id,
          field.findings,
          field.followUp,
          field.patient,
          field.age,
          field.sex,
          field.view,
          field.pixels,
          field.pixels,
          field.spacing,
          field.spacing,
        ),
        async (fields) => {
          const p = await parseFile(streamOf(`${METADATA_HEADER}\n${fields.join(',')}\n`));
          assert.equal(p.rows.length + p.rejected.length, 1, 'every row is either kept or rejected');
          const row = p.rows[0];
          if (row?.kind === 'metadata_v2020') {
            const z = ImageMetadataSchema.safeParse(row.metadata);
            assert.ok(z.success, `${fields.join(',')}: ${z.error?.message}`);
            assert.deepEqual(z.data, row.metadata);
          } else assert.match(p.rejected[0]!.reason, /^[^:]+: |^expected \d+ columns/);
        },
      ),
      { numRuns: 400 },
    );
  });
});
